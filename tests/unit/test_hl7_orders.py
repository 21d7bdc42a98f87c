"""HL7 order mapping (PE-1): ER7 parsing, charset rules and every AR defect, without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.order_intake import AckCode, IntakeAction, IntakeRejected, rejection
from integrations.health_check import er7
from integrations.health_check.emulator import HealthCheckOrder, build_message
from integrations.health_check.mapping import to_command

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 27, 9, 0, tzinfo=TZ)


def order(**kw):
    base = {"control_id": "C001", "placer_order_no": "TJ001", "mrn": "TJ00000001", "name": "欧阳明",
            "item_code": "DR-CHEST", "sex": "M", "birth_date": "19581127", "id_card": "11010519491231002X",
            "requested_at": "202611271000", "priority": "R"}
    return HealthCheckOrder(**(base | kw))


def parse(raw: bytes):
    return to_command(er7.decode(raw), tz=TZ)


def rejected(raw: bytes) -> IntakeRejected:
    with pytest.raises(IntakeRejected) as exc:
        parse(raw)
    return exc.value


def text_message(*segments: str, charset: str = "UNICODE UTF-8", mtype: str = "ORM^O01") -> bytes:
    msh = f"MSH|^~\\&|TJXT|TJZX|RADOPS|RADIOLOGY|20261127090000||{mtype}|C9|P|2.3.1||||||{charset}"
    return "\r".join([msh, *segments]).encode("utf-8") + b"\r"


PID = "PID|1||TJ00000009^^^TJZX^MR||张三||19800101|M"
ORC = "ORC|NW|TJ009||||||||||D1^李医生"
OBR = "OBR|1|TJ009||DR-CHEST^胸部正位片"


@pytest.mark.parametrize(("kind", "codec"), [("ORM", "utf-8"), ("ORM", "gb18030"), ("OMI", "utf-8"),
                                             ("OMI", "gb18030")])
def test_new_order_maps_to_command(kind, codec):
    cmd = parse(build_message(order(), at=AT, kind=kind, codec=codec))
    assert cmd.action is IntakeAction.NEW
    assert (cmd.control_id, cmd.placer_order_no, cmd.channel) == ("C001", "TJ001", "mllp")
    assert cmd.message_type == ("OMI^O23" if kind == "OMI" else "ORM^O01")
    o = cmd.order
    assert o is not None
    assert (o.patient.mrn, o.patient.name, o.patient.sex) == ("TJ00000001", "欧阳明", "M")
    assert o.patient.id_card == "11010519491231002X"
    assert o.patient.birth_date.isoformat() == "1958-11-27"
    assert (o.item_code, o.patient_class, o.priority, o.source_order_no) == ("DR-CHEST", "health_check", "routine",
                                                                             "TJ001")
    assert o.ordering_doctor == "体检医生"
    assert cmd.requested_at == datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def test_same_content_same_fingerprint_whatever_the_charset_or_send_time():
    a = parse(build_message(order(), at=AT, codec="utf-8"))
    b = parse(build_message(order(), at=AT.replace(hour=10), codec="gb18030"))
    c = parse(build_message(order(item_code="US-ABD"), at=AT))
    assert a.fingerprint != c.fingerprint
    # MSH-18 differs between the two charsets but is not business content; MSH-7 neither.
    assert a.fingerprint == b.fingerprint


@pytest.mark.parametrize(("control", "action"), [("CA", IntakeAction.CANCEL), ("XO", IntakeAction.CHANGE)])
def test_cancel_and_change(control, action):
    cmd = parse(build_message(order(action=control, reason="客户改期"), at=AT))
    assert cmd.action is action
    assert cmd.reason == "客户改期"


def test_priority_and_escapes():
    cmd = parse(text_message(PID, "ORC|NW|TJ009|||||^^^20261127103000+0800^^S",
                             r"OBR|1|TJ009||DR-CHEST|||||||||咳嗽\F\胸闷"))
    assert cmd.order.priority == "stat"
    assert cmd.order.clinical_info == "咳嗽|胸闷"
    assert cmd.requested_at == datetime(2026, 11, 27, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "code", "hl7_error"),
    [
        (text_message(PID, ORC, OBR, mtype="ADT^A01"), "unsupported_message_type", "200"),
        (text_message(PID, ORC, OBR, mtype="ORM^O02"), "unsupported_event", "201"),
        (text_message(ORC, OBR), "missing_patient_segment", "100"),
        (text_message(PID, OBR), "missing_segment", "100"),
        (text_message(PID, OBR, ORC), "segment_sequence", "100"),
        (text_message(PID, ORC, OBR, "ORC|NW|X", "OBR|1|X||DR-CHEST"), "multiple_orders", "100"),
        (text_message(PID, ORC, OBR, "XYZ|1"), "unexpected_segment", "100"),
        (text_message(PID, ORC, OBR, "pid|1"), "malformed_segment", "100"),
        (text_message("PID|1||||张三", ORC, OBR), "missing_patient_id", "101"),
        (text_message("PID|1||TJ1", ORC, OBR), "missing_patient_name", "101"),
        (text_message(PID, "ORC|NW", "OBR|1"), "missing_exam_item", "101"),
        (text_message(PID, "ORC|ZZ|TJ009", OBR), "unsupported_order_control", "103"),
        (text_message("PID|1||TJ1||张三||19801301", ORC, OBR), "invalid_date", "102"),
        (text_message("PID|1||TJ1||张三||19800101|Q", ORC, OBR), "invalid_sex", "103"),
        (text_message(PID, ORC, OBR, charset="EBCDIC"), "unsupported_charset", "103"),
        (text_message(PID, "ORC|NW|TJ009|||||^^^2026-11-27", OBR), "invalid_timestamp", "102"),
    ],
)
def test_each_defect_is_an_ar_with_its_hl7_error(raw, code, hl7_error):
    err = rejected(raw)
    assert (err.code, err.ack, err.hl7_error) == (code, AckCode.AR, hl7_error)
    assert err.message  # a Chinese reason for the ACK


def test_missing_placer_number_is_refused_by_command_validation():
    from backend.domain.order_intake import validate_command

    cmd = parse(text_message(PID, "ORC|NW", "OBR|1|||DR-CHEST"))
    with pytest.raises(IntakeRejected) as exc:
        validate_command(cmd)
    assert exc.value.code == "missing_placer_order"


def test_gb18030_bytes_declared_utf8_are_a_wrong_charset():
    raw = build_message(order(), at=AT, codec="gb18030").replace(b"GB18030", b"UNICODE UTF-8")
    assert rejected(raw).code == "wrong_charset"


def test_utf8_bytes_declared_gb18030_are_a_wrong_charset():
    raw = build_message(order(), at=AT, codec="utf-8").replace(b"UNICODE UTF-8", b"GB18030")
    err = rejected(raw)
    assert err.code == "wrong_charset"
    assert "UTF-8" in err.message


def test_no_charset_means_utf8():
    cmd = parse(text_message(PID, ORC, OBR, charset=""))
    assert cmd.order.patient.name == "张三"


def test_header_is_read_even_when_the_body_is_not():
    raw = build_message(order(), at=AT, codec="gb18030").replace(b"GB18030", b"UNICODE UTF-8")
    h = er7.parse_header(raw)
    assert (h.control_id, h.type_label, h.charset, h.sender) == ("C001", "ORM^O01", "UNICODE UTF-8", "hl7:TJXT/TJZX")


def test_not_hl7_at_all():
    with pytest.raises(IntakeRejected) as exc:
        er7.parse_header(b"GET / HTTP/1.1\r\n")
    assert exc.value.code == "missing_msh"


@pytest.mark.parametrize(
    ("error", "ack", "hl7"),
    [(NotFound("x", code="unknown_exam_item"), AckCode.AR, "103"), (InvalidInput("x", code="invalid_mrn"),
                                                                     AckCode.AR, "102"),
     (Conflict("x", code="patient_mismatch"), AckCode.AE, "207"), (NotFound("x", code="other"), AckCode.AE, "204")],
)
def test_rejection_classifies_domain_errors(error, ack, hl7):
    out = rejection(error)
    assert (out.ack, out.hl7_error) == (ack, hl7)


def test_health_check_orders_need_no_slot():
    """PE-2: no clerk picks a slot; the health-check center books the day (domain/registration.slot_required)."""
    from backend.domain.registration import check_slot_choice, slot_required

    assert slot_required(needs_slot=True, patient_class="health_check") is False
    check_slot_choice(needs_slot=True, patient_class="health_check", slot_id=None)
