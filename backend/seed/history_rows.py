"""Turn a plan into rows: the exam, its timeline (only what happened by "now"), report, versions, critical value.

The timeline kinds and their details are the ones the services write (`timeline.apply_in` writes
{"from", "to"} for status changes), so the cockpit and reminders read seeded and live data alike.
"""

from __future__ import annotations

import json
from typing import Any

from backend.domain.catalog import TimelineKind as K
from backend.domain.critical_flow import CriticalStatus
from backend.domain.exam_flow import ExamStatus as S
from backend.domain.report_flow import ReportStatus
from backend.domain.settings_catalog import DEFAULT_TAT
from backend.domain.turnaround import target_minutes
from backend.seed import history_data as data
from backend.seed.bulk import BulkLoader, TimeFormat
from backend.seed.history_plan import MIN, Plan

EXAM_COLS = ("id", "accession", "patient_id", "exam_item_id", "modality_code", "body_part", "category",
             "patient_class", "priority", "ordering_department", "ordering_doctor", "campus_id", "slot_id",
             "scheduled_at", "room_id", "source_system", "source_order_no", "clinical_info", "paid", "status",
             "report_status", "report_due_at", "created_at", "updated_at", "version")
EVENT_COLS = ("id", "exam_id", "kind", "at", "actor", "details")
REPORT_COLS = ("id", "exam_id", "status", "template_code", "author_id", "approver_id", "current_version",
               "return_reason", "created_at", "submitted_at", "approved_at", "version_lock")
VERSION_COLS = ("id", "report_id", "number", "sections", "author_id", "saved_at", "approved_by", "approved_at",
                "amend_reason")
CRITICAL_COLS = ("id", "exam_id", "finding", "urgency", "raised_by", "raised_at", "notified_to", "notified_via",
                 "notified_by", "notified_at", "read_back", "acknowledged_by", "acknowledged_at", "status")
# The procedure and report status after each timeline row the history writes.
PROCEDURE = {K.ORDERED: S.ORDERED, K.SCHEDULED: S.SCHEDULED, K.REGISTERED: S.REGISTERED, K.CHECKED_IN: S.ARRIVED,
             K.STARTED: S.IN_PROGRESS, K.COMPLETED: S.COMPLETED, K.CANCELLED: S.CANCELLED}
REPORT = {K.REPORT_DRAFTED: ReportStatus.DRAFT, K.REPORT_SUBMITTED: ReportStatus.SUBMITTED,
          K.REPORT_APPROVED: ReportStatus.APPROVED, K.REPORT_AMENDED: ReportStatus.AMENDED}
# Exams checked in today whose patient the queues still know (a ticket is written for each).
IN_QUEUE_TODAY = frozenset({S.ARRIVED, S.IN_PROGRESS, S.COMPLETED})


def _move(before: str, after: str, **extra: Any) -> str:
    return json.dumps({"from": before, "to": after, **extra}, ensure_ascii=False)


class RowWriter:
    """Writes the rows of each plan; keeps id sequences and what today's queues need."""

    def __init__(self, loader: BulkLoader, fmt: TimeFormat, *, users: dict[str, int], now: int,
                 next_ids: dict[str, int], names: dict[int, str] | None = None) -> None:
        self.loader, self.now = loader, now
        self.names = names or {}
        self.fmt = fmt.fmt
        self.ids = dict(next_ids)
        self.u = {k: f"user:{v}" for k, v in users.items()}
        self.today_start = 0
        self.checked_in_today: list[tuple[int, Plan, S, int]] = []
        self.counts = {"exams": 0, "events": 0, "reports": 0, "critical_values": 0, "amended": 0, "cancelled": 0}
        self.sections = {m: [json.dumps({"findings": f, "impression": i}, ensure_ascii=False) for f, i in texts]
                         for m, texts in data.FINDINGS.items()}
        self.fixed = {k: _move(*k) for k in ((S.ORDERED, S.REGISTERED), (S.SCHEDULED, S.REGISTERED))}
        self.fixed[(S.REGISTERED, S.ARRIVED)] = _move(S.REGISTERED, S.ARRIVED, terminal="desk")
        self._cache: dict[tuple[str, str], str] = {}
        self.tech, self.sono = self.u.get("tech", "system"), self.u.get("sono", "system")
        self.nurse = self.u.get("nurse", "system")
        self._targets: dict[tuple[str, str, str], int] = {}
        for table, cols in (("exams", EXAM_COLS), ("exam_events", EVENT_COLS), ("reports", REPORT_COLS),
                            ("report_versions", VERSION_COLS), ("critical_values", CRITICAL_COLS)):
            loader.declare(table, cols)
        self.exam_buf, self.ev_buf = loader.buffers["exams"], loader.buffers["exam_events"]

    def _next(self, name: str) -> int:
        value = self.ids[name]
        self.ids[name] = value + 1
        return value

    def _target(self, p: Plan) -> int:
        """Report turnaround target in minutes, by the rule the reporting services use (default settings)."""
        key = (p.cls, p.item.modality, p.priority)
        minutes = self._targets.get(key)
        if minutes is None:
            minutes = self._targets[key] = target_minutes(DEFAULT_TAT, patient_class=p.cls, modality=p.item.modality,
                                                          priority=p.priority)
        return minutes

    def _ordered(self, src: str, code: str) -> str:
        key = (src, code)
        text = self._cache.get(key)
        if text is None:
            text = self._cache[key] = json.dumps({"source": src, "item": code}, ensure_ascii=False)
        return text

    def _timeline(self, p: Plan, report_id: int | None, critical_id: int | None) -> list[tuple[int, K, str, str]]:
        u, item, src = self.u, p.item, "pe" if p.cls == "health_check" else "his"
        desk = "system" if p.cls == "health_check" else u["clerk"]
        ev = [(p.t_order, K.ORDERED, desk, self._ordered(src, item.code))]
        before = S.ORDERED
        if p.slot is not None:
            ev.append((p.t_order, K.SCHEDULED, desk,
                       f'{{"from": "{S.ORDERED}", "to": "{S.SCHEDULED}", "slot_id": {p.slot[0]}, '
                       f'"band": "{p.slot[3]}"}}'))
            before = S.SCHEDULED
        ev.append((p.t_order, K.REGISTERED, desk, self.fixed[(before, S.REGISTERED)]))
        if p.t_cancel is not None:
            reason = data.CANCEL_REASONS[p.t_cancel % len(data.CANCEL_REASONS)]
            ev.append((p.t_cancel, K.CANCELLED, u["clerk"], _move(S.REGISTERED, S.CANCELLED, reason=reason)))
            return ev
        tech = self.sono if item.modality == "US" else self.tech
        before = S.REGISTERED
        if p.t_checkin is not None:
            ev.append((p.t_checkin, K.CHECKED_IN, self.nurse, self.fixed[(S.REGISTERED, S.ARRIVED)]))
            before = S.ARRIVED
        room = "null" if p.room_id is None else p.room_id
        ev.append((p.t_start, K.STARTED, tech,  # type: ignore[arg-type]
                   f'{{"from": "{before}", "to": "{S.IN_PROGRESS}", "room_id": {room}}}'))
        ev.append((p.t_complete, K.COMPLETED, tech,  # type: ignore[arg-type]
                   f'{{"from": "{S.IN_PROGRESS}", "to": "{S.COMPLETED}", "room_id": {room}}}'))
        author, approver = f"user:{p.author}", f"user:{p.approver}"
        # The details the reporting service writes; a performed exam always has these milestones.
        ev += [(p.t_draft, K.REPORT_DRAFTED, author, f'{{"version": 1, "author_id": {p.author}}}'),  # type: ignore[list-item]
               (p.t_submit, K.REPORT_SUBMITTED, author, '{"version": 1}'),  # type: ignore[list-item]
               (p.t_approve, K.REPORT_APPROVED, approver,  # type: ignore[list-item]
                f'{{"version": 1, "author_id": {p.author}}}')]
        if p.amend is None and p.crit is None:
            return ev
        if p.amend is not None:
            ev += [(p.amend[0], K.REPORT_AMENDED, author, json.dumps(
                {"version": 2, "previous": 1, "reason": p.amend[3]}, ensure_ascii=False)),
                   (p.amend[1], K.REPORT_SUBMITTED, author, '{"version": 2}'),
                   (p.amend[2], K.REPORT_APPROVED, approver, f'{{"version": 2, "author_id": {p.author}}}')]
        if p.crit is not None:
            minutes = (p.crit[1] - p.crit[0]) / 60
            ev += [(p.crit[0], K.CRITICAL_RAISED, author, f'{{"critical_id": {critical_id}, "urgency": "high"}}'),
                   (p.crit[1], K.CRITICAL_NOTIFIED, author, json.dumps(
                       {"critical_id": critical_id, "via": "phone", "read_back": True, "minutes": round(minutes, 1),
                        "within_limit": minutes <= 10})),
                   (p.crit[2], K.CRITICAL_ACKNOWLEDGED, "system", f'{{"critical_id": {critical_id}, "note": ""}}')]
        ev.sort(key=lambda e: e[0])
        return ev

    def write(self, p: Plan, exam_id: int, accession: str) -> S:
        """Write one exam and everything that happened to it by now; return its procedure status."""
        now, f = self.now, self.fmt
        report_id = self._next("reports") if p.t_draft is not None and p.t_draft <= now else None
        critical_id = self._next("critical_values") if p.crit is not None and p.crit[0] <= now else None
        status, report_status, last = S.ORDERED, ReportStatus.NONE, p.t_order
        ev_buf, ev_id = self.ev_buf, self.ids["exam_events"]
        n = 0
        for at, kind, actor, details in self._timeline(p, report_id, critical_id):
            if at > now:
                continue
            ev_buf.append((ev_id + n, exam_id, kind.value, f(at), actor, details))
            n += 1
            status = PROCEDURE.get(kind, status)
            report_status = REPORT.get(kind, report_status)
            last = at
        self.ids["exam_events"] = ev_id + n
        self.counts["events"] += n
        done = status is S.COMPLETED or report_status is not ReportStatus.NONE
        due = p.t_complete + self._target(p) * MIN if done and p.t_complete is not None else None
        started = p.t_start is not None and p.t_start <= now and p.t_cancel is None
        src = "pe" if p.cls == "health_check" else "his"
        it, slot = p.item, p.slot
        self.exam_buf.append((
            exam_id, accession, p.patient_id, it.id, it.modality, it.body_part, it.category, p.cls, p.priority,
            p.dept, p.doctor, it.campus_id, slot[0] if slot else None, f(slot[4]) if slot else None,
            p.room_id if started else None, src, src.upper() + accession[2:], p.info, True, status.value,
            report_status.value,
            f(due), f(p.t_order), f(last), 1))
        self.counts["exams"] += 1
        if status is S.CANCELLED:
            self.counts["cancelled"] += 1
        if report_id is not None:
            self._report(p, exam_id, report_id, report_status)
        if critical_id is not None:
            self._critical(p, exam_id, critical_id)
        if p.t_checkin is not None and self.today_start <= p.t_checkin <= now \
                and status in IN_QUEUE_TODAY:
            self.checked_in_today.append((exam_id, p, status, p.t_checkin))
        return status

    def _report(self, p: Plan, exam_id: int, report_id: int, status: ReportStatus) -> None:
        now, f, add = self.now, self.fmt, self.loader.add
        assert p.t_draft is not None
        assert p.t_submit is not None
        assert p.t_approve is not None
        sub = p.t_submit if p.t_submit <= now else None
        appr = p.t_approve if p.t_approve <= now else None
        amended = p.amend is not None and p.amend[0] <= now
        texts = self.sections.get(p.item.modality, self.sections["CT"])
        body = texts[exam_id % len(texts)]
        versions = [(1, f(sub or p.t_draft), p.approver if appr else None, f(appr), "")]
        last_sub, last_appr = sub, appr
        if amended:
            assert p.amend is not None
            resub = p.amend[1] if p.amend[1] <= now else None
            reappr = p.amend[2] if p.amend[2] <= now else None
            versions.append((2, f(resub or p.amend[0]), p.approver if reappr else None, f(reappr), p.amend[3]))
            last_sub, last_appr = resub or sub, reappr or appr
            self.counts["amended"] += 1
        # The report row before its versions: a flush never writes a version whose report is missing.
        add("reports", (report_id, exam_id, status.value, p.item.template, p.author, p.approver if appr else None,
                        len(versions), "", f(p.t_draft), f(last_sub), f(last_appr), 1))
        for number, saved, by, at, reason in versions:
            add("report_versions", (self._next("report_versions"), report_id, number, body, p.author, saved, by, at,
                                    reason))
        self.counts["reports"] += 1

    def _critical(self, p: Plan, exam_id: int, critical_id: int) -> None:
        now, f = self.now, self.fmt
        assert p.crit is not None
        raised, notified, acked, finding, target = p.crit
        n_ok, a_ok = notified <= now, acked <= now
        status = (CriticalStatus.ACKNOWLEDGED if a_ok else CriticalStatus.NOTIFIED if n_ok
                  else CriticalStatus.RAISED).value
        # Who raised and notified is stored by display name, as the critical-value service does.
        doctor = self.names.get(p.author, f"user:{p.author}")[:64]
        self.loader.add("critical_values", (
            critical_id, exam_id, finding, "high", doctor, f(raised), f"{p.dept}{target}" if n_ok else None,
            "phone" if n_ok else None, doctor if n_ok else None, f(notified) if n_ok else None, n_ok,
            f"{p.dept}{p.doctor}" if a_ok else None, f(acked) if a_ok else None, status))
        self.counts["critical_values"] += 1
