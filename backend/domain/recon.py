"""The lung-nodule target reconstruction request (LN-5..LN-7): its states, the one transition table, and the
pure rules that pick a prior's series and order the prior list (no I/O here)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from backend.domain.machine import StateMachine


class ReconState(StrEnum):
    PENDING = "pending"  # linked; the send job has not taken it yet (or will retry)
    SENDING = "sending"
    SENT = "sent"  # the source series is at the reconstruction system; results awaited
    COMPLETED = "completed"  # the results association was released with result series in it
    FAILED = "failed"  # sending gave up (the reason is kept); a person may resend
    TIMED_OUT = "timed_out"  # nothing complete came back before the deadline
    UNDONE = "undone"  # the link was withdrawn before anything was sent


class ReconTrigger(StrEnum):
    SEND = "send"  # the job starts sending
    SENT = "sent"
    RETRY = "retry"  # a send attempt failed; the outbox tries again after the back-off
    FAIL = "fail"  # no attempts left, or the peer refused for good
    COMPLETE = "complete"
    TIME_OUT = "time_out"
    RESEND = "resend"  # a person sends again
    UNDO = "undo"


RECON_STATE_LABELS: Final[Mapping[ReconState, str]] = {
    ReconState.PENDING: "待发送",
    ReconState.SENDING: "发送中",
    ReconState.SENT: "已发送",
    ReconState.COMPLETED: "重建完成",
    ReconState.FAILED: "失败",
    ReconState.TIMED_OUT: "重建超时",
    ReconState.UNDONE: "已撤销",
}
RECON_TRIGGER_LABELS: Final[Mapping[ReconTrigger, str]] = {
    ReconTrigger.SEND: "开始发送", ReconTrigger.SENT: "发送完成", ReconTrigger.RETRY: "发送失败待重试",
    ReconTrigger.FAIL: "发送失败", ReconTrigger.COMPLETE: "重建完成", ReconTrigger.TIME_OUT: "重建超时",
    ReconTrigger.RESEND: "重新发送", ReconTrigger.UNDO: "撤销引用",
}

S, T = ReconState, ReconTrigger
RECON_TRANSITIONS: Final[Mapping[tuple[ReconState, ReconTrigger], ReconState]] = {
    (S.PENDING, T.SEND): S.SENDING,
    (S.SENDING, T.SEND): S.SENDING,  # a worker whose lease expired is replaced by another
    (S.SENDING, T.SENT): S.SENT,
    (S.SENDING, T.RETRY): S.PENDING,
    (S.SENDING, T.FAIL): S.FAILED,
    (S.PENDING, T.FAIL): S.FAILED,
    (S.SENT, T.COMPLETE): S.COMPLETED,
    (S.TIMED_OUT, T.COMPLETE): S.COMPLETED,  # late results still complete the exam
    (S.SENT, T.TIME_OUT): S.TIMED_OUT,
    (S.FAILED, T.RESEND): S.PENDING,
    (S.TIMED_OUT, T.RESEND): S.PENDING,
    (S.PENDING, T.UNDO): S.UNDONE,
    (S.FAILED, T.UNDO): S.UNDONE,
}
del S, T
RECON_MACHINE: Final = StateMachine("recon", RECON_TRANSITIONS, RECON_STATE_LABELS, RECON_TRIGGER_LABELS)

# A link that still counts: an exam has at most one (linking twice is refused while one is active).
ACTIVE: Final = frozenset(set(ReconState) - {ReconState.UNDONE})
# Results may arrive for the request (the source has been sent).
AWAITING_RESULTS: Final = frozenset({ReconState.SENT, ReconState.TIMED_OUT})


def next_recon_state(current: ReconState, trigger: ReconTrigger) -> ReconState:
    """The request's state after `trigger`, or InvalidTransition naming the current state."""
    return RECON_MACHINE.next(current, trigger)


@dataclass(frozen=True, slots=True)
class SeriesFacts:
    """What the series picker knows of a prior's series (from the index and one header)."""

    series_uid: str
    modality: str
    description: str
    instance_count: int
    slice_thickness: float | None
    kernel: str


_LUNG_WORDS = re.compile(r"lung|肺|b6\d|b7\d|i7\d|fc5\d|sharp|br6\d|hr6\d", re.IGNORECASE)


def is_lung_kernel(kernel: str, description: str) -> bool:
    """A lung (sharp) kernel or a series described as a lung window/reconstruction."""
    return bool(_LUNG_WORDS.search(kernel or "")) or bool(re.search(r"lung|肺", description or "", re.IGNORECASE))


def default_series(series: Sequence[SeriesFacts]) -> str | None:
    """The series to send by default: CT with at least 3 images; lung kernel first, then the thinnest
    slices, then the most images. None when no series qualifies."""
    usable = [s for s in series if s.modality == "CT" and s.instance_count >= 3]
    if not usable:
        return None
    best = min(usable, key=lambda s: (not is_lung_kernel(s.kernel, s.description),
                                      s.slice_thickness if s.slice_thickness is not None else 99.0,
                                      -s.instance_count))
    return best.series_uid


def is_chest_ct(modalities: str, body_part: str, description: str) -> bool:
    text = f"{body_part} {description}".lower()
    return "CT" in modalities.split("\\") and any(w in text for w in ("chest", "lung", "thorax", "胸", "肺"))


def prior_order(study_date: date | None, chest_ct: bool) -> tuple[int, int]:
    """Sort key of the prior list: CT chest first, then newest first (undated last)."""
    return (0 if chest_ct else 1, -(study_date.toordinal() if study_date else 0))


def merged_priors(local: Sequence[Mapping[str, object]], remote: Sequence[Mapping[str, object]],
                  skip: Collection[str]) -> list[dict[str, object]]:
    """The one prior list (LN-4): the archive index's studies and the remote archive's, each study once (a
    remote study already in the index, or in `skip` (the exam's own), is left out), CT chest first, newest
    first. Rows carry `study_uid`, `date` (ISO or "") and `chest_ct`."""
    seen = set(skip)
    out: list[dict[str, object]] = []
    for row in [*local, *remote]:
        uid = str(row["study_uid"])
        if uid in seen:
            continue
        seen.add(uid)
        out.append(dict(row))

    def key(row: Mapping[str, object]) -> tuple[int, int]:
        text = str(row.get("date") or "")
        return prior_order(date.fromisoformat(text) if text else None, bool(row.get("chest_ct")))

    return sorted(out, key=key)


def undo_keeps_exam_started(*, started_by_link: bool, own_images: int, other_links: int) -> str | None:
    """Why undoing a link leaves the exam 检查中; None: the link alone started it, nothing else happened since,
    so it goes back to 已登记 (undo_start)."""
    if not started_by_link:
        return "检查不是由引用历史图像开始的，保持“检查中”"
    if own_images:
        return f"本检查已收到 {own_images} 幅图像，保持“检查中”"
    if other_links:
        return "本检查还有其他有效的引用，保持“检查中”"
    return None


def uses_recon(item_code: str, configured: str) -> bool:
    """Whether an exam item uses the reconstruction flow (RADOPS_RECON_ITEMS: comma-separated item codes)."""
    return item_code in {c.strip() for c in configured.split(",") if c.strip()}
