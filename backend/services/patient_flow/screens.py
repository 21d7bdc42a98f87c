"""Hall screens (QS-1..3): what a screen shows, read from the database and masked, plus layout admin."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from backend.db.models import Campus, Exam, ExamItem, Patient, Queue, QueueRoom, QueueTicket, Room
from backend.db.models.screens import Screen
from backend.domain.actor import Actor
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.masking import mask_display
from backend.domain.permissions import Perm
from backend.domain.queue_flow import MISSED_INSTRUCTION, SHOWN_ON_SCREEN, line_start
from backend.domain.queueing import TicketFacts
from backend.domain.screen_board import ScreenTicket, board, screen_flag
from backend.domain.screen_layout import Layout, LayoutError, parse_layout
from backend.services import audit, settings_store
from backend.services.base import Services, Tx, transaction
from backend.services.patient_flow import dispatch_state, triage

logger = logging.getLogger(__name__)

LAYOUT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,58}\.toml$")
DEFAULT_NOTICE = f"请留意屏幕叫号，听到呼叫请到对应诊室检查；{MISSED_INSTRUCTION}。"


def load_layout(layouts_dir: Path, file: str) -> Layout:
    """Read and validate one layout file of `layouts_dir`; LayoutError names the file, line and reason."""
    if not LAYOUT_NAME.match(file or ""):
        raise InvalidInput(f"布局文件名无效：{file!r}", code="invalid_layout_name")
    path = Path(layouts_dir) / file
    if not path.is_file():
        raise NotFound(f"布局文件不存在：{file}", code="layout_not_found")
    return parse_layout(path.read_text(encoding="utf-8"), file)


def validate_layouts(layouts_dir: Path) -> list[Layout]:
    """Validate every layout file at start-up; the first invalid one raises LayoutError."""
    return [load_layout(layouts_dir, p.name) for p in sorted(Path(layouts_dir).glob("*.toml"))]


def list_layouts(svc: Services) -> list[dict[str, Any]]:
    """Every layout file with its validation status (ok, or the refusal `file:line: reason`)."""
    out = []
    for path in sorted(Path(svc.settings.layouts_dir).glob("*.toml")):
        try:
            layout = load_layout(svc.settings.layouts_dir, path.name)
            out.append({"file": path.name, "name": layout.name, "ok": True, "error": "",
                        "size": f"{layout.grid.width}x{layout.grid.height}"})
        except (LayoutError, InvalidInput) as exc:
            out.append({"file": path.name, "name": "", "ok": False, "error": exc.message, "size": ""})
    return out


def _screen(tx: Tx, ref: str | int) -> Screen:
    text = str(ref).strip()
    cond = Screen.id == int(text) if text.isdigit() else Screen.code == text
    screen = tx.session.scalars(select(Screen).where(cond)).first()
    if screen is None or not screen.active:
        raise NotFound(f"大屏 {text} 不存在或已停用", code="screen_not_found")
    return screen


def _masked(tx: Tx, screen: Screen) -> bool:
    return bool(settings_store.get_in(tx, "masking.enabled")) if screen.masking is None else screen.masking


def _screen_dict(tx: Tx, screen: Screen) -> dict[str, Any]:
    campus = tx.session.get(Campus, screen.campus_id)
    return {"id": screen.id, "code": screen.code, "name": screen.name, "campus_id": screen.campus_id,
            "campus_name": campus.name if campus else "", "layout": screen.layout,
            "queue_codes": list(screen.queue_codes or []), "voice_enabled": screen.voice_enabled,
            "voice_repeat": screen.voice_repeat, "masked": _masked(tx, screen),
            "masking": screen.masking, "notice": screen.notice or DEFAULT_NOTICE, "active": screen.active}


def screen_view(svc: Services, ref: str | int) -> tuple[dict[str, Any], Layout]:
    """The screen's settings and its validated layout (for rendering the page's grid)."""
    with transaction(svc, readonly=True) as tx:
        info = _screen_dict(tx, _screen(tx, ref))
    return info, load_layout(svc.settings.layouts_dir, info["layout"])


def _queues(tx: Tx, screen: Screen) -> list[Queue]:
    q = select(Queue).where(Queue.campus_id == screen.campus_id, Queue.active.is_(True))
    if screen.queue_codes:
        q = q.where(Queue.code.in_(screen.queue_codes))
    return list(tx.session.scalars(q.order_by(Queue.code)))


def _ticket_row(t: QueueTicket, name: str, queue: Queue, room: Room | None, masked: bool, tz: Any,
                flag: str = "") -> dict[str, Any]:
    return {"ticket_id": t.id, "code": t.code, "name": mask_display(name, masked), "status": t.status,
            "flag": flag,
            "priority": t.priority, "queue_code": queue.code, "queue_name": queue.name,
            "room_id": room.id if room else None, "room_code": room.code if room else "",
            "room_name": room.name if room else "",
            "called_at": t.called_at.astimezone(tz).strftime("%H:%M") if t.called_at else ""}


def _screen_ticket(t: QueueTicket) -> ScreenTicket:
    facts = TicketFacts(id=t.id, priority=t.priority, sort_at=t.sort_at, line_at=t.line_at or t.checked_in_at)
    return ScreenTicket(facts=facts, status=t.status, room_id=t.room_id, called_at=t.called_at, code=t.code)


def screen_state(svc: Services, ref: str | int) -> dict[str, Any]:
    """Everything the screen shows now: calls per room, waiting (queue order), missed; names masked if on."""
    with transaction(svc, readonly=True) as tx:
        screen = _screen(tx, ref)
        info = _screen_dict(tx, screen)
        queues = {q.id: q for q in _queues(tx, screen)}
        room_ids = set(tx.session.scalars(select(QueueRoom.room_id).where(QueueRoom.queue_id.in_(queues))))
        rooms = {r.id: r for r in tx.session.scalars(select(Room).where(Room.id.in_(room_ids), Room.active.is_(True)))}
        today = tx.now.astimezone(tx.tz).date()
        rows = tx.session.execute(
            select(QueueTicket, Patient.name, Patient.birth_date, Exam.patient_class, Exam.priority, ExamItem.code,
                   Patient.military)
            .join(Exam, Exam.id == QueueTicket.exam_id)
            .join(Patient, Patient.id == Exam.patient_id).join(ExamItem, ExamItem.id == Exam.exam_item_id)
            .where(QueueTicket.queue_id.in_(queues), QueueTicket.day >= line_start(today),
                   QueueTicket.status.in_(SHOWN_ON_SCREEN))
        ).all()
        names = {r[0].id: r[1] for r in rows}
        by_id = {r[0].id: r[0] for r in rows}
        # Priority patients are flagged (issue 15 item 7): the same classes as the triage board and the room.
        rules = triage.priority_rules(tx)
        dispatched = dispatch_state.dispatched_queue_ids(tx, queues) if queues else set()
        flags = {t.id: screen_flag(triage.classes_for(rules, patient_class=pc, priority=pr, birth=birth,
                                                      item_code=item, today=today, military=mil,
                                                      dispatched=t.queue_id in dispatched))
                 for t, _n, birth, pc, pr, item, mil in rows}
        ordered_rooms = sorted(rooms.values(), key=lambda r: r.code)
        shown = board([_screen_ticket(t) for t in by_id.values()], [r.id for r in ordered_rooms], at=tx.now)

        def row(ticket_id: int) -> dict[str, Any]:
            t = by_id[ticket_id]
            return _ticket_row(t, names[t.id], queues[t.queue_id], rooms.get(t.room_id or 0), info["masked"], tx.tz,
                               flags[t.id])

        now_calling = [{"room_id": r.id, "room_code": r.code, "room_name": r.name,
                        "ticket": row(tid) if (tid := shown.calling[r.id]) is not None else None}
                       for r in ordered_rooms]
        return {"screen": info, "now_calling": now_calling, "waiting": [row(i) for i in shown.waiting],
                "missed": [row(i) for i in shown.missed], "at": tx.now.isoformat()}


def announcement(svc: Services, ref: str | int, ticket_id: int) -> dict[str, Any] | None:
    """What the screen says for a call: `请 CT015 号 张*明 到 CT1室 检查`, and how many times (None: silent)."""
    with transaction(svc, readonly=True) as tx:
        screen = _screen(tx, ref)
        ticket = tx.session.get(QueueTicket, int(ticket_id))
        queue_ids = {q.id for q in _queues(tx, screen)}
        if not screen.voice_enabled or ticket is None or ticket.queue_id not in queue_ids or ticket.room_id is None:
            return None
        exam = tx.session.get(Exam, ticket.exam_id)
        room = tx.session.get(Room, ticket.room_id)
        name = mask_display(exam.patient.name if exam else "", _masked(tx, screen))
        text = f"请 {ticket.code} 号 {name} 到 {room.name if room else ''} 检查"
        # Spoken Mandarin says 某 where the screen shows *, as a person calling would.
        return {"text": text, "speech": text.replace("*", "某"), "repeat": screen.voice_repeat,
                "ticket_id": ticket.id, "call_count": ticket.call_count}


def list_screens(svc: Services) -> list[dict[str, Any]]:
    """Every screen with its campus and layout (admin page)."""
    with transaction(svc, readonly=True) as tx:
        return [_screen_dict(tx, s) for s in tx.session.scalars(select(Screen).order_by(Screen.code))]


def assign_layout(svc: Services, screen_id: int, layout_file: str, *, by: Actor) -> dict[str, Any]:
    """Give a screen another layout; an invalid layout file is refused with its line and reason."""
    by.require(Perm.ADMIN)
    layout = load_layout(svc.settings.layouts_dir, layout_file)
    with transaction(svc) as tx:
        screen = tx.session.get(Screen, int(screen_id))
        if screen is None:
            raise NotFound(f"大屏 {screen_id} 不存在", code="screen_not_found")
        before = screen.layout
        screen.layout = layout.file
        screen.updated_at = tx.now
        audit.record(tx, by, "screen.layout", "screen", screen.id, before=before, after=layout.file)
        logger.info("screen %s layout %s -> %s", screen.id, before, layout.file)
        return _screen_dict(tx, screen)

