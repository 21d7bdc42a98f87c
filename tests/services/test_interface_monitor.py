"""The interface monitor (issue 14.12): every HL7 order message is logged with its ACK and reason, refused ones
included; staff read it masked unless admin, re-process it after a fix, match it by hand; every action is
authorised by the service."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from backend.db.models import Exam
from backend.db.models.interfaces import InterfaceMessage
from backend.domain.errors import Conflict, Forbidden
from backend.entrypoints.listeners.mllp import handle_message
from backend.services.admin import items as admin_catalog
from backend.services.admin import system as admin_system
from backend.services.base import transaction
from backend.services.orders import interface_monitor as monitor
from integrations.health_check.ack import read_ack
from integrations.health_check.emulator import HealthCheckOrder, build_message
from tests.helpers import register


def hc_order(n: int, **kw) -> HealthCheckOrder:
    base = {"control_id": f"MON{n:04d}", "placer_order_no": f"TJM{n:04d}", "mrn": f"TJM{n:06d}", "name": "欧阳建国",
            "item_code": "DR-CHEST", "sex": "M", "birth_date": "19680312", "requested_at": "202611271000",
            "id_card": "11010519491231002X", "phone": "13800001234"}
    return HealthCheckOrder(**(base | kw))


def send(svc, o: HealthCheckOrder, **kw):
    raw = build_message(o, at=datetime(2026, 11, 27, 9, 0), **kw)
    return read_ack(handle_message(svc, raw)), raw


def only(svc, actor, **filters):
    [row] = monitor.list_messages(svc, by=actor, **filters)
    return row


def test_accepted_and_refused_orders_are_both_listed_with_ack_and_reason(svc, actors):
    clerk = actors["clerk"]
    ok, _ = send(svc, hc_order(1))
    bad, raw = send(svc, hc_order(2, item_code="CT-NOPE"))
    assert (ok.code, bad.code) == ("AA", "AR")
    rows = monitor.list_messages(svc, by=clerk)
    assert [(r["control_id"], r["ack"], r["state"], r["reason"]) for r in rows] == [
        ("MON0002", "AR", "refused", "unknown_exam_item"), ("MON0001", "AA", "accepted", "")]
    refused = rows[0]
    assert refused["reason_label"] == "检查项目不存在或已停用"
    assert refused["placer_order_no"] == "TJM0002"
    assert refused["exam_id"] is None
    assert only(svc, clerk, ack="AR")["control_id"] == "MON0002"
    assert only(svc, clerk, reason="unknown_exam_item")["control_id"] == "MON0002"
    assert only(svc, clerk, q="TJM0001")["state"] == "accepted"
    assert monitor.list_messages(svc, by=clerk, direction="out") == []
    with transaction(svc, readonly=True) as tx:  # the bytes are kept exactly as they came
        assert tx.session.get(InterfaceMessage, refused["id"]).raw == raw


def test_a_message_in_the_wrong_charset_is_kept_and_shown_as_it_came(svc, actors):
    """GB18030 declared, UTF-8 sent: refused (wrong_charset), and the monitor still shows readable text."""
    raw = build_message(hc_order(3, name="李秀兰"), at=datetime(2026, 11, 27, 9, 0), codec="utf-8",
                        charset="GB18030")
    assert read_ack(handle_message(svc, raw)).code == "AR"
    row = only(svc, actors["admin"], reason="wrong_charset")
    assert row["charset"] == "GB18030"
    text = monitor.detail(svc, row["id"], by=actors["admin"])["text"]
    assert text.startswith("MSH|")
    assert "TJM0003" in text
    assert "李秀兰" in text  # the UTF-8 bytes are shown as the sender meant them, not as GB18030 mojibake


def test_raw_message_is_masked_unless_the_reader_is_an_admin(svc, actors):
    send(svc, hc_order(4, item_code="CT-NOPE"))
    row_id = only(svc, actors["clerk"])["id"]
    masked = monitor.detail(svc, row_id, by=actors["clerk"])
    assert masked["masked"] is True
    for secret in ("欧阳建国", "11010519491231002X", "13800001234", "TJM000004"):
        assert secret not in masked["text"]
    assert "欧**国" in masked["text"]
    assert "****002X" in masked["text"]
    full = monitor.detail(svc, row_id, by=actors["admin"])
    assert full["masked"] is False
    assert "欧阳建国" in full["text"]
    assert "11010519491231002X" in full["text"]
    audit = admin_system.search_audit(svc, by=actors["admin"], entity="interface_message", entity_id=str(row_id))
    assert [e["action"] for e in audit] == ["read_raw"]  # only the unmasked reading is audited


@pytest.mark.parametrize("who", ["nurse", "tech", "doctor"])
def test_the_monitor_and_its_actions_need_the_register_permission(svc, actors, who):
    send(svc, hc_order(5, item_code="CT-NOPE"))
    row_id = only(svc, actors["clerk"])["id"]
    for call in (lambda a: monitor.list_messages(svc, by=a), lambda a: monitor.detail(svc, row_id, by=a),
                 lambda a: monitor.reprocess(svc, row_id, by=a),
                 lambda a: monitor.match_patient(svc, row_id, mrn="X", by=a),
                 lambda a: monitor.match_exam(svc, row_id, accession="X", by=a)):
        with pytest.raises(Forbidden):
            call(actors[who])


def test_reprocess_after_the_exam_item_was_added_registers_the_exam(svc, actors):
    send(svc, hc_order(6, item_code="DR-NEWX"))
    row_id = only(svc, actors["clerk"])["id"]
    again = monitor.reprocess(svc, row_id, by=actors["clerk"])  # nothing fixed yet: still refused
    assert (again["state"], again["reason"], again["attempts"]) == ("refused", "unknown_exam_item", 1)
    admin_catalog.create_item(svc, code="DR-NEWX", name="胸部正位（新）", modality="DX", by=actors["admin"])
    done = monitor.reprocess(svc, row_id, by=actors["clerk"])
    assert (done["state"], done["first_reason"], done["attempts"]) == ("resolved", "unknown_exam_item", 2)
    assert done["accession"]
    assert done["handled_by"] == actors["clerk"].name
    with transaction(svc, readonly=True) as tx:
        exam = tx.session.get(Exam, done["exam_id"])
        assert (exam.source_order_no, exam.patient_class) == ("TJM0006", "health_check")
    with pytest.raises(Conflict):  # a resolved message is not re-processed twice
        monitor.reprocess(svc, row_id, by=actors["clerk"])
    # The center's resend of the same message is now answered from the record: AA, no second exam.
    ack, _ = send(svc, hc_order(6, item_code="DR-NEWX"))
    assert ack.code == "AA"
    with transaction(svc, readonly=True) as tx:
        assert tx.session.scalar(select(func.count()).select_from(Exam).where(Exam.source_order_no == "TJM0006")) == 1


def test_patient_mismatch_is_matched_by_hand_to_the_right_patient(svc, actors):
    register(svc, actors["clerk"], mrn="TJM000007", name="欧阳建华")  # the hospital's record of this MRN
    ack, _ = send(svc, hc_order(7))
    assert ack.code == "AE"
    row = only(svc, actors["clerk"], reason="patient_mismatch")
    with pytest.raises(Exception, match="未找到病案号"):
        monitor.match_patient(svc, row["id"], mrn="NOPE", by=actors["clerk"])
    done = monitor.match_patient(svc, row["id"], mrn="TJM000007", by=actors["clerk"])
    assert done["state"] == "resolved"
    assert done["note"].startswith("匹配患者 TJM000007：已登记，检查号 ")
    with transaction(svc, readonly=True) as tx:
        exam = tx.session.get(Exam, done["exam_id"])
        assert (exam.patient.name, exam.source_order_no) == ("欧阳建华", "TJM0007")
    assert send(svc, hc_order(7))[0].code == "AA"  # the resend is answered from the record


def test_a_refused_order_is_matched_to_the_exam_the_desk_registered(svc, actors):
    desk = register(svc, actors["clerk"], mrn="TJM000008", name="欧阳建华", patient_class="health_check")
    send(svc, hc_order(8))  # patient_mismatch: the center spells the name differently
    row = only(svc, actors["clerk"])
    with pytest.raises(Exception, match="未找到检查号"):
        monitor.match_exam(svc, row["id"], accession="X1", by=actors["clerk"])
    done = monitor.match_exam(svc, row["id"], accession=desk["accession"], by=actors["clerk"])
    assert (done["state"], done["exam_id"], done["accession"]) == ("resolved", desk["exam_id"], desk["accession"])
    with transaction(svc, readonly=True) as tx:
        exam = tx.session.get(Exam, desk["exam_id"])
        assert (exam.source_system, exam.source_order_no) == ("health_check", "TJM0008")
    ack, _ = send(svc, hc_order(8))
    assert (ack.code, desk["accession"] in ack.text) == ("AA", True)


def test_a_match_to_an_exam_of_another_item_is_refused_and_stays_refused(svc, actors):
    desk = register(svc, actors["clerk"], "DR-BONE", mrn="TJM000009", name="欧阳建华")
    send(svc, hc_order(9))
    row = only(svc, actors["clerk"])
    out = monitor.match_exam(svc, row["id"], accession=desk["accession"], by=actors["clerk"])
    assert (out["state"], out["reason"]) == ("refused", "item_mismatch")
