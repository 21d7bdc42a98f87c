"""The low-code data API's own table (calls per key, dataset and day) and the indexes its read models use."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TZDateTime
from backend.db.models.exams import ExamEvent, QueueTicket
from backend.db.models.reports import Report


class DataApiUsage(Base):
    """How often a key read a dataset on one local day, and its last call (the admin page's figures).

    The audit trail holds every call; this is its running count, so the page never scans the trail.
    """

    __tablename__ = "data_api_usage"
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dataset: Mapped[str] = mapped_column(String(32), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(TZDateTime)
    last_status: Mapped[int] = mapped_column(Integer, default=200)


# Declared here so the other areas' models stay untouched: the incremental sync reads the timeline by time,
# and the reports and queue-ticket datasets filter on the approval time and the ticket day.
Index("ix_exam_events_at", ExamEvent.at)
Index("ix_reports_approved_at", Report.approved_at)
Index("ix_queue_tickets_day", QueueTicket.day)
