"""Scheduled jobs: the one list of what runs periodically, and the scheduler that runs it.

Each job is a use case of `backend.services` that is idempotent (another scheduler may run it too); the
scheduler is started by an entrypoint (the embedded run or `python -m backend scheduler`), never by
`create_app`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from backend.domain import health as health_rules
from backend.services.base import Services

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    """A periodic job: its name (in logs and the scheduler), its period and the use case it runs."""

    name: str
    every_seconds: int
    run: Callable[[Services], Any]


def scheduled_jobs() -> tuple[Job, ...]:
    """Every periodic job, in one list."""
    from backend.domain.actor import SYSTEM
    from backend.services import audit, health
    from backend.services.cadre_health import roster as cadre_roster
    from backend.services.cadre_health import upload as cadre_upload
    from backend.services.data_api import access as data_api_access
    from backend.services.health_cloud import ledger as cloud_ledger
    from backend.services.health_cloud import old_links as cloud_old_links
    from backend.services.health_cloud import upload as cloud_upload
    from backend.services.health_cloud import watched as cloud_watched
    from backend.services.imaging import received as imaging_received
    from backend.services.imaging import recon_results as imaging_recon_results
    from backend.services.imaging import recon_send as imaging_recon_send
    from backend.services.patient_flow import shift_sessions, triage
    from backend.services.reporting import er_reminders, hc_results, structured_sr

    return (
        # The queued read-audit rows of this process (backend/services/audit.py).
        Job("audit_reads", 5, audit.flush_reads),
        # The data API's counted calls of this process (backend/services/data_api/access.py).
        Job("data_api_usage", 5, data_api_access.flush_usage),
        # Emergency-report reminders and escalations (ER-1); unique rows make it idempotent.
        Job("er_reminders", 30, er_reminders.scan),
        # Fill open ultrasound rooms from the pool: the safety net for a check-in that committed to the pool
        # while a shift session was opening in another transaction.
        Job("triage_pull", 30, lambda svc: triage.pull_all(svc, by=SYSTEM)),
        # Approved health-check reports back to the center as ORU^R01 through the outbox (issue 14.13).
        Job("health_check_results", 15, hc_results.send_results),
        # Series complete and studies received after RADOPS_DICOM_STUDY_QUIET_S quiet seconds (issue 10 item 4).
        Job("imaging_received", 10, imaging_received.mark_received),
        # Ultrasound shift sessions end at their window's end + grace or the day change (issue 15 item 9).
        Job("shift_expiry", 60, lambda svc: shift_sessions.end_expired(svc, by=SYSTEM)),
        # The cadre-health roster, refreshed when its period (setting cadre.roster_refresh_min) has passed (CD-1).
        Job("cadre_roster", 60, cadre_roster.refresh),
        # Covered patients' images and approved reports to the cadre-health system through the outbox (CD-3, CD-4).
        Job("cadre_uploads", 15, cadre_upload.send_due),
        # The provincial health cloud (HC-1..HC-9): received studies onto the ledger, registration, file uploads
        # through the outbox (parallel, bandwidth-limited, in the night window if set), the cloud's window.
        Job("cloud_candidates", 30, cloud_ledger.find_candidates),
        Job("cloud_register", 15, lambda svc: cloud_upload.register_studies(svc)),
        Job("cloud_upload", 15, lambda svc: cloud_upload.upload_files(svc)),
        Job("cloud_expiry", 600, cloud_ledger.expire),
        Job("cloud_reconcile", 3600, cloud_old_links.reconcile_job),
        Job("cloud_watched_folders", 20, cloud_watched.scan),
        # Lung-nodule SRs whose write failed right after approval, again with back-off (LN-9).
        Job("lung_sr", 60, structured_sr.retry_failed),
        # The scheduler's heartbeat for /api/health: written by a job, so it stops when jobs stop running.
        Job("heartbeat", health_rules.BEAT_SECONDS, health.scheduler_beat),
        # Lung-nodule reconstruction (LN-7): send linked source series to RECON through the outbox (retries
        # with back-off), and flag 重建超时 on requests whose results are late (RADOPS_RECON_DEADLINE_S).
        Job("recon_send", 5, imaging_recon_send.send_pending),
        Job("recon_deadline", 30, imaging_recon_results.check_deadlines),
    )


def build_scheduler(svc: Services, jobs: tuple[Job, ...] | None = None) -> BackgroundScheduler:
    """A scheduler with every job; started only by an entrypoint, never by create_app."""
    from backend import log_noise

    log_noise.quiet_scheduler()  # two INFO lines per run, every few seconds, drowned the log (issue 14.11)
    scheduler = BackgroundScheduler(timezone="UTC")
    for job in jobs if jobs is not None else scheduled_jobs():
        scheduler.add_job(_guarded(job), "interval", args=[svc], seconds=job.every_seconds, id=job.name,
                          name=job.name, max_instances=1, coalesce=True, replace_existing=True)
    return scheduler


def _guarded(job: Job) -> Callable[[Services], None]:
    def run(svc: Services) -> None:
        try:
            done = job.run(svc)
        except Exception:  # a failing job must not kill the scheduler thread
            logger.exception("job %s failed", job.name)
            return
        # What this process did (another scheduler logs its own share); routine, so DEBUG. A pass with nothing
        # to do says so too, so that a DEBUG log shows which process runs the jobs (tests/integration/test_layout).
        logger.debug("job %s done in this process: %s", job.name, done if done else "无事可做")

    run.__name__ = run.__qualname__ = job.name
    return run

