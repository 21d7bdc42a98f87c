"""The interface monitor's vocabulary (issue 14.12-13): message directions and states, the Chinese reasons of
refused orders, the ORU result status, and how a raw HL7 message is masked for staff who need not read it.

Pure: every function takes ER7 text and plain values; the services store, the page words.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from backend.domain.masking import mask_name, mask_number


class Direction(StrEnum):
    IN = "in"  # orders from the health-check center
    OUT = "out"  # results back to it (ORU^R01)


class MessageState(StrEnum):
    """Where an interface message stands, as the monitor shows it."""

    ACCEPTED = "accepted"  # inbound, answered AA
    REFUSED = "refused"  # inbound, answered AR/AE and not yet dealt with
    RESOLVED = "resolved"  # inbound, refused first, then re-processed or matched by hand
    QUEUED = "queued"  # outbound, waiting for its first (or next) attempt
    SENT = "sent"  # outbound, acknowledged AA
    DEAD = "dead"  # outbound, given up (AR, or no attempts left): a person may send it again


STATE_LABELS: Final = {
    MessageState.ACCEPTED: "已接收", MessageState.REFUSED: "被拒收", MessageState.RESOLVED: "已处理",
    MessageState.QUEUED: "待发送", MessageState.SENT: "已送达", MessageState.DEAD: "发送失败",
}
DIRECTION_LABELS: Final = {Direction.IN: "接收（申请单）", Direction.OUT: "发送（报告结果）"}

# The stable reason codes of refused orders (backend/domain/order_intake.py and the intake service),
# in the words the radiology desk uses; an unlisted code is shown as it is.
REASON_LABELS: Final[dict[str, str]] = {
    "patient_mismatch": "患者信息不一致",
    "placer_order_conflict": "申请单号已用于其他患者或项目",
    "unknown_exam_item": "检查项目不存在或已停用",
    "wrong_charset": "字符集与内容不符",
    "unsupported_charset": "不支持的字符集",
    "order_not_found": "未收到原申请单",
    "exam_started": "检查已开始，不能撤销",
    "not_editable": "检查状态不允许修改",
    "item_change_not_allowed": "不能修改检查项目",
    "duplicate_control_id": "消息控制号重复",
    "missing_patient_id": "缺少患者标识",
    "missing_exam_item": "缺少检查项目",
    "invalid_id_card": "身份证号无效",
    "invalid_sex": "性别代码无效",
    "internal_error": "系统内部错误",
    "result_refused": "体检系统拒收结果",
    "partner_unavailable": "体检系统无法连接",
}


def reason_label(code: str) -> str:
    return REASON_LABELS.get(code, code)


def result_status(version: int) -> str:
    """OBR-25 / OBX-11 of a result: F for the first approved version, C (corrected) for an amended one."""
    return "F" if version <= 1 else "C"


def result_control_id(outbox_id: int) -> str:
    """MSH-10 of a result message: fixed per unit of work, so a retry is the same message to the receiver."""
    return f"RADOPS-ORU-{outbox_id}"


# PID fields that identify the person (HL7 v2.5 PID): 3 identifiers, 5 name, 6 mother's maiden name,
# 9 alias, 11 address, 13/14 phones, 19 social security number, 20 driver's licence.
_PID_NUMBERS: Final = (3, 13, 14, 19, 20)
_PID_NAMES: Final = (5, 6, 9)
_PID_DROP: Final = (11,)


def mask_er7(text: str) -> str:
    """The message with the PID's identifying fields masked (names `张*明`, numbers `****1234`, address dropped).

    Works on any ER7 text, valid or not (a refused message is shown as it came): only lines starting with
    `PID` plus the field separator change; the separator is MSH-1 when the message has a MSH.
    """
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    sep = lines[0][3] if lines and lines[0].startswith("MSH") and len(lines[0]) > 3 else "|"
    enc = lines[0][4:8] if lines and lines[0].startswith("MSH") else "^~\\&"
    comp, rep = (enc[0], enc[1]) if len(enc) >= 2 else ("^", "~")
    return "\r".join(_mask_pid(line, sep, comp, rep) if line.startswith("PID" + sep) else line for line in lines)


def _mask_pid(line: str, sep: str, comp: str, rep: str) -> str:
    fields = line.split(sep)
    for n in range(1, len(fields)):
        if not fields[n]:
            continue
        if n in _PID_NAMES:
            fields[n] = rep.join(comp.join(_mask_name_reps(r.split(comp))) for r in fields[n].split(rep))
        elif n in _PID_NUMBERS:
            fields[n] = rep.join(comp.join([mask_number(c[0] if c else ""), *c[1:]])
                                 for c in (r.split(comp) for r in fields[n].split(rep)))
        elif n in _PID_DROP:
            fields[n] = "***"
    return sep.join(fields)


def _mask_name_reps(components: list[str]) -> list[str]:
    """XPN: family^given^...; the whole name is masked as one (the given name is hidden)."""
    whole = "".join(components[:2])
    return [mask_name(whole) or "", *([""] * (len(components) - 1))]
