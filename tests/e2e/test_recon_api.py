"""The reconstruction-source API (LN-4..LN-6) through the Flask test client: the prior list, the link that
starts the exam, refusals with Chinese reasons that change nothing, undo before sending, roles."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from backend.db.models import ExamEvent, ReconRequest
from backend.domain.actor import SYSTEM
from backend.services.base import transaction
from backend.services.imaging import archive
from tests.imaging_helpers import ct_slice, file_bytes, header


def _prior(app: Any, mrn: str, *, slices: int = 4) -> tuple[str, str]:
    svc = app.extensions["radops"]
    study, series = None, None
    for n in range(1, slices + 1):
        ds = ct_slice(study_uid=study, series_uid=series, patient_id=mrn, study_date="20250301", number=n)
        ds.SliceThickness, ds.ConvolutionKernel = 1.0, "LUNG"
        study, series = str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID)
        archive.store_instance(svc, header(ds), file_bytes(ds), received_from="CT01")
    assert study is not None
    assert series is not None
    return study, series


def _register(client: Any, mrn: str, item: str = "CT-LN-TR") -> str:
    r = client.post("/api/exams", json={"patient": {"mrn": mrn, "name": "测试患者", "sex": "M"}, "item_code": item})
    assert r.status_code == 201, r.get_data(as_text=True)
    return str(r.get_json()["accession"])


def _counts(app: Any) -> tuple[int, int]:
    with transaction(app.extensions["radops"], readonly=True) as tx:
        return (tx.session.scalar(select(func.count()).select_from(ReconRequest)) or 0,
                tx.session.scalar(select(func.count()).select_from(ExamEvent)) or 0)


def test_prior_list_link_refusals_and_undo(app: Any, client: Any, auth_actions: Any) -> None:
    auth_actions.login("clerk")
    accession = _register(client, "LN0000001")
    chest = _register(client, "LN0000001", "DR-CHEST")
    study, series = _prior(app, "LN0000001")
    other_study, _ = _prior(app, "LN0000002", slices=3)
    assert client.get(f"/api/exams/{accession}/priors").status_code == 403  # a clerk may not
    auth_actions.logout()

    auth_actions.login("tech")
    r = client.get(f"/api/exams/{accession}/priors")
    assert r.status_code == 200
    (prior,) = r.get_json()["priors"]
    assert prior["study_uid"] == study
    assert (prior["series_count"], prior["image_count"], prior["default_series"]) == (1, 4, series)
    assert client.get(f"/api/exams/{chest}/priors").get_json()["error"]["code"] == "recon_not_applicable"

    before = _counts(app)
    for uid, code in ((other_study, "recon_other_patient"), ("1.2.3.999", "recon_prior_not_found")):
        r = client.post(f"/api/exams/{accession}/recon-source", json={"study_uid": uid})
        assert r.status_code in (400, 404), r.get_data(as_text=True)
        assert r.get_json()["error"]["code"] == code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r.get_json()["error"]["message"])
    assert _counts(app) == before

    r = client.post(f"/api/exams/{accession}/recon-source", json={"study_uid": study})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.get_json()["state_label"] == "待发送"
    assert client.get(f"/api/exams/{accession}/recon-source").get_json()["link"]["source_series_uid"] == series
    exam = client.get(f"/api/exams?accession={accession}").get_json()["items"][0]
    assert exam["status"] == "in_progress"
    assert exam["recon"]["label"] == "待发送"
    twice = client.post(f"/api/exams/{accession}/recon-source", json={"study_uid": study, "series_uid": series})
    assert twice.get_json()["error"]["code"] == "recon_already_linked"

    r = client.delete(f"/api/exams/{accession}/recon-source", json={})
    assert r.status_code == 200
    assert r.get_json()["state"] == "undone"
    assert r.get_json()["exam_status"] == "registered"  # the link alone had started it: back to 已登记
    assert client.get(f"/api/exams?accession={accession}").get_json()["items"][0]["status"] == "registered"
    assert client.get(f"/api/exams/{accession}/recon-source").get_json()["link"] is None
    again = client.delete(f"/api/exams/{accession}/recon-source", json={})
    assert again.get_json()["error"]["code"] == "recon_not_linked"


def test_the_demo_seed_registers_a_reconstruction_exam_for_a_chest_ct_patient(app: Any) -> None:
    from datetime import date

    from backend.dicom.synthetic import DemoPatient, PatientKey, StudyKey
    from backend.seed.images import recon_demo_exam
    from backend.services.orders import exam_list
    from tests.conftest import FIXED_NOW

    svc = app.extensions["radops"]
    key = PatientKey("DEMO0001", "演示患者", "M", date(1960, 1, 1))
    dx = DemoPatient(key, "dx", StudyKey("ACC1", FIXED_NOW))  # type: ignore[arg-type]
    assert recon_demo_exam(svc, [dx]) is None
    chest = DemoPatient(key, "chest_ct", StudyKey("ACC2", FIXED_NOW))  # type: ignore[arg-type]
    accession = recon_demo_exam(svc, [dx, chest])
    assert accession is not None
    row = exam_list.get_exam(svc, by=SYSTEM, accession=accession)
    assert (row["item_code"], row["status"], row["patient"]["mrn"]) == ("CT-LN-TR", "registered", "DEMO0001")
