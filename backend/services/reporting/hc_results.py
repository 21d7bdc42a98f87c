"""Close the loop with the health-check center (issue 14.13): each approved version of a health-check exam's report
goes back as one HL7 ORU^R01 (report text, the PDF as ED or a URL, the center's placer order number).

`queue_result` runs inside the approval's transaction and writes one outbox row (key per exam and version,
so approving once queues once) plus its line in the interface monitor. The job `send_results` drains the
outbox with its leases and back-off: AA completes, AE and an unreachable center are retried, AR (the center
can never take this message) makes the row dead, where the monitor lets a person send it again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from backend.db.models import Exam, ExamItem, Report, ReportVersion
from backend.db.models.interfaces import InterfaceMessage
from backend.domain.interface_monitor import MessageState, result_control_id, result_status
from backend.domain.order_intake import SOURCE_SYSTEM
from backend.domain.outbox import GiveUp, RetryPolicy
from backend.domain.report_sections import printable
from backend.ports.health_check import HealthCheckResult, ResultAck
from backend.services import interface_log, outbox
from backend.services.base import Services, Tx, transaction
from backend.services.outbox import DrainReport, OutboxItem
from backend.services.reporting.pdf import final_pdf, performed_at
from backend.services.reporting.queries import template_for, user_names

logger = logging.getLogger(__name__)
KIND = "hl7_oru"
TARGET = "health_check"
MESSAGE_TYPE = "ORU^R01"
# A result matters for the client's summary report within the day: retry for about a day, then a person.
POLICY = RetryPolicy(max_attempts=12)


def queue_result(tx: Tx, exam: Exam, version: ReportVersion) -> int | None:
    """Queue the ORU for an approved version of a health-check exam's report (nothing for other exams)."""
    if exam.source_system != SOURCE_SYSTEM or not exam.source_order_no:
        return None
    box_id, created = outbox.enqueue(
        tx, kind=KIND, target=TARGET, key=f"{KIND}:{exam.id}:{version.number}",
        payload={"exam_id": exam.id, "version": version.number, "placer_order_no": exam.source_order_no})
    if created:
        interface_log.add_outbound(tx, outbox_id=box_id, control_id=result_control_id(box_id),
                                   message_type=MESSAGE_TYPE, placer_order_no=exam.source_order_no,
                                   exam_id=exam.id, accession=exam.accession)
        logger.info("result of exam %s version %s queued for the health-check center", exam.id, version.number)
    return box_id


def send_results(svc: Services) -> dict[str, int] | None:
    """The job: send every due result (nothing when the installation has no health-check receiver)."""
    if svc.ports.health_check is None:
        return None
    from backend.services.health import this_instance

    report: DrainReport = outbox.drain(svc, KIND, lambda item: _send(svc, item), f"hc_results:{this_instance()}",
                                       policy=POLICY)
    if not report.handled:
        return None
    return {"sent": len(report.done), "retried": len(report.retried), "dead": len(report.dead)}


def _send(svc: Services, item: OutboxItem) -> Mapping[str, Any] | None:
    sender = svc.ports.health_check
    assert sender is not None
    result = build_result(svc, item)
    if result is None:
        _note(svc, item, None, "已被新版本报告取代，不再发送", reason="")
        return {"superseded": True}
    try:
        ack = sender.send_result(result=result)
    except Exception as exc:
        _note(svc, item, None, f"{type(exc).__name__}: {exc}", reason="partner_unavailable")
        raise
    _note(svc, item, ack, ack.text, reason="" if ack.ack_code == "AA" else "result_refused")
    if ack.ack_code == "AR":
        raise GiveUp(f"体检系统拒收（AR）：{ack.text}")
    if ack.ack_code != "AA":
        raise RuntimeError(f"体检系统暂不能接收（{ack.ack_code}）：{ack.text}")
    return {"ack": ack.ack_code, "control_id": result.control_id}


def build_result(svc: Services, item: OutboxItem) -> HealthCheckResult | None:
    """The result as it is sent now; None when a newer version was approved since (that one goes instead)."""
    exam_id, number = int(item.payload["exam_id"]), int(item.payload["version"])
    with transaction(svc, readonly=True) as tx:
        exam = tx.session.get(Exam, exam_id)
        assert exam is not None
        report = tx.session.scalars(select(Report).where(Report.exam_id == exam_id)).one()
        approved = list(tx.session.scalars(select(ReportVersion).where(
            ReportVersion.report_id == report.id, ReportVersion.approved_at.is_not(None))
            .order_by(ReportVersion.number)))
        if not approved or approved[-1].number != number:
            return None
        v = approved[-1]
        pdf_url = svc.settings.health_check_pdf_url.format(exam_id=exam.id, accession=exam.accession)
        pdf = None if pdf_url else final_pdf(tx, svc, exam_id)[0]
        item_row = tx.session.get(ExamItem, exam.exam_item_id)
        names = user_names(tx, {v.author_id, v.approved_by})
        p = exam.patient
        assert v.approved_at is not None
        return HealthCheckResult(
            control_id=result_control_id(item.id), placer_order_no=str(item.payload["placer_order_no"]),
            accession=exam.accession, mrn=p.mrn, patient_name=p.name, sex=p.sex, birth_date=p.birth_date,
            item_code=item_row.code if item_row else "", item_name=item_row.name if item_row else "",
            result_status=result_status(v.number), version=v.number, observed_at=performed_at(tx, exam.id),
            approved_at=v.approved_at, author=names.get(v.author_id or 0, ""),
            approver=names.get(v.approved_by or 0, ""),
            sections=tuple(printable(template_for(tx, exam, report.template_code).sections, v.sections)),
            pdf=pdf, pdf_url=pdf_url)


def _note(svc: Services, item: OutboxItem, ack: ResultAck | None, text: str, *, reason: str) -> None:
    """Write one attempt onto the monitor's line: the bytes sent and the answer, or why nothing was sent."""
    with transaction(svc) as tx:
        row = tx.session.scalars(select(InterfaceMessage).where(InterfaceMessage.outbox_id == item.id)).first()
        if row is None:
            return
        row.attempts, row.updated_at, row.ack_text, row.reason = item.attempts, tx.now, text[:500], reason
        if ack is not None:
            row.raw, row.text, row.charset, row.partner = ack.sent, ack.sent_text, ack.charset[:32], ack.partner[:64]
            row.ack_code = ack.ack_code
            row.state = (MessageState.SENT if ack.ack_code == "AA" else MessageState.QUEUED).value
