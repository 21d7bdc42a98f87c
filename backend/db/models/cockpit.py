"""Cockpit rollups kept current from the exam timeline, and emergency-report reminder state."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TZDateTime
from backend.db.models.exams import Exam


class CockpitMark(Base):
    """The first occurrence of a counted kind per exam (ordered, started, report_approved, appointment).

    `day` is the hospital-local day the mark counts on (for an appointment: the appointment's day);
    the exam's attributes are copied so daily counters can be moved when an exam is edited.
    """

    __tablename__ = "cockpit_marks"
    __table_args__ = (Index("ix_cockpit_marks_kind_day", "kind", "day"),)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(TZDateTime)
    day: Mapped[date] = mapped_column(Date)
    modality: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(16))
    patient_class: Mapped[str] = mapped_column(String(16))


class CockpitDaily(Base):
    """How many marks of a kind fell on a local day, by modality, category and patient class."""

    __tablename__ = "cockpit_daily"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    modality: Mapped[str] = mapped_column(String(8), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    patient_class: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class ErReminder(Base):
    """One emergency-report reminder to one doctor (kind `due` before the deadline, `escalation` after).

    Unique per (exam, recipient, kind): two schedulers racing insert the row once and only the
    winner pushes it.
    """

    __tablename__ = "er_reminders"
    __table_args__ = (
        UniqueConstraint("exam_id", "recipient_id", "kind"),
        Index("ix_er_reminders_recipient_state", "recipient_id", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    exam_id: Mapped[int] = mapped_column(ForeignKey("exams.id"), index=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))  # due / escalation
    due_at: Mapped[datetime] = mapped_column(TZDateTime)
    state: Mapped[str] = mapped_column(String(16))  # shown / opened / acknowledged / snoozed / closed
    snooze_until: Mapped[datetime | None] = mapped_column(TZDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(TZDateTime)
    acted_at: Mapped[datetime | None] = mapped_column(TZDateTime)


# The reminder job looks up exams by due time; declared here so the core model stays untouched.
Index("ix_exams_report_due_at", Exam.report_due_at)


class ErDuty(Base):
    """The emergency reading roster: who reads emergency reports of which modality (all when empty) on which
    weekdays (1-7, all when empty) from start to end (site time, "HH:MM"; end before start crosses midnight)."""

    __tablename__ = "er_duties"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    modality_code: Mapped[str | None] = mapped_column(String(8))
    weekdays: Mapped[str] = mapped_column(String(16), default="")  # "1,2,3,4,5"; empty: every day
    start_time: Mapped[str] = mapped_column(String(5))
    end_time: Mapped[str] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
