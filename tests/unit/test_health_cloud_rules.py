"""The health cloud's pure rules: the ledger's table, the three-month window (site time zone, month ends),
which exams go, the night window and the per-file idempotency key."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend.domain.errors import InvalidTransition
from backend.domain.health_cloud import (
    CLOUD_MACHINE,
    CLOUD_STATUS_LABELS,
    CLOUD_TRANSITIONS,
    CloudCandidate,
    CloudRule,
    CloudStatus,
    CloudTrigger,
    ManualChoice,
    RetentionBasis,
    Send,
    Skip,
    SkipReason,
    add_months,
    basis_day,
    cloud_expires_at,
    days_left,
    decide_selection,
    file_idempotency_key,
    in_upload_window,
    next_cloud_status,
    status_text,
)

TZ = ZoneInfo("Asia/Shanghai")
# 09:00 on 27 Nov 2026 in Shanghai.
AT = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(("state", "trigger"), list(itertools.product(CloudStatus, CloudTrigger)))
def test_table_walk(state, trigger):
    if (state, trigger) in CLOUD_TRANSITIONS:
        assert next_cloud_status(state, trigger) == CLOUD_TRANSITIONS[(state, trigger)]
    else:
        with pytest.raises(InvalidTransition) as exc:
            next_cloud_status(state, trigger)
        assert CLOUD_STATUS_LABELS[state] in exc.value.message
        assert CLOUD_MACHINE.trigger_labels[trigger] in exc.value.message


def test_labels_are_the_ledgers_words():
    assert [CLOUD_STATUS_LABELS[s] for s in CloudStatus] == ["待登记", "已登记", "上传中", "已上传", "失败", "已过期",
                                                            "已跳过"]
    assert set(CLOUD_MACHINE.trigger_labels) == set(CloudTrigger)
    assert status_text(CloudStatus.UPLOADING, done=12, total=300) == "上传中 12/300"
    assert status_text(CloudStatus.UPLOADED, done=300, total=300) == "已上传"


def test_the_happy_path_and_what_an_expired_study_allows():
    s = CloudStatus.PENDING
    for trigger in (CloudTrigger.REGISTER, CloudTrigger.START_UPLOAD, CloudTrigger.FINISH, CloudTrigger.EXPIRE):
        s = next_cloud_status(s, trigger)
    assert s is CloudStatus.EXPIRED
    assert CLOUD_MACHINE.allowed(CloudStatus.EXPIRED) == [CloudTrigger.REUPLOAD]
    with pytest.raises(InvalidTransition):
        next_cloud_status(CloudStatus.EXPIRED, CloudTrigger.RETRY)


def test_docs_render_the_table():
    page = (Path(__file__).resolve().parents[2] / "docs" / "state-machines.md").read_text(encoding="utf-8")
    assert CLOUD_MACHINE.as_markdown() in page, "docs/state-machines.md is stale for the health cloud ledger"


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 8, 15), 3, date(2026, 11, 15)),
    (date(2026, 11, 30), 3, date(2027, 2, 28)),
    (date(2027, 11, 30), 3, date(2028, 2, 29)),  # leap year
    (date(2026, 8, 31), 3, date(2026, 11, 30)),
    (date(2026, 12, 31), 2, date(2027, 2, 28)),
    (date(2026, 10, 31), 3, date(2027, 1, 31)),  # across the year
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
])
def test_add_months_clamps_to_the_month_end(day, months, expected):
    assert add_months(day, months) == expected


def test_expiry_is_midnight_site_time_after_the_last_day():
    # Kept through 30 Nov (31 Aug + 3 months, clamped), dropped at 00:00 on 1 Dec in Shanghai.
    expires = cloud_expires_at(date(2026, 8, 31), months=3, tz=TZ)
    assert expires == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert expires.astimezone(TZ) == datetime(2026, 12, 1, 0, 0, tzinfo=TZ)
    assert days_left(expires, at=datetime(2026, 11, 30, 15, 59, tzinfo=UTC)) == 0
    assert days_left(expires, at=datetime(2026, 11, 28, 16, 0, tzinfo=UTC)) == 2
    assert days_left(expires, at=expires) == 0
    assert days_left(expires, at=datetime(2026, 11, 30, 16, 0, 1, tzinfo=UTC)) == -1


def test_the_window_can_count_from_the_upload_day_in_site_time():
    # 17:30 UTC on 26 Nov is already 27 Nov in Shanghai.
    uploaded = datetime(2026, 11, 26, 17, 30, tzinfo=UTC)
    assert basis_day(study_date=date(2026, 1, 1), uploaded_at=uploaded, basis=RetentionBasis.UPLOAD_DATE,
                     tz=TZ) == date(2026, 11, 27)
    assert basis_day(study_date=date(2026, 1, 1), uploaded_at=None, basis=RetentionBasis.UPLOAD_DATE, tz=TZ) is None
    assert basis_day(study_date=date(2026, 1, 1), uploaded_at=uploaded, basis=RetentionBasis.STUDY_DATE,
                     tz=TZ) == date(2026, 1, 1)


def exam(**kw) -> CloudCandidate:
    base = {"exam_id": 1, "modality": "CT", "patient_class": "outpatient", "study_date": date(2026, 11, 20),
            "image_count": 300}
    return CloudCandidate(**(base | kw))


RULE = CloudRule(modalities=frozenset({"CT", "MR", "US"}), patient_classes=frozenset({"outpatient", "inpatient"}),
                 max_age_days=30)


@pytest.mark.parametrize(("candidate", "reason"), [
    (exam(manual=ManualChoice.REMOVE), SkipReason.MANUAL_REMOVED),
    (exam(image_count=0), SkipReason.NO_IMAGES),
    (exam(modality="DX"), SkipReason.MODALITY),
    (exam(patient_class="health_check"), SkipReason.PATIENT_CLASS),
    (exam(study_date=date(2026, 10, 27)), SkipReason.TOO_OLD),
    (exam(study_date=date(2026, 8, 26), manual=ManualChoice.ADD), SkipReason.PAST_WINDOW),
])
def test_exams_that_do_not_go_say_why(candidate, reason):
    decision = decide_selection(candidate, RULE, at=AT, tz=TZ)
    assert decision == Skip(reason)
    assert decision.text


def test_an_exam_in_the_rule_goes_with_its_expiry():
    decision = decide_selection(exam(modality="ct"), RULE, at=AT, tz=TZ)
    assert decision == Send(expires_at=datetime(2027, 2, 20, 16, 0, tzinfo=UTC))


def test_a_manual_add_overrides_modality_class_and_age_but_not_the_window():
    added = exam(modality="DX", patient_class="health_check", study_date=date(2026, 9, 1), manual=ManualChoice.ADD)
    assert isinstance(decide_selection(added, RULE, at=AT, tz=TZ), Send)
    # Study day 27 Aug is kept through 27 Nov: at 23:59 that day site time it still goes, at 00:00 not.
    last = exam(study_date=date(2026, 8, 27), manual=ManualChoice.ADD)
    assert isinstance(decide_selection(last, RULE, at=datetime(2026, 11, 27, 15, 59, tzinfo=UTC), tz=TZ), Send)
    assert decide_selection(last, RULE, at=datetime(2026, 11, 27, 16, 0, tzinfo=UTC), tz=TZ) == Skip(
        SkipReason.PAST_WINDOW)


def test_the_age_limit_counts_site_days():
    # 27 Oct is 31 days before 27 Nov (site time); 28 Oct is 30 days and still goes.
    assert decide_selection(exam(study_date=date(2026, 10, 28)), RULE, at=AT, tz=TZ) == Send(
        expires_at=cloud_expires_at(date(2026, 10, 28), months=3, tz=TZ))
    # At 23:30 UTC on 26 Nov it is already 27 Nov in Shanghai.
    late = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    assert decide_selection(exam(study_date=date(2026, 10, 27)), RULE, at=late, tz=TZ) == Skip(SkipReason.TOO_OLD)


def test_counting_from_the_upload_never_refuses_by_window_and_leaves_the_expiry_open():
    rule = CloudRule(basis=RetentionBasis.UPLOAD_DATE, max_age_days=400)
    assert decide_selection(exam(study_date=date(2026, 1, 5)), rule, at=AT, tz=TZ) == Send(expires_at=None)


def test_empty_sets_mean_every_modality_and_class():
    assert isinstance(decide_selection(exam(modality="XA", patient_class="emergency"), CloudRule(), at=AT, tz=TZ),
                      Send)


@pytest.mark.parametrize(("utc", "allowed"), [
    (datetime(2026, 11, 27, 13, 59, tzinfo=UTC), False),  # 21:59 site time
    (datetime(2026, 11, 27, 14, 0, tzinfo=UTC), True),  # 22:00
    (datetime(2026, 11, 27, 17, 0, tzinfo=UTC), True),  # 01:00
    (datetime(2026, 11, 27, 21, 59, tzinfo=UTC), True),  # 05:59
    (datetime(2026, 11, 27, 22, 0, tzinfo=UTC), False),  # 06:00
    (datetime(2026, 11, 27, 4, 0, tzinfo=UTC), False),  # noon
])
def test_the_night_window_crosses_midnight_in_site_time(utc, allowed):
    assert in_upload_window(utc, start=time(22), end=time(6), tz=TZ) is allowed


def test_no_window_or_a_day_window():
    assert in_upload_window(AT, start=None, end=None, tz=TZ)
    assert in_upload_window(AT, start=time(8), end=time(18), tz=TZ)
    assert not in_upload_window(AT, start=time(12), end=time(18), tz=TZ)


def test_the_file_key_is_stable_and_changes_with_the_bytes():
    key = file_idempotency_key(hospital_code="H1", study_uid="1.2", sop_instance_uid="1.2.3", sha256="ab")
    assert key == file_idempotency_key(hospital_code="H1", study_uid="1.2", sop_instance_uid="1.2.3", sha256="ab")
    assert key != file_idempotency_key(hospital_code="H1", study_uid="1.2", sop_instance_uid="1.2.3", sha256="cd")
    assert len(key) == 40
