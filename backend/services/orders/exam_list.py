"""The exam list (检查列表): filtered, sorted, keyset-paginated, with Chinese labels."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text, union

from backend.db.models import Campus, Exam, ExamItem, Patient, ReconRequest, Room
from backend.domain.actor import Actor
from backend.domain.enums import MODALITY_LABELS, PATIENT_CLASS_LABELS, PRIORITY_LABELS, PatientClass, Priority
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.exam_flow import EXAM_STATUS_LABELS, ExamStatus
from backend.domain.exam_query import MAX_PAGE, SORTS, ExamFilter, decode_cursor, encode_cursor
from backend.domain.permissions import Perm
from backend.domain.recon import ACTIVE as RECON_ACTIVE
from backend.domain.recon import RECON_STATE_LABELS, ReconState
from backend.domain.report_flow import REPORT_STATUS_LABELS, ReportStatus
from backend.services import audit
from backend.services.base import Services, Tx, transaction


def _day_start(d: date, tz: Any) -> datetime:
    return datetime.combine(d, time.min, tzinfo=tz).astimezone(UTC)


def _name_starts(prefix: str, dialect: str) -> Any:
    """Patient name starts with `prefix`, in a form an index on the name can serve.

    SQLite's LIKE ignores ASCII case and so never uses the (binary) name index; GLOB is its case-sensitive
    prefix match that does. PostgreSQL uses the text_pattern_ops index (migration 0003) for LIKE 'x%'.
    """
    if dialect == "sqlite":
        return Patient.name.op("GLOB")("".join(f"[{c}]" if c in "*?[]" else c for c in prefix) + "*")
    escaped = prefix.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return Patient.name.like(escaped + "%", escape="/")


# Statements are immutable: the joined base is built once and every filter derives a new one from it.
_BASE = select(Exam, ExamItem.code, ExamItem.name, Campus.name, Room.name).join(
    ExamItem, ExamItem.id == Exam.exam_item_id).join(Campus, Campus.id == Exam.campus_id).outerjoin(
    Room, Room.id == Exam.room_id)


# A name prefix that more patients than this share is broad (a common surname: 张, 王, 李 are each some 7 % of
# patients): walking the exams in list order and checking each one's patient then fills a page within a few
# hundred rows, while collecting every matching patient's exams and sorting them costs tens of milliseconds.
# A narrower prefix is served the other way round, from the name index.
BROAD_NAME = 2000


def _broad_name(tx: Tx, prefix: str, dialect: str) -> bool:
    probe = select(Patient.id).where(_name_starts(prefix, dialect)).limit(BROAD_NAME).subquery()
    return int(tx.session.scalar(select(func.count()).select_from(probe)) or 0) >= BROAD_NAME


def _without_parallel_workers(tx: Tx, query: Any) -> list[Any]:
    """PostgreSQL plans the walk with parallel workers, whose start costs more than the walk itself.

    Read-only units of work run in autocommit there (backend/db/session.py), so the setting is the
    connection's own and is reset before the connection goes back to the pool.
    """
    tx.session.execute(text("SET max_parallel_workers_per_gather = 0"))
    try:
        return list(tx.session.execute(query).all())
    finally:
        tx.session.execute(text("RESET max_parallel_workers_per_gather"))


def _patient_is(cond: Any) -> Any:
    """The exam's own patient meets `cond` (checked row by row as the list is walked)."""
    return select(Patient.id).where(Patient.id == Exam.patient_id, cond).exists()


def _filtered(f: ExamFilter, tz: Any, dialect: str = "", *, broad: bool = False) -> Any:
    """The list query for `f`; `broad`: the name prefix in `f` is broad (see BROAD_NAME)."""
    q = _BASE
    conds = []
    if f.date_from:
        conds.append(Exam.created_at >= _day_start(f.date_from, tz))
    if f.date_to:
        conds.append(Exam.created_at < _day_start(f.date_to + timedelta(days=1), tz))
    for col, values in ((Exam.status, f.statuses), (Exam.report_status, f.report_statuses),
                        (Exam.modality_code, f.modalities), (ExamItem.code, f.item_codes),
                        (Exam.patient_class, f.patient_classes), (Exam.campus_id, f.campus_ids),
                        (Exam.id, f.exam_ids)):
        if values:
            conds.append(col.in_(values))
    if f.accession:
        conds.append(Exam.accession == f.accession.strip())
    if f.placer_order:
        conds.append(Exam.source_order_no == f.placer_order.strip())
    # Patient conditions select patient ids first (an index lookup), then their exams: joining and
    # filtering would walk the whole exam list newest-first looking for one patient's rows.
    if f.mrn:
        conds.append(Exam.patient_id.in_(select(Patient.id).where(Patient.mrn == f.mrn.strip())))
    if f.patient_name:
        name = _name_starts(f.patient_name.strip(), dialect)
        conds.append(_patient_is(name) if broad else Exam.patient_id.in_(select(Patient.id).where(name)))
    if f.q:
        term = f.q.strip()
        who = or_(Patient.mrn == term, _name_starts(term, dialect))
        if broad:
            conds.append(or_(Exam.accession == term, _patient_is(who)))
        else:
            # A union of index lookups: an OR across the accession and the patient defeats the planners.
            conds.append(Exam.id.in_(union(select(Exam.id).where(Exam.accession == term),
                                           select(Exam.id).where(Exam.patient_id.in_(select(Patient.id)
                                                                                      .where(who))))))
    return q.where(and_(*conds)) if conds else q


def _cursor_values(cursor: str, *, by_time: bool) -> tuple[Any, int]:
    """The (sort key, id) a cursor points after; a forged or stale cursor is a 400, not a crash."""
    raw_key, raw_id = decode_cursor(cursor)
    try:
        last_id = int(str(raw_id))
        if not by_time:
            return str(raw_key), last_id
        key = datetime.fromisoformat(str(raw_key))
    except ValueError as exc:
        raise InvalidInput("分页游标无效", code="invalid_cursor") from exc
    if key.tzinfo is None:
        raise InvalidInput("分页游标无效", code="invalid_cursor")
    return key, last_id


def _keyset(q: Any, sort: str, cursor: str | None) -> Any:
    col = Exam.created_at if sort.startswith("created") else Exam.accession
    desc = sort.endswith("desc")
    if cursor:
        key, last_id = _cursor_values(cursor, by_time=col is Exam.created_at)
        q = q.where(or_(col < key, and_(col == key, Exam.id < last_id)) if desc
                    else or_(col > key, and_(col == key, Exam.id > last_id)))
    return q.order_by(col.desc(), Exam.id.desc()) if desc else q.order_by(col.asc(), Exam.id.asc())


def exam_row(exam: Exam, item_code: str, item_name: str, campus: str, room: str | None, tz: Any) -> dict[str, Any]:
    p = exam.patient
    return {
        "id": exam.id, "accession": exam.accession,
        "status": exam.status, "status_label": EXAM_STATUS_LABELS[ExamStatus(exam.status)],
        "report_status": exam.report_status,
        "report_status_label": REPORT_STATUS_LABELS[ReportStatus(exam.report_status)],
        "patient_class": exam.patient_class,
        "patient_class_label": PATIENT_CLASS_LABELS[PatientClass(exam.patient_class)],
        "priority": exam.priority, "priority_label": PRIORITY_LABELS[Priority(exam.priority)],
        "modality": exam.modality_code, "modality_label": MODALITY_LABELS.get(exam.modality_code, exam.modality_code),
        "item_code": item_code, "item_name": item_name, "body_part": exam.body_part, "category": exam.category,
        "patient": {"id": p.id, "mrn": p.mrn, "name": p.name, "sex": p.sex,
                    "birth_date": p.birth_date.isoformat() if p.birth_date else None},
        "campus_id": exam.campus_id, "campus": campus, "room": room,
        "ordering_department": exam.ordering_department, "ordering_doctor": exam.ordering_doctor,
        "source_system": exam.source_system, "placer_order": exam.source_order_no,
        "created_at": exam.created_at.isoformat(),
        "created_local": exam.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
        "scheduled_at": exam.scheduled_at.isoformat() if exam.scheduled_at else None,
        "scheduled_local": exam.scheduled_at.astimezone(tz).strftime("%m-%d %H:%M") if exam.scheduled_at else "",
        "report_due_at": exam.report_due_at.isoformat() if exam.report_due_at else None,
        "paid": exam.paid, "version": exam.version,
    }


def search(svc: Services, f: ExamFilter, *, by: Actor, sort: str = "created_desc", cursor: str | None = None,
           limit: int = 50, record_read: bool = True) -> dict[str, Any]:
    """One page of exams matching `f`, newest first by default, and the cursor of the next page."""
    by.require(Perm.EXAM_READ)
    page = _page(svc, f, sort=sort, cursor=cursor, limit=limit)
    if record_read and by.kind == "user" and page["items"]:
        audit.record_read(svc, by, "exam_list", "", count=len(page["items"]),
                          exam_ids=[i["id"] for i in page["items"]][:50])
    return page


def _page(svc: Services, f: ExamFilter, *, sort: str, cursor: str | None, limit: int) -> dict[str, Any]:
    if sort not in SORTS:
        raise InvalidInput(f"排序方式无效：{sort}；可选 {', '.join(SORTS)}", code="invalid_sort")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"每页条数须在 1 到 {MAX_PAGE} 之间", code="invalid_limit")
    tz = svc.tz
    with transaction(svc, readonly=True) as tx:
        dialect = tx.session.get_bind().dialect.name
        prefix = (f.patient_name or f.q or "").strip()
        broad = bool(prefix) and _broad_name(tx, prefix, dialect)
        query = _keyset(_filtered(f, tz, dialect, broad=broad), sort, cursor).limit(limit + 1)
        if broad and dialect == "postgresql":
            rows = _without_parallel_workers(tx, query)
        else:
            rows = list(tx.session.execute(query).all())
        # Built inside the unit of work: the read-only rollback expires the loaded rows.
        items = [exam_row(e, code, name, campus, room, tz) for e, code, name, campus, room in rows[:limit]]
        _add_recon(tx, items)
        nxt = None
        if len(rows) > limit:
            last = rows[limit - 1][0]
            key = last.created_at.isoformat() if sort.startswith("created") else last.accession
            nxt = encode_cursor([key, last.id])
    return {"items": items, "next_cursor": nxt}


def _add_recon(tx: Tx, items: list[dict[str, Any]]) -> None:
    """Each row's reconstruction state (LN-7: 待发送 ... 重建完成, 失败, 重建超时), None without a link."""
    ids = [i["id"] for i in items]
    found: dict[int, ReconState] = {}
    if ids:
        q = (select(ReconRequest.exam_id, ReconRequest.state)
             .where(ReconRequest.exam_id.in_(ids), ReconRequest.state.in_([s.value for s in RECON_ACTIVE]))
             .order_by(ReconRequest.id))
        found = {exam_id: ReconState(state) for exam_id, state in tx.session.execute(q)}
    for item in items:
        state = found.get(item["id"])
        item["recon"] = {"state": state.value, "label": RECON_STATE_LABELS[state]} if state else None


def get_exam(svc: Services, *, by: Actor, exam_id: int | None = None, accession: str | None = None) -> dict[str, Any]:
    """One exam with its patient (the read is audited)."""
    by.require(Perm.EXAM_READ)
    f = ExamFilter(exam_ids=(exam_id,)) if exam_id is not None else ExamFilter(accession=accession or "")
    page = _page(svc, f, sort="created_desc", cursor=None, limit=1)
    if not page["items"]:
        raise NotFound(f"检查不存在：{accession or exam_id}", code="exam_not_found")
    item: dict[str, Any] = page["items"][0]
    audit.record_read(svc, by, "exam", item["id"])
    return item

