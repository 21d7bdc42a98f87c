"""Read model of the `queue_tickets` dataset: one row per queue ticket, with its wait from the timeline.

The wait runs from check-in to the start of the exam (the timeline's `started`), or to now while the
patient has not been examined yet; a cancelled ticket has none.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from backend.db.models import Exam, Patient, Queue, QueueTicket, Room
from backend.domain.data_datasets import QUEUE_TICKETS
from backend.domain.exam_flow import TRIGGER_EVENT, Trigger
from backend.domain.metrics import waited
from backend.domain.queue_flow import TicketStatus
from backend.services.base import Tx
from backend.services.data_api import changes
from backend.services.data_api.readers import Row, RowReader, labelled

STARTED = TRIGGER_EVENT[Trigger.START]

COLUMNS: dict[str, Any] = {
    "id": QueueTicket.id, "exam_id": Exam.id, "accession": Exam.accession, "modality": Exam.modality_code,
    "patient_class": Exam.patient_class, "patient_mrn": Patient.mrn, "patient_name": Patient.name,
    "queue_code": Queue.code, "queue_name": Queue.name, "room_code": Room.code, "room_name": Room.name,
    "day": QueueTicket.day, "number": QueueTicket.number, "code": QueueTicket.code, "status": QueueTicket.status,
    "priority": QueueTicket.priority, "checked_in_at": QueueTicket.checked_in_at,
    "called_at": QueueTicket.called_at, "call_count": QueueTicket.call_count,
}


def _select() -> Select[Any]:
    return (select(*labelled(COLUMNS))
            .join(Exam, Exam.id == QueueTicket.exam_id).join(Patient, Patient.id == Exam.patient_id)
            .join(Queue, Queue.id == QueueTicket.queue_id).outerjoin(Room, Room.id == QueueTicket.room_id))


def _finish(tx: Tx, rows: list[Row]) -> None:
    ids = [r["exam_id"] for r in rows]
    started, last = changes.times_of(tx, ids, (STARTED,), QUEUE_TICKETS.change_kinds)
    for r in rows:
        start = started.get((r["exam_id"], STARTED))
        r["started_at"] = start
        if start is None and r["status"] == TicketStatus.CANCELLED.value:
            r["wait_minutes"] = None
        else:
            r["wait_minutes"] = round(max(0.0, waited(r["checked_in_at"], start, tx.now).total_seconds()) / 60, 1)
        r["updated_at"] = last.get(r["exam_id"], r["checked_in_at"])


READER = RowReader(select=_select, columns=COLUMNS, key=QueueTicket.id, exam_id=Exam.id, finish=_finish,
                   cancelled=("status", TicketStatus.CANCELLED.value))
