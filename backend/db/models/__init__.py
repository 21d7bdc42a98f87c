"""Every table of RadOps; importing this package registers them all on Base.metadata."""

from backend.db.models.auth import ApiKey, AuditEntry, User, UserRole
from backend.db.models.exams import Exam, ExamEvent, Patient, QueueTicket
from backend.db.models.org import (
    Campus,
    Department,
    ExamItem,
    Modality,
    Queue,
    QueueRoom,
    Room,
    Slot,
)
from backend.db.models.reports import CriticalValue, Report, ReportTemplate, ReportVersion
from backend.db.models.system import Counter, Outbox, Setting


def _import_area_models() -> None:
    """Area modules (kiosk, ultrasound, cockpit, ...) register their own tables when imported."""
    from backend.discovery import import_all

    import_all("backend.db.models")


_import_area_models()

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Campus",
    "Counter",
    "CriticalValue",
    "Department",
    "Exam",
    "ExamEvent",
    "ExamItem",
    "Modality",
    "Outbox",
    "Patient",
    "Queue",
    "QueueRoom",
    "QueueTicket",
    "Report",
    "ReportTemplate",
    "ReportVersion",
    "Room",
    "Setting",
    "Slot",
    "User",
    "UserRole",
]
