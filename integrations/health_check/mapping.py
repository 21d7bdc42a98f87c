"""Map a decoded health-check order (ORM^O01 v2.3.1/2.4, OMI^O23 v2.5.1) to an intake command.

Fields read (standards.md 7.2): MSH-9/10/11/12, PID-3 (MRN or 体检号; an ID-card number as a repetition
with type ID/NNCHN, or any 18-character resident number), PID-5/7/8/13, ORC-1 (NW/CA/XO), ORC-2 placer
order number, ORC-7.4/ORC-7.6 or TQ1-7/TQ1-9 (requested time, priority), ORC-12/OBR-16 ordering doctor,
ORC-16 cancel reason, ORC-17 ordering department, OBR-4.1 exam item code, OBR-13/OBR-31 clinical
information. One order (one ORC/OBR pair) per message. Every defect raises an AR with its HL7 error.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo

from backend.domain.enums import PatientClass, Priority, Sex
from backend.domain.order_intake import IntakeAction, IntakeCommand, fingerprint, reject
from backend.domain.registration import ID_CARD, OrderData, PatientData
from integrations.health_check.message import Hl7Message, MessageHeader, Segment

SUPPORTED_TYPES = {("ORM", "O01"), ("OMI", "O23")}
ORDER_CONTROL = {"NW": IntakeAction.NEW, "CA": IntakeAction.CANCEL, "XO": IntakeAction.CHANGE}
PRIORITY_CODES = {"S": Priority.STAT, "A": Priority.URGENT, "P": Priority.URGENT, "C": Priority.URGENT,
                  "R": Priority.ROUTINE, "T": Priority.ROUTINE}
SEX_CODES = {"M": Sex.MALE, "F": Sex.FEMALE, "O": Sex.OTHER, "A": Sex.OTHER, "U": Sex.UNKNOWN, "N": Sex.UNKNOWN,
             "": Sex.UNKNOWN}
ID_CARD_TYPES = {"ID", "NNCHN", "NI", "CN", "SFZ"}
# Segments allowed in an order message; anything else (bar Z-segments) is a structure error.
KNOWN_SEGMENTS = {"MSH", "SFT", "NTE", "PID", "PD1", "PV1", "PV2", "IN1", "GT1", "AL1", "ORC", "TQ1", "TQ2",
                  "OBR", "DG1", "OBX", "IPC", "CTI", "BLG", "ZDS"}
DEFAULT_CANCEL_REASON = "体检中心撤销申请"


def check_header(h: MessageHeader) -> None:
    """Refuse what this interface does not speak: type, trigger, processing id, version, control id."""
    if not h.control_id:
        raise reject("缺少消息控制号（MSH-10）", "missing_control_id", "101", "MSH^1^10")
    if h.message_type not in {t for t, _ in SUPPORTED_TYPES}:
        raise reject(f"不支持的消息类型：{h.type_label or '空'}（仅接收 ORM^O01、OMI^O23）",
                     "unsupported_message_type", "200", "MSH^1^9")
    if (h.message_type, h.trigger) not in SUPPORTED_TYPES:
        raise reject(f"不支持的触发事件：{h.type_label}", "unsupported_event", "201", "MSH^1^9")
    if h.processing_id not in {"", "P"}:
        raise reject(f"不支持的处理标识：{h.processing_id}（仅接收生产消息 P）", "unsupported_processing_id",
                     "202", "MSH^1^11")
    if not h.version.startswith("2."):
        raise reject(f"不支持的 HL7 版本：{h.version or '空'}", "unsupported_version", "203", "MSH^1^12")


def _order_segments(msg: Hl7Message) -> tuple[Segment, Segment, Segment]:
    """PID, ORC and OBR in that order, exactly one order per message, no unknown segments."""
    names = msg.names
    for name in names:
        if name not in KNOWN_SEGMENTS and not name.startswith("Z"):
            raise reject(f"消息包含无法识别的段：{name}", "unexpected_segment", "100")
    for name in ("PID", "ORC", "OBR"):
        if names.count(name) == 0:
            code = "missing_patient_segment" if name == "PID" else "missing_segment"
            raise reject(f"缺少 {name} 段", code, "100", f"{name}^1")
    if names.count("ORC") > 1 or names.count("OBR") > 1 or names.count("PID") > 1:
        raise reject("一条消息只能包含一个患者和一个申请单（一组 ORC/OBR）", "multiple_orders", "100")
    if not names.index("PID") < names.index("ORC") < names.index("OBR"):
        raise reject("段顺序错误：应为 MSH、PID、ORC、OBR", "segment_sequence", "100")
    by_name = {s.name: s for s in msg.segments}
    return by_name["PID"], by_name["ORC"], by_name["OBR"]


def _identifiers(pid: Segment) -> tuple[str, str | None]:
    """The MRN (or 体检号) and the ID-card number from PID-3 repetitions (PID-2 as a v2.3 fallback)."""
    mrn, id_card = "", None
    for rep in (*pid.repetitions(3), *pid.repetitions(2)):
        value = rep[0].strip() if rep else ""
        kind = rep[4].strip().upper() if len(rep) > 4 else ""
        if not value:
            continue
        if kind in ID_CARD_TYPES or (not kind and ID_CARD.match(value) and mrn):
            id_card = id_card or value
        elif not mrn:
            mrn = value
    if not mrn:
        raise reject("缺少患者标识（PID-3 病案号/体检号）", "missing_patient_id", "101", "PID^1^3")
    return mrn, id_card


def _name(pid: Segment) -> str:
    family, given = pid.get(5, 1), pid.get(5, 2)
    if not family and not given:
        raise reject("缺少患者姓名（PID-5）", "missing_patient_name", "101", "PID^1^5")
    # Chinese names are written without a space; Latin ones keep it.
    name = f"{family} {given}".strip() if (family + given).isascii() else family + given
    if any(ch == "\ufffd" or (ord(ch) < 32) for ch in name):
        raise reject("患者姓名无法按声明的字符集解码（MSH-18）", "wrong_charset", "102", "PID^1^5")
    return name


def parse_date(value: str, location: str) -> date | None:
    """An HL7 DT/TS value's date part (YYYYMMDD...); "" is None; anything else is an AR."""
    if not value:
        return None
    try:
        return date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except ValueError as exc:
        raise reject(f"日期格式错误：{value}（应为 YYYYMMDD）", "invalid_date", "102", location) from exc


def parse_timestamp(value: str, location: str, *, tz: tzinfo) -> datetime | None:
    """An HL7 TS (YYYYMMDD[HH[MM[SS]]][+/-ZZZZ]); without an offset it is in the site's time zone."""
    if not value:
        return None
    digits, offset = value, None
    for sign in "+-":
        if sign in value[8:]:
            digits, off = value.rsplit(sign, 1)
            if len(off) != 4 or not off.isdigit():
                raise reject(f"时间格式错误：{value}", "invalid_timestamp", "102", location)
            minutes = int(off[:2]) * 60 + int(off[2:])
            offset = timezone(timedelta(minutes=minutes if sign == "+" else -minutes))
    digits = digits.split(".", 1)[0]
    if len(digits) not in (8, 10, 12, 14) or not digits.isdigit():
        raise reject(f"时间格式错误：{value}", "invalid_timestamp", "102", location)
    try:
        d = date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
        hh, mm, ss = int(digits[8:10] or 0), int(digits[10:12] or 0), int(digits[12:14] or 0)
        return datetime(d.year, d.month, d.day, hh, mm, ss, tzinfo=offset or tz)
    except ValueError as exc:
        raise reject(f"时间格式错误：{value}", "invalid_timestamp", "102", location) from exc


def _patient(pid: Segment) -> PatientData:
    mrn, id_card = _identifiers(pid)
    sex = SEX_CODES.get(pid.get(8).upper())
    if sex is None:
        raise reject(f"性别代码无效：{pid.get(8)}", "invalid_sex", "103", "PID^1^8")
    phone = pid.get(13, 1) or pid.get(13, 12)
    return PatientData(mrn=mrn, name=_name(pid), sex=sex.value, birth_date=parse_date(pid.get(7), "PID^1^7"),
                       id_card=id_card, phone=phone or None)


def _person(seg: Segment, field: int) -> str:
    """An XCN (id^family^given): the name, or the id when no name is sent."""
    name = seg.get(field, 2) + seg.get(field, 3)
    return name or seg.get(field, 1)


def _timing(msg: Hl7Message, orc: Segment, *, tz: tzinfo) -> tuple[datetime | None, str]:
    tq1 = msg.first("TQ1")
    if tq1 is not None:
        when, prio = parse_timestamp(tq1.get(7), "TQ1^1^7", tz=tz), tq1.get(9)
    else:
        when, prio = parse_timestamp(orc.get(7, 4), "ORC^1^7", tz=tz), orc.get(7, 6)
    priority = PRIORITY_CODES.get(prio.upper() or "R")
    if priority is None:
        raise reject(f"优先级代码无效：{prio}", "invalid_priority", "103", "TQ1^1^9" if tq1 else "ORC^1^7")
    return when, priority.value


def to_command(msg: Hl7Message, *, tz: tzinfo) -> IntakeCommand:
    """Map a decoded order message to an intake command, or raise IntakeRejected (AR) naming the defect."""
    h = msg.header
    check_header(h)
    if msg.segments[0].name != "MSH":
        raise reject("消息必须以 MSH 段开始", "missing_msh", "100", "MSH^1")
    pid, orc, obr = _order_segments(msg)
    action = ORDER_CONTROL.get(orc.get(1).upper())
    if action is None:
        raise reject(f"不支持的申请控制码：{orc.get(1) or '空'}（仅 NW、CA、XO）", "unsupported_order_control",
                     "103", "ORC^1^1")
    placer = orc.get(2) or obr.get(2)
    patient = _patient(pid)
    item_code = obr.get(4, 1)
    if not item_code:
        raise reject("缺少检查项目代码（OBR-4）", "missing_exam_item", "101", "OBR^1^4")
    requested_at, priority = _timing(msg, orc, tz=tz)
    clinical = "；".join(x for x in (obr.get(13), obr.get(31, 2) or obr.get(31, 1)) if x)
    order = OrderData(
        patient=patient, item_code=item_code, patient_class=PatientClass.HEALTH_CHECK.value, priority=priority,
        ordering_department=orc.get(17, 2) or orc.get(17, 1) or "体检中心",
        ordering_doctor=_person(orc, 12) or _person(obr, 16), clinical_info=clinical[:2000],
        source_system="health_check", source_order_no=placer or None,
    )
    reason = orc.get(16, 2) or orc.get(16, 1) or DEFAULT_CANCEL_REASON
    # The fingerprint covers what the order says, not transport details (MSH-7, MSH-18, ORC-9).
    content = [h.type_label, action.value, placer, repr(order), reason, repr(requested_at)]
    return IntakeCommand(
        action=action, control_id=h.control_id, sender=h.sender, channel="mllp", message_type=h.type_label,
        placer_order_no=placer, order=order, reason=reason,
        requested_at=requested_at, fingerprint=fingerprint(content),
    )
