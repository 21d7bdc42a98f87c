"""Every table of RadOps, listed here by name; importing this package registers them all on Base.metadata."""

from backend.db.models.auth import ApiKey, AuditEntry, User, UserRole
from backend.db.models.cadre import CadreRosterEntry, CadreUpload, CadreUploadFile, CadreUploadReport
from backend.db.models.cockpit import CockpitDaily, CockpitMark, ErDuty, ErReminder
from backend.db.models.data_api import DataApiUsage
from backend.db.models.exams import Exam, ExamEvent, Patient, QueueTicket
from backend.db.models.health import ComponentBeat
from backend.db.models.health_cloud import CloudLedgerFile, CloudLedgerStudy, CloudOldLink
from backend.db.models.hl7_intake import InboundMessage
from backend.db.models.imaging import DicomNode, ImagingInstance, ImagingSeries, ImagingStudy, PerformedStep
from backend.db.models.interfaces import InterfaceMessage
from backend.db.models.kiosk import KioskTerminal
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
from backend.db.models.recon import ReconRequest
from backend.db.models.reports import CriticalValue, Report, ReportTemplate, ReportVersion
from backend.db.models.screens import Screen
from backend.db.models.security import Device, UserSession
from backend.db.models.system import Counter, Outbox, Setting
from backend.db.models.ultrasound import Shift, ShiftGroup, ShiftQueue, ShiftSession

__all__ = [
    "ApiKey",
    "AuditEntry",
    "CadreRosterEntry",
    "CadreUpload",
    "CadreUploadFile",
    "CadreUploadReport",
    "Campus",
    "CloudLedgerFile",
    "CloudLedgerStudy",
    "CloudOldLink",
    "CockpitDaily",
    "CockpitMark",
    "ComponentBeat",
    "Counter",
    "CriticalValue",
    "DataApiUsage",
    "Department",
    "Device",
    "DicomNode",
    "ErDuty",
    "ErReminder",
    "Exam",
    "ExamEvent",
    "ExamItem",
    "ImagingInstance",
    "ImagingSeries",
    "ImagingStudy",
    "InboundMessage",
    "InterfaceMessage",
    "KioskTerminal",
    "Modality",
    "Outbox",
    "Patient",
    "PerformedStep",
    "Queue",
    "QueueRoom",
    "QueueTicket",
    "ReconRequest",
    "Report",
    "ReportTemplate",
    "ReportVersion",
    "Room",
    "Screen",
    "Setting",
    "Shift",
    "ShiftGroup",
    "ShiftQueue",
    "ShiftSession",
    "Slot",
    "User",
    "UserRole",
    "UserSession",
]
