"""The hospital's structure: campuses, departments, modalities, rooms, queues, exam items, slots."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base, TZDateTime


class Campus(Base):
    __tablename__ = "campuses"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(64))


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    campus_id: Mapped[int | None] = mapped_column(ForeignKey("campuses.id"))
    # Clinical departments order exams; imaging departments perform them.
    kind: Mapped[str] = mapped_column(String(16), default="clinical")


class Modality(Base):
    __tablename__ = "modalities"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)  # DICOM (0008,0060): CT, MR, DX...
    name: Mapped[str] = mapped_column(String(32))  # shown to staff: CT, MR, DR, 钼靶, 胃肠造影, 超声


class Room(Base):
    __tablename__ = "rooms"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id"))
    modality_code: Mapped[str] = mapped_column(ForeignKey("modalities.code"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    location: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Queue(Base):
    """A waiting line with its own ticket numbers (prefix + number per day)."""

    __tablename__ = "queues"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(8))
    campus_id: Mapped[int] = mapped_column(ForeignKey("campuses.id"))
    modality_code: Mapped[str] = mapped_column(ForeignKey("modalities.code"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class QueueRoom(Base):
    """Which rooms serve a queue."""

    __tablename__ = "queue_rooms"
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), primary_key=True)


class ExamItem(Base):
    """An orderable exam (检查项目)."""

    __tablename__ = "exam_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    modality_code: Mapped[str] = mapped_column(ForeignKey("modalities.code"))
    body_part: Mapped[str] = mapped_column(String(64), default="")
    category: Mapped[str] = mapped_column(String(16), default="routine")
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id"))
    needs_slot: Mapped[bool] = mapped_column(Boolean, default=True)
    # Items with no room step (reconstruction, post-processing) skip check-in and queueing.
    needs_room: Mapped[bool] = mapped_column(Boolean, default=True)
    report_template_code: Mapped[str | None] = mapped_column(String(32))
    # Turnaround targets in minutes, exam end to approval; None falls back to the settings table.
    tat_routine_min: Mapped[int | None] = mapped_column(Integer)
    tat_emergency_min: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Slot(Base):
    """An appointment slot (号源): a queue's capacity for one time band of one day."""

    __tablename__ = "slots"
    __table_args__ = (UniqueConstraint("queue_id", "day", "starts_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("queues.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    band: Mapped[str] = mapped_column(String(16))  # am / pm / night / all_day
    starts_at: Mapped[datetime] = mapped_column(TZDateTime)
    ends_at: Mapped[datetime] = mapped_column(TZDateTime)
    capacity: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
