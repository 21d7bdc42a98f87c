"""On approval, the structured lung-nodule section goes into the exam's study as a DICOM SR (TID 1500).

The SR joins the exam's archived study (the one the archive matched to the exam), so DICOMweb, the viewer's
study list and C-MOVE serve it like any instance; its patient and study attributes come from that study's
images. An exam with no lung-nodule section writes nothing; an exam with no archived images cannot be
referenced and writes nothing either (logged). Writing runs after the approval has committed and never undoes
it: when it fails (the image store down, say), the write is queued in the outbox (`lung_sr`, one row per
approved version) and the `lung_sr` job tries again with back-off until it is stored.
"""

from __future__ import annotations

import logging
from io import BytesIO
from typing import Any

from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian

from backend.dicom import sr as dicom_sr
from backend.dicom.tags import header_of
from backend.domain import lung_nodule_section
from backend.domain.report_sections import kind_of
from backend.services import outbox, timeline
from backend.services.base import Services, transaction
from backend.services.imaging import archive, index
from backend.services.reporting.queries import load_report, template_for, user_names, versions_of

logger = logging.getLogger(__name__)
SENDER = "RADOPS-SR"
MAX_EVIDENCE_SERIES = 20
KIND = "lung_sr"  # the outbox kind of an SR write that failed after approval


def write_after_approval(svc: Services, exam_id: int, version: int) -> str | None:
    """Write the SR now; when that fails, queue it for the `lung_sr` job (the approval stands either way)."""
    try:
        return write_for_exam(svc, exam_id)
    except Exception:
        logger.exception("lung-nodule SR not written for exam %s; queued for another try", exam_id)
    with transaction(svc) as tx:
        outbox.enqueue(tx, kind=KIND, target="archive", key=f"{KIND}:{exam_id}:{version}",
                       payload={"exam_id": exam_id, "version": version})
    return None


def _key_images(svc: Services, value: dict[str, Any], patient_id: str) -> list[Any]:
    """The headers of the doctor's key images that are archived images of this patient (others are left out,
    as the printed report leaves them out)."""
    out = []
    for key in value.get("key_images") or []:
        found = index.instances_of(svc, study_uid=str(key["study_uid"]), series_uid=str(key["series_uid"]),
                                   sop_instance_uids=[str(key["sop_uid"])])
        studies = index.find_studies(svc, study_uid=str(key["study_uid"]), limit=1) if found else []
        if not studies or studies[0].patient_id != patient_id:
            logger.info("key image %s left out of the SR: not an archived image of the patient", key["sop_uid"])
            continue
        out.append(dcmread(BytesIO(archive.read_instance(svc, found[0].sop_instance_uid)), stop_before_pixels=True))
    return out


def retry_failed(svc: Services) -> dict[str, int] | None:
    """The job: write the SRs whose first write failed (the newest approved version of each exam)."""
    from backend.services.health import this_instance

    def write(item: outbox.OutboxItem) -> dict[str, Any]:
        return {"sop_instance_uid": write_for_exam(svc, int(item.payload["exam_id"]))}

    report = outbox.drain(svc, KIND, write, f"lung_sr:{this_instance()}")
    if not report.handled:
        return None
    return {"written": len(report.done), "retried": len(report.retried), "dead": len(report.dead)}


def write_for_exam(svc: Services, exam_id: int) -> str | None:
    """Store the SR of the exam's newest approved lung-nodule section; its SOP Instance UID, or None."""
    with transaction(svc, readonly=True) as tx:
        exam = timeline.load_exam(tx, exam_id)
        report = load_report(tx, exam.id, required=True)
        assert report is not None
        approved = [v for v in versions_of(tx, report) if v.approved_at is not None]
        if not approved:
            return None
        version = approved[-1]
        template = template_for(tx, exam, report.template_code).sections
        keys = [s["key"] for s in template if kind_of(s).name == lung_nodule_section.KIND]
        value = next((version.sections.get(k) for k in keys if version.sections.get(k)), None)
        names = user_names(tx, {version.author_id, version.approved_by})
        author, approver = names.get(version.author_id or 0, ""), names.get(version.approved_by or 0, "")
        at = version.approved_at
    if not isinstance(value, dict) or "suggested" not in value:
        return None
    studies = index.find_studies(svc, exam_id=exam_id, limit=1)
    if not studies:
        logger.warning("lung-nodule SR not written for exam %s: no archived images to reference", exam_id)
        return None
    study_uid = studies[0].study_uid
    evidence = []
    for series in index.series_of(svc, study_uid)[:MAX_EVIDENCE_SERIES]:
        if series.modality == "SR":
            continue
        first = index.instances_of(svc, study_uid=study_uid, series_uid=series.series_uid)[:1]
        for inst in first:
            evidence.append(dcmread(BytesIO(archive.read_instance(svc, inst.sop_instance_uid)),
                                    stop_before_pixels=True))
    if not evidence:
        logger.warning("lung-nodule SR not written for exam %s: its study has no images", exam_id)
        return None
    ds = dicom_sr.lung_nodule_sr(evidence, value, author=author, approver=approver,
                                 institution=svc.settings.hospital_name, department=svc.settings.department_name,
                                 at=(at or svc.clock()).astimezone(svc.tz),
                                 key_images=_key_images(svc, value, studies[0].patient_id))
    data = dicom_sr.encode(ds)
    archive.store_instance(svc, header_of(ds, transfer_syntax=ExplicitVRLittleEndian), data, received_from=SENDER)
    logger.info("lung-nodule SR %s stored in study %s for exam %s", ds.SOPInstanceUID, study_uid, exam_id)
    return str(ds.SOPInstanceUID)
