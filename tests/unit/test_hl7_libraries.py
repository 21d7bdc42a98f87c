"""Our ER7 reader and writer checked against two independent libraries (docs/health_check_interface.md):
every order the emulator writes and every ACK we build parses in python-hl7 (`hl7`) with the same fields,
and segments that hl7apy writes parse in ours with the values hl7apy was given. Property-based (hypothesis,
derandomized so that CI runs the same examples; by hand, HYPOTHESIS_EXAMPLES=2000 HYPOTHESIS_RANDOM=1 widens
and varies them)."""

from __future__ import annotations

import os
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import hl7
from hl7apy.base_datatypes import ST
from hl7apy.core import Message, Segment
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backend.domain.order_intake import AckCode, IntakeOutcome
from integrations.health_check import er7
from integrations.health_check.ack import build_ack, read_ack
from integrations.health_check.emulator import HealthCheckOrder, build_message
from integrations.health_check.mapping import to_command
from integrations.health_check.message import MessageHeader

AT = datetime(2026, 11, 27, 9, 0)
TZ = ZoneInfo("Asia/Shanghai")
PROPERTY = settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "100")), deadline=None, database=None,
                    derandomize=not os.environ.get("HYPOTHESIS_RANDOM"))

# Text a health-check system sends: Chinese (GB18030 four-byte characters included), Latin, digits and the
# ER7 delimiters themselves; the free-text strategy adds line breaks and control characters.
CHARS = st.one_of(st.sampled_from(list("王李欧阳秀兰東咳嗽。，𠀀䶮 azAZ09-./:|^~\\&")),
                  st.characters(codec="gb18030", exclude_categories=("Cs", "Cc")))
WORD = st.text(CHARS, min_size=1, max_size=12)
FREE = st.text(st.one_of(CHARS, st.sampled_from(["\r", "\n", "\t", "\x0b", "\x1c"])), max_size=40)


def theirs(segment: hl7.Segment, field: int) -> tuple[tuple[str, ...], ...]:
    """One field as python-hl7 reads it, in our shape: repetitions of unescaped components.

    python-hl7 splits subcomponents (&), which ours keep inside the component; it writes \\.br\\ as CR.
    """
    def text(value: object) -> str:
        if isinstance(value, str):
            return hl7.util.unescape(segment, value).replace("\r", "\n")
        return "&".join(text(v) for v in value)  # a component's subcomponents

    reps = [(text(rep),) if isinstance(rep, str) else tuple(text(c) for c in rep) for rep in segment(field)]
    return stripped(tuple(reps))


def stripped(field: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
    """A field as the mapping reads it (`Segment.get` strips each component); python-hl7 drops the
    whitespace at the end of a segment, so trailing spaces are no difference between the readers."""
    reps = tuple(tuple(c.strip() for c in rep) for rep in field)
    return () if reps in ((("",),), ()) else reps


def assert_same_fields(raw: bytes, codec: str) -> None:
    ours = er7.decode(raw)
    library = hl7.parse(raw.decode(codec))
    assert [str(s[0]) for s in library] == ours.names
    for mine, other in zip(ours.segments, library, strict=True):
        assert len(other) == len(mine.fields), mine.name
        first = 3 if mine.name == "MSH" else 1  # MSH-1 and MSH-2 are the delimiters themselves
        for f in range(first, len(mine.fields)):
            assert theirs(other, f) == stripped(mine.fields[f]), f"{mine.name}-{f}"


ORDERS = st.builds(
    HealthCheckOrder, control_id=WORD, placer_order_no=WORD, mrn=WORD, name=WORD, item_code=WORD,
    sex=st.sampled_from("MFOU"), id_card=st.one_of(st.just(""), WORD), phone=WORD, action=st.sampled_from(
        ["NW", "CA", "XO"]), requested_at=st.just("202611271000"), clinical_info=FREE, doctor=WORD, reason=FREE)


@PROPERTY
@given(ORDERS, st.sampled_from(["ORM", "OMI"]), st.sampled_from(["utf-8", "gb18030"]))
def test_every_emulator_order_reads_the_same_in_python_hl7(order, kind, codec):
    assert_same_fields(build_message(order, at=AT, kind=kind, codec=codec), codec)


HEADERS = st.builds(MessageHeader, sending_app=WORD, sending_facility=WORD, trigger=st.sampled_from(["O01", "O23"]),
                    control_id=WORD, version=st.sampled_from(["2.3.1", "2.5.1"]),
                    charset=st.sampled_from(["UNICODE UTF-8", "GB 18030-2000", "GB18030", "UNICODE", ""]))


@PROPERTY
@given(HEADERS, st.sampled_from(list(AckCode)), WORD, FREE)
def test_every_ack_reads_the_same_in_python_hl7(header, ack, code, text):
    raw = build_ack(header, IntakeOutcome(ack, code, text, hl7_error="103", location="PID^1^5"), at=AT)
    codec = "gb18030" if "18030" in header.charset else "utf-8"
    assert_same_fields(raw, codec)
    library = hl7.parse(raw.decode(codec))
    assert library.extract_field("MSA", 1, 1) == ack.value
    assert library.extract_field("MSA", 1, 2).strip() == header.control_id.strip() == read_ack(raw).control_id
    assert library.extract_field("MSH", 1, 18) == header.charset
    if ack is not AckCode.AA:
        assert library.extract_field("ERR", 1, 3, 1, 1) == read_ack(raw).error == "103"


# hl7apy's writer leaves \H\, \F\ ... in a value as if already escaped, and writes CR and LF raw (both
# documented in docs/health_check_interface.md): values with those are not its to write.
APY_TEXT = WORD.filter(lambda s: not re.search(r"\\[HNFSTRE]\\", s))


def hl7apy_order(version: str, *, mrn: str, id_card: str, family: str, given: str, placer: str, item: str,
                 clinical: str, doctor: str, charset: str) -> bytes:
    """An order whose every segment hl7apy wrote (ORM^O01 v2.3.1 or OMI^O23 v2.5.1)."""
    omi = version == "2.5.1"
    m = Message("OMI_O23" if omi else "ORM_O01", version=version)
    m.msh.msh_3, m.msh.msh_4, m.msh.msh_5, m.msh.msh_6 = "TJXT", "TJZX", "RADOPS", "RADIOLOGY"
    m.msh.msh_9 = "OMI^O23^OMI_O23" if omi else "ORM^O01"
    m.msh.msh_10, m.msh.msh_11, m.msh.msh_18 = "APY1", "P", charset
    pid = Segment("PID", version=version)
    pid.pid_3.cx_1, pid.pid_3.cx_5 = ST(mrn), "MR"
    card = pid.add_field("PID_3")
    card.cx_1, card.cx_5 = ST(id_card), "ID"
    pid.pid_5.xpn_1.fn_1, pid.pid_5.xpn_2, pid.pid_8 = ST(family), ST(given), "F"
    orc = Segment("ORC", version=version)
    orc.orc_1, orc.orc_2.ei_1 = "NW", ST(placer)
    orc.orc_12.xcn_1, orc.orc_12.xcn_2.fn_1 = "D1", ST(doctor)
    obr = Segment("OBR", version=version)
    obr.obr_4.ce_1, obr.obr_13 = ST(item), ST(clinical)
    segments = [m.msh, pid, orc]
    if omi:
        tq1 = Segment("TQ1", version=version)
        tq1.tq1_7.ts_1, tq1.tq1_9.cwe_1 = "202611271000", "S"
        segments.append(tq1)
    else:
        orc.orc_7.tq_4.ts_1, orc.orc_7.tq_6 = "202611271000", "S"
    text = "\r".join(s.to_er7() for s in [*segments, obr]) + "\r"
    return text.encode("gb18030" if "18030" in charset else "utf-8")


@PROPERTY
@given(version=st.sampled_from(["2.3.1", "2.5.1"]), charset=st.sampled_from(["GB 18030-2000", "UNICODE UTF-8"]),
       mrn=APY_TEXT, family=APY_TEXT, given=APY_TEXT, placer=APY_TEXT, item=APY_TEXT, clinical=APY_TEXT,
       doctor=APY_TEXT)
def test_hl7apy_orders_read_the_same_in_ours(version, charset, mrn, family, given, placer, item, clinical, doctor):
    assume(all(v.strip() for v in (mrn, family + given, placer, item)))
    raw = hl7apy_order(version, mrn=mrn, id_card="330102198001011234", family=family, given=given, placer=placer,
                       item=item, clinical=clinical, doctor=doctor, charset=charset)
    msg = er7.decode(raw)
    pid, orc, obr = msg.first("PID"), msg.first("ORC"), msg.first("OBR")
    assert (pid.get(3), pid.get(3, 1, 1), pid.get(3, 5, 1)) == (mrn.strip(), "330102198001011234", "ID")
    assert (pid.get(5, 1), pid.get(5, 2)) == (family.strip(), given.strip())
    assert (orc.get(2), orc.get(12, 2), obr.get(4), obr.get(13)) == (placer.strip(), doctor.strip(), item.strip(),
                                                                      clinical.strip())
    cmd = to_command(msg, tz=TZ)
    assert (cmd.placer_order_no, cmd.order.item_code, cmd.order.priority) == (placer.strip(), item.strip(), "stat")
    assert cmd.order.patient.id_card == "330102198001011234"
    assert cmd.requested_at == datetime(2026, 11, 27, 10, 0, tzinfo=TZ)
