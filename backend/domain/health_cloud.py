"""The provincial health cloud's rules (HC-1..HC-9): the ledger's life cycle (one transition table), which
exams go, when the cloud drops a study (the three-month window), the upload time window and the per-file
idempotency key. Pure: the services load the facts, these decide."""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Final

from backend.domain.machine import StateMachine


class CloudStatus(StrEnum):
    PENDING = "pending"
    REGISTERED = "registered"
    UPLOADING = "uploading"
    UPLOADED = "uploaded"
    FAILED = "failed"
    EXPIRED = "expired"
    SKIPPED = "skipped"


class CloudTrigger(StrEnum):
    REGISTER = "register"
    START_UPLOAD = "start_upload"
    FINISH = "finish"
    FAIL = "fail"
    RETRY = "retry"
    NEW_IMAGES = "new_images"
    EXPIRE = "expire"
    SKIP = "skip"
    ADD = "add"
    REUPLOAD = "reupload"


CLOUD_STATUS_LABELS: Final[Mapping[CloudStatus, str]] = {
    CloudStatus.PENDING: "待登记",
    CloudStatus.REGISTERED: "已登记",
    CloudStatus.UPLOADING: "上传中",
    CloudStatus.UPLOADED: "已上传",
    CloudStatus.FAILED: "失败",
    CloudStatus.EXPIRED: "已过期",
    CloudStatus.SKIPPED: "已跳过",
}
CLOUD_TRIGGER_LABELS: Final[Mapping[CloudTrigger, str]] = {
    CloudTrigger.REGISTER: "注册入库",
    CloudTrigger.START_UPLOAD: "开始上传",
    CloudTrigger.FINISH: "上传完成",
    CloudTrigger.FAIL: "记为失败",
    CloudTrigger.RETRY: "重试",
    CloudTrigger.NEW_IMAGES: "补传新增图像",
    CloudTrigger.EXPIRE: "云端过期",
    CloudTrigger.SKIP: "跳过",
    CloudTrigger.ADD: "加入上传",
    CloudTrigger.REUPLOAD: "重新上传",
}

S, T = CloudStatus, CloudTrigger
CLOUD_TRANSITIONS: Final[Mapping[tuple[CloudStatus, CloudTrigger], CloudStatus]] = {
    (S.PENDING, T.REGISTER): S.REGISTERED,
    (S.REGISTERED, T.START_UPLOAD): S.UPLOADING,
    (S.UPLOADING, T.FINISH): S.UPLOADED,
    # Any step may fail; a retry starts again from registration, which the cloud answers idempotently
    # (same study UID, same registration id), and the upload resumes from the cloud's acknowledged offsets.
    (S.PENDING, T.FAIL): S.FAILED,
    (S.REGISTERED, T.FAIL): S.FAILED,
    (S.UPLOADING, T.FAIL): S.FAILED,
    (S.FAILED, T.RETRY): S.PENDING,
    # Reconcile found the cloud without a study we had sent (and not yet due to expire).
    (S.UPLOADED, T.FAIL): S.FAILED,
    # Late images: register again (new counts) and send only the files the cloud has not acknowledged.
    (S.UPLOADED, T.NEW_IMAGES): S.PENDING,
    (S.PENDING, T.EXPIRE): S.EXPIRED,
    (S.REGISTERED, T.EXPIRE): S.EXPIRED,
    (S.UPLOADING, T.EXPIRE): S.EXPIRED,
    (S.UPLOADED, T.EXPIRE): S.EXPIRED,
    (S.FAILED, T.EXPIRE): S.EXPIRED,
    (S.PENDING, T.SKIP): S.SKIPPED,
    (S.REGISTERED, T.SKIP): S.SKIPPED,
    (S.FAILED, T.SKIP): S.SKIPPED,
    (S.SKIPPED, T.ADD): S.PENDING,
    # What aged out is never sent again unless a person asks for it.
    (S.EXPIRED, T.REUPLOAD): S.PENDING,
}
del S, T
CLOUD_MACHINE: Final = StateMachine("health_cloud", CLOUD_TRANSITIONS, CLOUD_STATUS_LABELS, CLOUD_TRIGGER_LABELS)
# States in which the ledger still has work to do for the study.
CLOUD_ACTIVE: Final = frozenset({CloudStatus.PENDING, CloudStatus.REGISTERED, CloudStatus.UPLOADING})


def next_cloud_status(current: CloudStatus, trigger: CloudTrigger) -> CloudStatus:
    """Return the ledger status after `trigger`, or raise InvalidTransition."""
    return CLOUD_MACHINE.next(current, trigger)


def status_text(status: CloudStatus, *, done: int = 0, total: int = 0) -> str:
    """The ledger's label, with the file count while uploading (上传中 12/300)."""
    label = CLOUD_STATUS_LABELS[status]
    return f"{label} {done}/{total}" if status is CloudStatus.UPLOADING and total else label


# --- The three-month window (HC-9) ---------------------------------------------------------------


class RetentionBasis(StrEnum):
    """Which day the cloud counts its window from."""

    STUDY_DATE = "study_date"
    UPLOAD_DATE = "upload_date"


def add_months(day: date, months: int) -> date:
    """The same day number `months` later, or the last day of that month when it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def cloud_expires_at(basis_day: date, *, months: int, tz: tzinfo) -> datetime:
    """When the cloud drops a study whose window starts on `basis_day` (a date in the site time zone).

    The cloud keeps the study through the whole of the day `months` later (clamped to the month's end:
    30 Nov + 3 months = 28/29 Feb) and drops it at 00:00 site time the next day. Returned in UTC.
    """
    last_day = add_months(basis_day, months)
    midnight = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz)
    return midnight.astimezone(UTC)


def basis_day(*, study_date: date, uploaded_at: datetime | None, basis: RetentionBasis, tz: tzinfo) -> date | None:
    """The day the window starts from; None when it counts from an upload that has not happened."""
    if basis is RetentionBasis.STUDY_DATE:
        return study_date
    return uploaded_at.astimezone(tz).date() if uploaded_at is not None else None


def days_left(expires_at: datetime, *, at: datetime) -> int:
    """Whole days before the cloud drops the study (0 on its last day, negative once dropped)."""
    return (expires_at - at) // timedelta(days=1)


# --- Which exams go (HC-1, HC-5) ----------------------------------------------------------------------


class ManualChoice(StrEnum):
    ADD = "add"
    REMOVE = "remove"


class SkipReason(StrEnum):
    """Why an exam is not sent; the value is the stable code, the text is what the ledger shows."""

    MANUAL_REMOVED = "manual_removed"
    NO_IMAGES = "no_images"
    MODALITY = "modality"
    PATIENT_CLASS = "patient_class"
    TOO_OLD = "too_old"
    PAST_WINDOW = "past_window"
    NO_ACCESSION = "no_accession"


SKIP_TEXT: Final[Mapping[SkipReason, str]] = {
    SkipReason.MANUAL_REMOVED: "已手动移出上传",
    SkipReason.NO_IMAGES: "该检查尚无图像",
    SkipReason.MODALITY: "该设备类型不在上传范围内",
    SkipReason.PATIENT_CLASS: "该患者类别不在上传范围内",
    SkipReason.TOO_OLD: "检查时间早于上传范围",
    SkipReason.PAST_WINDOW: "已超出云端三个月保存期限，上传后会被云端删除",
    SkipReason.NO_ACCESSION: "影像未匹配到检查（无检查号），云端无法登记；匹配后可手动加入上传",
}


@dataclass(frozen=True, slots=True)
class CloudRule:
    """The settings that decide which exams go (empty sets mean every modality / every class)."""

    modalities: frozenset[str] = frozenset()
    patient_classes: frozenset[str] = frozenset()
    max_age_days: int = 30
    window_months: int = 3
    basis: RetentionBasis = RetentionBasis.STUDY_DATE


@dataclass(frozen=True, slots=True)
class CloudCandidate:
    """What the rule needs to know about one exam (plain values loaded by the service)."""

    exam_id: int
    modality: str
    patient_class: str
    study_date: date
    image_count: int
    manual: ManualChoice | None = None


@dataclass(frozen=True, slots=True)
class Send:
    """The exam goes; `expires_at` is when the cloud will drop it (None: counted from the upload)."""

    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Skip:
    reason: SkipReason

    @property
    def text(self) -> str:
        return SKIP_TEXT[self.reason]


def decide_selection(exam: CloudCandidate, rule: CloudRule, *, at: datetime, tz: tzinfo) -> Send | Skip:
    """Decide whether `exam` goes to the cloud at `at`.

    A person's removal always wins; a person's addition overrides modality, class and age, but not the
    cloud's window: a study the cloud would drop on arrival is never sent.
    """
    if exam.manual is ManualChoice.REMOVE:
        return Skip(SkipReason.MANUAL_REMOVED)
    if exam.image_count <= 0:
        return Skip(SkipReason.NO_IMAGES)
    expires = None
    if rule.basis is RetentionBasis.STUDY_DATE:
        expires = cloud_expires_at(exam.study_date, months=rule.window_months, tz=tz)
        if expires <= at:
            return Skip(SkipReason.PAST_WINDOW)
    if exam.manual is ManualChoice.ADD:
        return Send(expires)
    if rule.modalities and exam.modality.upper() not in rule.modalities:
        return Skip(SkipReason.MODALITY)
    if rule.patient_classes and exam.patient_class not in rule.patient_classes:
        return Skip(SkipReason.PATIENT_CLASS)
    if (at.astimezone(tz).date() - exam.study_date).days > rule.max_age_days:
        return Skip(SkipReason.TOO_OLD)
    return Send(expires)


# --- When and how files go (HC-5, HC-6) ---------------------------------------------------------------


def in_upload_window(at: datetime, *, start: time | None, end: time | None, tz: tzinfo) -> bool:
    """Whether uploads may run at `at`: always without a window; [start, end) in site time, across
    midnight when end <= start (22:00-06:00 is the night)."""
    if start is None or end is None or start == end:
        return True
    now = at.astimezone(tz).time()
    return start <= now < end if start < end else (now >= start or now < end)


def file_idempotency_key(*, hospital_code: str, study_uid: str, sop_instance_uid: str, sha256: str) -> str:
    """The key the cloud counts a file by: the same bytes of the same instance are one file, ever."""
    raw = f"{hospital_code}|{study_uid}|{sop_instance_uid}|{sha256}".encode()
    return hashlib.sha256(raw).hexdigest()[:40]


# --- The ledger's files and the old records (HC-5, HC-8) ----------------------------------------------


class CloudFileStatus(StrEnum):
    PENDING = "pending"
    UPLOADED = "uploaded"
    REFUSED = "refused"  # unreadable or changed since it was archived: never sent, never blocks the others


class OldLinkMatch(StrEnum):
    """How an old registration was matched to an exam (or why not)."""

    STUDY_UID = "study_uid"
    ACCESSION = "accession"
    PATIENT = "patient"
    CONFLICT = "conflict"
    NONE = "none"


def parse_hhmm(raw: str) -> time | None:
    """A window bound from settings ("22:00"); None when empty or not a time."""
    try:
        hours, minutes = raw.strip().split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        return None
