"""Sending a linked reconstruction source to the reconstruction system (LN-7): the outbox job that C-STOREs
the prior series, re-labelled with the exam's study and accession, to the known node RECON, with progress,
retries and back-off; a series from a remote archive of priors is fetched by C-GET first (docs/recon_interface.md)."""


from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from io import BytesIO
from typing import Any

from pydicom import Dataset, dcmread
from pynetdicom import AE, evt

from backend.db.models import ReconRequest
from backend.dicom import remote_qr
from backend.dicom.transport import nodelay
from backend.domain.actor import SYSTEM
from backend.domain.catalog import TimelineKind
from backend.domain.errors import NotFound
from backend.domain.exam_flow import NO_REPORT_EXPECTED, ExamStatus
from backend.domain.imaging import InstanceHeader
from backend.domain.outbox import GiveUp, RetryPolicy
from backend.domain.recon import (
    ReconState,
    ReconTrigger,
)
from backend.services import outbox, timeline
from backend.services.base import Services, transaction
from backend.services.imaging import archive, index, nodes
from backend.services.imaging.recon import KIND, move_request, prior_archive

logger = logging.getLogger(__name__)
PROGRESS_EVERY = 25  # instances between two progress writes
SUCCESS_STATUSES = frozenset({0x0000, 0xB000, 0xB006, 0xB007})
FETCH_LIMIT_S = 480.0  # a C-GET of a remote source ends within the send job's 10-minute lease


# ---- sending (LN-7) ------------------------------------------------------------------------------------

def policy(svc: Services) -> RetryPolicy:
    s = svc.settings
    return RetryPolicy(max_attempts=max(1, s.recon_send_attempts),
                       first_delay=timedelta(seconds=max(s.recon_retry_first_s, 0.001)), max_delay=timedelta(hours=1))


def send_pending(svc: Services) -> dict[str, int]:
    """The job: send every due source series to the reconstruction system (outbox kind recon_send)."""
    report = outbox.drain(svc, KIND, lambda item: _send(svc, item), owner=f"recon-{os.getpid()}",
                          policy=policy(svc), lease=timedelta(minutes=10), batch=2, max_items=10)
    return {"done": len(report.done), "retried": len(report.retried), "dead": len(report.dead)}


def _start(svc: Services, request_id: int, attempt: int) -> tuple[ReconRequest, str] | None:
    """Mark the request 发送中 (None: nothing to send, e.g. undone meanwhile)."""
    with transaction(svc) as tx:
        req = tx.session.get(ReconRequest, request_id, with_for_update=True)
        if req is None or ReconState(req.state) not in (ReconState.PENDING, ReconState.SENDING):
            return None
        exam = timeline.load_exam(tx, req.exam_id, lock=False)
        if ExamStatus(exam.status) in NO_REPORT_EXPECTED:
            move_request(tx, req, ReconTrigger.FAIL)
            req.reason = "检查已取消或中断，未发送"
            return None
        move_request(tx, req, ReconTrigger.SEND)
        req.attempts, req.sent = attempt, 0
        tx.session.flush()
        tx.session.expunge(req)
        return req, exam.accession


def _progress(svc: Services, request_id: int, sent: int) -> None:
    with transaction(svc) as tx:
        req = tx.session.get(ReconRequest, request_id, with_for_update=True)
        if req is not None and req.state == ReconState.SENDING.value:
            req.sent, req.updated_at = sent, tx.now


def _after_failure(svc: Services, request_id: int, attempt: int, error: str, *, final: bool) -> None:
    last = final or policy(svc).exhausted(attempt)
    with transaction(svc) as tx:
        req = tx.session.get(ReconRequest, request_id, with_for_update=True)
        if req is None or req.state != ReconState.SENDING.value:
            return
        if last:
            move_request(tx, req, ReconTrigger.FAIL)
            req.reason = f"发送失败（已尝试 {attempt} 次）：{error}"
            exam = timeline.load_exam(tx, req.exam_id, lock=False)
            timeline.append(tx, exam, TimelineKind.RECON_FAILED, SYSTEM, reason=req.reason[:500])
        else:
            move_request(tx, req, ReconTrigger.RETRY)
            req.reason = f"第 {attempt} 次发送失败，将自动重试：{error}"


def _sent(svc: Services, request_id: int, count: int) -> None:
    with transaction(svc) as tx:
        req = tx.session.get(ReconRequest, request_id, with_for_update=True)
        if req is None or req.state != ReconState.SENDING.value:
            return
        move_request(tx, req, ReconTrigger.SENT)
        req.sent, req.reason, req.sent_at = count, "", tx.now
        req.deadline_at = tx.now + timedelta(seconds=svc.settings.recon_deadline_s)
        exam = timeline.load_exam(tx, req.exam_id, lock=False)
        timeline.append(tx, exam, TimelineKind.RECON_SENT, SYSTEM, series_uid=req.source_series_uid,
                        instances=count, peer=req.peer_ae)


def relabelled(data: bytes, *, study_uid: str, accession: str, at: datetime | None = None) -> Dataset:
    """A source instance as sent: the exam's Study Instance UID and accession, and (`at`, local time) its study
    date and time, so the results (which copy them) are not dated as the prior; everything else as archived."""
    ds = dcmread(BytesIO(data))
    ds.StudyInstanceUID, ds.AccessionNumber = study_uid, accession
    if at is not None:
        ds.StudyDate, ds.StudyTime = at.strftime("%Y%m%d"), at.strftime("%H%M%S")
    return ds


def _send(svc: Services, item: outbox.OutboxItem) -> dict[str, Any] | None:
    request_id = int(item.payload["request_id"])
    started = _start(svc, request_id, item.attempts)
    if started is None:
        return {"skipped": True}
    req, accession = started
    try:
        count = store_series(svc, req, accession, progress=lambda n: _progress(svc, request_id, n))
    except GiveUp as exc:
        _after_failure(svc, request_id, item.attempts, str(exc), final=True)
        raise
    except Exception as exc:
        _after_failure(svc, request_id, item.attempts, f"{type(exc).__name__}: {exc}", final=False)
        raise
    return {"instances": count}


def _note(svc: Services, request_id: int, reason: str) -> None:
    with transaction(svc) as tx:
        req = tx.session.get(ReconRequest, request_id, with_for_update=True)
        if req is not None and req.state == ReconState.SENDING.value:
            req.reason, req.updated_at = reason, tx.now


def fetch_source(svc: Services, req: ReconRequest) -> int:
    """C-GET the source series from the remote archive of priors into our archive (the request says
    调取中 meanwhile). Returns the number of instances received; 0 when no remote archive is configured;
    ConnectionError (the job retries) when the archive cannot deliver it."""
    try:
        target = prior_archive(svc)
    except NotFound as exc:
        raise ConnectionError(f"从远程影像库调取源序列失败：{exc.message}") from exc
    if target is None:
        return 0
    _note(svc, req.id, f"调取中：正从远程影像库 {target.ae_title} 调取源序列（{req.total} 幅）")
    s = svc.settings

    def store(header: InstanceHeader, data: bytes) -> None:
        archive.store_instance(svc, header, data, received_from=target.ae_title)

    try:
        return remote_qr.get_series(target, calling_ae=s.dicom_ae_title, timeout=s.dicom_timeout_s,
                                    deadline_s=min(max(s.dicom_timeout_s, float(req.total)), FETCH_LIMIT_S),
                                    study_uid=req.source_study_uid, series_uid=req.source_series_uid, store=store)
    except remote_qr.RemoteError as exc:
        raise ConnectionError(f"从远程影像库调取源序列失败：{exc}") from exc


def store_series(svc: Services, req: ReconRequest, accession: str, *, progress: Callable[[int], None]) -> int:
    """C-STORE the source series, re-labelled, to the peer over one association; the request is marked
    已发送 before the release (the release starts the peer's work, and its results may come back at once).
    A source not (wholly) in the archive is first fetched from the remote archive of priors."""
    peer = nodes.node(svc, req.peer_ae)
    found = index.instances_of(svc, series_uid=req.source_series_uid)
    if len(found) < req.total and fetch_source(svc, req):
        found = index.instances_of(svc, series_uid=req.source_series_uid)
    if not found:
        raise GiveUp("源序列已不在影像库中")
    ae = AE(svc.settings.dicom_ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = svc.settings.dicom_timeout_s
    for sop, syntax in sorted({(i.sop_class_uid, i.transfer_syntax) for i in found}):
        ae.add_requested_context(sop, [syntax])
    assoc = ae.associate(peer.host, peer.port, ae_title=peer.ae_title, evt_handlers=[(evt.EVT_CONN_OPEN, nodelay)])
    if not assoc.is_established:
        raise ConnectionError(f"{peer.ae_title}@{peer.host}:{peer.port} 拒绝或无法建立关联")
    released = False
    try:
        for n, info in enumerate(found, start=1):
            ds = relabelled(archive.read_instance(svc, info.sop_instance_uid), study_uid=req.target_study_uid,
                            accession=accession, at=req.linked_at.astimezone(svc.tz))
            status = assoc.send_c_store(ds)
            code = int(status.Status) if status else -1
            if code not in SUCCESS_STATUSES:
                raise ConnectionError(f"{peer.ae_title} 拒收第 {n} 幅图像（状态 0x{code & 0xFFFF:04X}）"
                                      if code >= 0 else f"{peer.ae_title} 未应答第 {n} 幅图像")
            if n % PROGRESS_EVERY == 0:
                progress(n)
        _sent(svc, req.id, len(found))
        assoc.release()
        released = True
    finally:
        if not released:
            assoc.abort()
    return len(found)


__all__ = ["fetch_source", "policy", "relabelled", "send_pending", "store_series"]
