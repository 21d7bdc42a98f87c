"""The one catalogue of what happens to an exam and who hears of it: timeline kinds, the Socket.IO event
each publishes, and the events each kind of page listens to (tests/unit/test_catalog.py keeps them matched)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Final


class TimelineKind(StrEnum):
    """The `kind` of an exam timeline row (past tense); the cockpit, reminders and the detail dialog read it."""

    ORDERED = "ordered"
    EDITED = "edited"
    SCHEDULED = "scheduled"
    REGISTERED = "registered"
    CHECKED_IN = "checked_in"
    CHECK_IN_UNDONE = "check_in_undone"
    STARTED = "started"
    START_UNDONE = "start_undone"
    COMPLETED = "completed"
    DISCONTINUED = "discontinued"
    CANCELLED = "cancelled"
    TICKET_CREATED = "ticket_created"
    TICKET_CALLED = "ticket_called"
    TICKET_RECALLED = "ticket_recalled"
    TICKET_MISSED = "ticket_missed"
    TICKET_REQUEUED = "ticket_requeued"
    TICKET_TRANSFERRED = "ticket_transferred"
    TICKET_DONE = "ticket_done"
    TICKET_CANCELLED = "ticket_cancelled"
    TICKET_TRIAGED = "ticket_triaged"
    TICKET_POOLED = "ticket_pooled"
    TICKET_RELEASED = "ticket_released"
    REPORT_DRAFTED = "report_drafted"
    REPORT_SUBMITTED = "report_submitted"
    REPORT_APPROVED = "report_approved"
    REPORT_RETURNED = "report_returned"
    REPORT_AMENDED = "report_amended"
    REPORT_PRINTED = "report_printed"
    CRITICAL_RAISED = "critical_raised"
    CRITICAL_NOTIFIED = "critical_notified"
    CRITICAL_ACKNOWLEDGED = "critical_acknowledged"
    ER_REMINDER_SHOWN = "er_reminder_shown"
    ER_REMINDER_ESCALATED = "er_reminder_escalated"
    ER_REMINDER_ACKNOWLEDGED = "er_reminder_acknowledged"
    ER_REMINDER_SNOOZED = "er_reminder_snoozed"
    ER_REMINDER_OPENED = "er_reminder_opened"
    # Images (issue 10 item 4): the first instance of the exam's study, a series quiet for the setting's
    # seconds, the whole study quiet for them (docs/imaging_archive.md), a second copy of an instance.
    IMAGES_FIRST_RECEIVED = "images_first_received"
    SERIES_COMPLETED = "series_completed"
    STUDY_RECEIVED = "study_received"
    INSTANCE_DUPLICATE = "instance_duplicate"
    STUDY_MATCHED = "study_matched"
    # Lung-nodule reconstruction (LN-5..LN-7): a prior linked as the source, the link undone, the source sent,
    # sending failed for good, the results complete, none in time.
    RECON_LINKED = "recon_linked"
    RECON_UNLINKED = "recon_unlinked"
    RECON_SENT = "recon_sent"
    RECON_FAILED = "recon_failed"
    RECON_COMPLETED = "recon_completed"
    RECON_TIMED_OUT = "recon_timed_out"


class EventName(StrEnum):
    """Every Socket.IO event the services publish (snake_case, past tense)."""

    EXAM_ORDERED = "exam_ordered"
    EXAM_EDITED = "exam_edited"
    EXAM_SCHEDULED = "exam_scheduled"
    EXAM_REGISTERED = "exam_registered"
    EXAM_CHECKED_IN = "exam_checked_in"
    EXAM_CHECK_IN_UNDONE = "exam_check_in_undone"
    EXAM_STARTED = "exam_started"
    EXAM_START_UNDONE = "exam_start_undone"
    EXAM_COMPLETED = "exam_completed"
    EXAM_DISCONTINUED = "exam_discontinued"
    EXAM_CANCELLED = "exam_cancelled"
    TICKET_CREATED = "ticket_created"
    TICKET_CALLED = "ticket_called"
    TICKET_RECALLED = "ticket_recalled"
    TICKET_MISSED = "ticket_missed"
    TICKET_REQUEUED = "ticket_requeued"
    TICKET_TRANSFERRED = "ticket_transferred"
    TICKET_DONE = "ticket_done"
    TICKET_CANCELLED = "ticket_cancelled"
    TICKET_TRIAGED = "ticket_triaged"
    TICKET_POOLED = "ticket_pooled"
    TICKET_RELEASED = "ticket_released"
    REPORT_DRAFTED = "report_drafted"
    REPORT_SUBMITTED = "report_submitted"
    REPORT_APPROVED = "report_approved"
    REPORT_RETURNED = "report_returned"
    REPORT_AMENDED = "report_amended"
    REPORT_PRINTED = "report_printed"
    CRITICAL_RAISED = "critical_raised"
    CRITICAL_NOTIFIED = "critical_notified"
    CRITICAL_ACKNOWLEDGED = "critical_acknowledged"
    ER_REMINDER = "er_reminder"
    ER_REMINDER_CLEARED = "er_reminder_cleared"
    ER_REMINDER_ACKNOWLEDGED = "er_reminder_acknowledged"
    ER_REMINDER_SNOOZED = "er_reminder_snoozed"
    ER_REMINDER_OPENED = "er_reminder_opened"
    IMAGES_FIRST_RECEIVED = "images_first_received"
    SERIES_COMPLETED = "series_completed"
    STUDY_RECEIVED = "study_received"


K, E = TimelineKind, EventName
# The event a timeline row publishes; None: the row is history only (a reminder shown or escalated is
# pushed as its own `er_reminder` event, with the popup's payload).
TIMELINE_EVENT: Final[Mapping[TimelineKind, EventName | None]] = {
    K.ORDERED: E.EXAM_ORDERED, K.EDITED: E.EXAM_EDITED, K.SCHEDULED: E.EXAM_SCHEDULED,
    K.REGISTERED: E.EXAM_REGISTERED, K.CHECKED_IN: E.EXAM_CHECKED_IN, K.CHECK_IN_UNDONE: E.EXAM_CHECK_IN_UNDONE,
    K.STARTED: E.EXAM_STARTED, K.START_UNDONE: E.EXAM_START_UNDONE, K.COMPLETED: E.EXAM_COMPLETED,
    K.DISCONTINUED: E.EXAM_DISCONTINUED,
    K.CANCELLED: E.EXAM_CANCELLED,
    K.TICKET_CREATED: E.TICKET_CREATED, K.TICKET_CALLED: E.TICKET_CALLED, K.TICKET_RECALLED: E.TICKET_RECALLED,
    K.TICKET_MISSED: E.TICKET_MISSED, K.TICKET_REQUEUED: E.TICKET_REQUEUED,
    K.TICKET_TRANSFERRED: E.TICKET_TRANSFERRED, K.TICKET_DONE: E.TICKET_DONE,
    K.TICKET_CANCELLED: E.TICKET_CANCELLED, K.TICKET_TRIAGED: E.TICKET_TRIAGED, K.TICKET_POOLED: E.TICKET_POOLED,
    K.TICKET_RELEASED: E.TICKET_RELEASED,
    K.REPORT_DRAFTED: E.REPORT_DRAFTED, K.REPORT_SUBMITTED: E.REPORT_SUBMITTED,
    K.REPORT_APPROVED: E.REPORT_APPROVED, K.REPORT_RETURNED: E.REPORT_RETURNED,
    K.REPORT_AMENDED: E.REPORT_AMENDED, K.REPORT_PRINTED: E.REPORT_PRINTED,
    K.CRITICAL_RAISED: E.CRITICAL_RAISED, K.CRITICAL_NOTIFIED: E.CRITICAL_NOTIFIED,
    K.CRITICAL_ACKNOWLEDGED: E.CRITICAL_ACKNOWLEDGED,
    K.ER_REMINDER_SHOWN: None, K.ER_REMINDER_ESCALATED: None,
    K.ER_REMINDER_ACKNOWLEDGED: E.ER_REMINDER_ACKNOWLEDGED, K.ER_REMINDER_SNOOZED: E.ER_REMINDER_SNOOZED,
    K.ER_REMINDER_OPENED: E.ER_REMINDER_OPENED,
    K.IMAGES_FIRST_RECEIVED: E.IMAGES_FIRST_RECEIVED, K.SERIES_COMPLETED: E.SERIES_COMPLETED,
    K.STUDY_RECEIVED: E.STUDY_RECEIVED, K.INSTANCE_DUPLICATE: None, K.STUDY_MATCHED: E.IMAGES_FIRST_RECEIVED,
    K.RECON_LINKED: None, K.RECON_UNLINKED: None, K.RECON_SENT: None, K.RECON_FAILED: None,
    K.RECON_COMPLETED: E.STUDY_RECEIVED, K.RECON_TIMED_OUT: E.STUDY_RECEIVED,
}

# The exam detail dialog's Chinese names of the procedure's milestones (other kinds show as they are).
TIMELINE_LABELS: Final[Mapping[TimelineKind, str]] = {
    K.ORDERED: "开单", K.SCHEDULED: "预约", K.REGISTERED: "登记", K.CHECKED_IN: "签到",
    K.CHECK_IN_UNDONE: "撤销签到", K.STARTED: "开始检查", K.START_UNDONE: "撤销开始检查",
    K.COMPLETED: "检查完成", K.DISCONTINUED: "检查中断",
    K.CANCELLED: "取消检查", K.EDITED: "修改检查",
    K.IMAGES_FIRST_RECEIVED: "收到首幅图像", K.SERIES_COMPLETED: "序列接收完成", K.STUDY_RECEIVED: "图像接收完成",
    K.INSTANCE_DUPLICATE: "重复图像", K.STUDY_MATCHED: "图像人工匹配",
    K.RECON_LINKED: "引用历史图像", K.RECON_UNLINKED: "撤销引用", K.RECON_SENT: "已发送重建",
    K.RECON_FAILED: "重建发送失败", K.RECON_COMPLETED: "重建完成", K.RECON_TIMED_OUT: "重建超时",
}

# A ticket joined, left or moved in a line (its status changed, or it changed rooms): a line re-reads.
LINE_CHANGED: Final = frozenset({E.TICKET_CREATED, E.TICKET_CALLED, E.TICKET_MISSED, E.TICKET_REQUEUED,
                                 E.TICKET_TRANSFERRED, E.TICKET_DONE, E.TICKET_CANCELLED})
# Ultrasound dispatch placed a ticket in a room, left it in the pool, or released it (status unchanged).
PLACEMENT_CHANGED: Final = frozenset({E.TICKET_TRIAGED, E.TICKET_POOLED, E.TICKET_RELEASED})
# A procedure status changed (one per exam trigger), or the order was edited.
EXAM_CHANGED: Final = frozenset({E.EXAM_SCHEDULED, E.EXAM_REGISTERED, E.EXAM_CHECKED_IN, E.EXAM_CHECK_IN_UNDONE,
                                 E.EXAM_STARTED, E.EXAM_START_UNDONE, E.EXAM_COMPLETED, E.EXAM_DISCONTINUED,
                                 E.EXAM_CANCELLED,
                                 E.EXAM_EDITED})
# A report went to review or came back from it.
REPORT_REVIEWED: Final = frozenset({E.REPORT_SUBMITTED, E.REPORT_APPROVED, E.REPORT_RETURNED})
del K, E


class Audience(StrEnum):
    """A kind of page that listens over Socket.IO, and (comment) the rooms it joins."""

    HALL_SCREEN = "hall_screen"  # signage/hall_screen.py: campus:<id>, screen:<id>
    ROOM_DESK = "room_desk"  # panels/room_desk.py: room:<id>, exams
    US_ROOM = "us_room"  # panels/us_room.py: room:<id>
    TRIAGE_BOARD = "triage_board"  # panels/triage.py: triage
    EXAM_LIST = "exam_list"  # panels/exam_list.py: exams
    COCKPIT = "cockpit"  # dashboards/cockpit.py: dashboard
    ER_POPUP = "er_popup"  # panels/er_popup.py (on every staff page): user:<id>


E = EventName
LISTENS: Final[Mapping[Audience, frozenset[EventName]]] = {
    # A recall repeats the call on the screen and at the desk; the triage board shows no calls.
    Audience.HALL_SCREEN: LINE_CHANGED | {E.TICKET_RECALLED},
    Audience.ROOM_DESK: LINE_CHANGED | {E.TICKET_RECALLED},
    Audience.US_ROOM: LINE_CHANGED | {E.TICKET_RECALLED} | PLACEMENT_CHANGED,
    Audience.TRIAGE_BOARD: LINE_CHANGED | PLACEMENT_CHANGED,
    Audience.EXAM_LIST: EXAM_CHANGED | REPORT_REVIEWED | {E.IMAGES_FIRST_RECEIVED, E.STUDY_RECEIVED},
    # The figures that move during the day: orders, appointments, check-ins, starts, reports, criticals.
    Audience.COCKPIT: frozenset({E.EXAM_ORDERED, E.EXAM_SCHEDULED, E.EXAM_CHECKED_IN, E.EXAM_STARTED,
                                 E.EXAM_CANCELLED, E.REPORT_APPROVED, E.REPORT_AMENDED, E.CRITICAL_RAISED,
                                 E.CRITICAL_NOTIFIED}),
    Audience.ER_POPUP: frozenset({E.ER_REMINDER, E.ER_REMINDER_CLEARED}),
}

# Published, and deliberately heard by no page (a new event must be listened to or listed here, with why).
UNHEARD: Final[Mapping[EventName, str]] = {
    E.REPORT_DRAFTED: "a first draft changes no list live; the worklist and the exam list show it on their next read",
    E.REPORT_PRINTED: "printing is history only (timeline and audit); no page shows it",
    E.CRITICAL_ACKNOWLEDGED: "the cockpit counts raised and notified values only; the critical list re-reads itself",
    E.ER_REMINDER_ACKNOWLEDGED: "the popup that acted re-reads its reminders; the event is the doctor's own echo",
    E.ER_REMINDER_SNOOZED: "the popup that acted re-reads its reminders; the event is the doctor's own echo",
    E.ER_REMINDER_OPENED: "the popup that acted re-reads its reminders; the event is the doctor's own echo",
    E.SERIES_COMPLETED: "a series is a step inside a study; the exam list shows the study's arrival only",
}
del E


def listens(audience: Audience) -> list[str]:
    """The event names a page of `audience` subscribes to, sorted (Dash component properties are per name)."""
    return sorted(e.value for e in LISTENS[audience])
