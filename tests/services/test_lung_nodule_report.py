"""The structured lung-nodule report (LN-9) through the reporting core: draft, refusals, approve, PDF."""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import replace
from typing import Any

import pytest
from pypdf import PdfReader

from backend.dicom.storage import FileImageStore
from backend.domain.errors import InvalidInput
from backend.seed.reference import LUNG_NODULE_ITEM
from backend.services import settings_store
from backend.services.reporting import lung_rads
from backend.services.reporting import pdf as report_pdf
from backend.services.reporting import reports as reporting
from tests.conftest import ROOT
from tests.reporting_helpers import exam_at

SCREENSHOTS = ROOT / "var" / "screenshots"


def lung_value(**extra: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "system": "lung-rads-v2022", "exam": "baseline", "prior_available": True,
        "nodules": [
            {"lobe": "RUL", "segment": "尖段", "series": 3, "image": 45, "type": "solid", "long_mm": 9.0,
             "short_mm": 7.2, "volume_mm3": 301.6},
            {"lobe": "LLL", "segment": "后基底段", "series": 3, "image": 188, "type": "part_solid", "long_mm": 14.0,
             "short_mm": 10.0, "solid_long_mm": 5.0, "solid_short_mm": 4.0},
        ],
        "other": {"emphysema": "mild", "coronary_calcification": "moderate", "findings": "", "significant": False},
        "override": {"category": None, "reason": ""},
        "suggested": {"category": "1"},  # never trusted: computed again on save
    }
    value.update(extra)
    return value


def test_the_lung_nodule_item_uses_the_structured_template(svc, actors):
    exam = exam_at(svc, actors, "completed", item=LUNG_NODULE_ITEM)
    view = reporting.get(svc, exam["exam_id"], by=actors["doctor"])
    kinds = [s.get("kind", "text") for s in view["template"]["sections"]]
    assert kinds == ["text", "lung_nodules", "text"]


def test_save_computes_the_category_refuses_bad_input_and_prints_the_table(svc, actors, tmp_path):
    exam = exam_at(svc, actors, "completed", item=LUNG_NODULE_ITEM, name="王建国")
    eid = exam["exam_id"]
    doctor = actors["doctor"]
    saved = reporting.save_draft(svc, eid, sections={"impression": "左肺下叶部分实性结节。",
                                                     "lung_nodules": lung_value()}, by=doctor)
    section = saved["sections"]["lung_nodules"]
    assert section["suggested"]["category"] == "4A"
    assert section["suggested"]["modifiers"] == ["S"]  # moderate coronary calcification
    assert [n["category"] for n in section["suggested"]["nodules"]] == ["4A", "3"]
    lock = saved["report"]["lock"]

    bad = lung_value(nodules=[{"type": "solid", "long_mm": 6.0, "short_mm": 8.0}])
    with pytest.raises(InvalidInput, match="短径"):
        reporting.save_draft(svc, eid, sections={"lung_nodules": bad}, by=doctor, expected_lock=lock)
    with pytest.raises(InvalidInput, match="原因"):
        reporting.save_draft(svc, eid, sections={"lung_nodules": lung_value(override={"category": "4B"})},
                             by=doctor, expected_lock=lock)
    unchanged = reporting.get(svc, eid, by=doctor)
    assert unchanged["report"]["lock"] == lock
    assert unchanged["sections"]["lung_nodules"]["suggested"]["category"] == "4A"

    saved = reporting.save_draft(svc, eid, sections={"lung_nodules": lung_value(
        override={"category": "4B", "reason": "分叶并胸膜牵拉"})}, by=doctor, expected_lock=lock)
    assert saved["sections"]["lung_nodules"]["override"] == {"category": "4B", "reason": "分叶并胸膜牵拉"}
    reporting.submit(svc, eid, by=doctor, expected_lock=saved["report"]["lock"])
    reporting.approve(svc, eid, by=actors["senior"])

    pdf = report_pdf.print_report(svc, eid, by=doctor)
    path = tmp_path / "lung.pdf"
    path.write_bytes(pdf)
    text = "".join(page.extract_text() for page in PdfReader(path).pages)
    flat = text.replace("\n", "").replace(" ", "")
    for words in ("右肺上叶尖段", "3/45", "9.0×7.2", "8.1", "部分实性", "4.5", "302", "结论分类：4BS",
                  "系统建议4AS", "分叶并胸膜牵拉", "诊断性胸部CT", "Lung-RADSv2022(ACR)",
                  "冠状动脉钙化：中度"):
        assert words in flat, words
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, timeout=60).stdout.decode()
    assert "STSong-Light" not in fonts
    faces = [line for line in fonts.splitlines()[2:] if "RadOps" in line]
    assert faces, fonts
    assert all(" yes " in line for line in faces), fonts  # the Chinese faces are embedded
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        subprocess.run([pdftoppm, "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile", str(path),
                        str(SCREENSHOTS / "report-pdf-lung-nodules")], check=True, timeout=60)


def test_c_lung_rads_section_prints_its_system(svc, actors):
    exam = exam_at(svc, actors, "completed", item=LUNG_NODULE_ITEM)
    saved = reporting.save_draft(svc, exam["exam_id"], sections={"lung_nodules": lung_value(system="c-lung-rads")},
                                 by=actors["doctor"])
    section = saved["sections"]["lung_nodules"]
    assert (section["suggested"]["category"], section["suggested"]["modifiers"]) == ("2", [])


def test_an_empty_section_cannot_be_submitted(svc, actors):
    exam = exam_at(svc, actors, "completed", item=LUNG_NODULE_ITEM)
    saved = reporting.save_draft(svc, exam["exam_id"], sections={"impression": "未见异常。",
                                                                 "lung_nodules": lung_value(nodules=[])},
                                 by=actors["doctor"])
    with pytest.raises(InvalidInput, match="肺结节"):
        reporting.submit(svc, exam["exam_id"], by=actors["doctor"], expected_lock=saved["report"]["lock"])
    saved = reporting.save_draft(svc, exam["exam_id"], sections={"lung_nodules": lung_value(
        nodules=[], no_nodules=True)}, by=actors["doctor"], expected_lock=saved["report"]["lock"])
    assert saved["sections"]["lung_nodules"]["suggested"]["category"] == "1"
    reporting.submit(svc, exam["exam_id"], by=actors["doctor"], expected_lock=saved["report"]["lock"])


def test_the_default_system_is_the_setting(svc, actors):
    assert lung_rads.default_system(svc).value == "lung-rads-v2022"
    settings_store.put(svc, "lung_rads.system", "c-lung-rads", by=actors["admin"])
    assert lung_rads.default_system(svc).value == "c-lung-rads"
    settings_store.put(svc, "lung_rads.system", "fleischner", by=actors["admin"])  # a typo never breaks reports
    assert lung_rads.default_system(svc).value == "lung-rads-v2022"


def test_approval_writes_a_tid_1500_sr_into_the_exams_study(svc, actors):
    from io import BytesIO

    import highdicom as hd
    from pydicom import dcmread

    from backend.services.imaging import archive, index
    from tests.imaging_helpers import ct_slice, file_bytes, header

    exam = exam_at(svc, actors, "completed", item=LUNG_NODULE_ITEM)
    ct = ct_slice(accession=exam["accession"], patient_id="P-LN-1")
    assert archive.store_instance(svc, header(ct), file_bytes(ct), received_from="CT01").exam_id == exam["exam_id"]
    stranger = ct_slice(accession="OTHER-2", patient_id="P-OTHER-2")  # someone else's image: never referenced
    archive.store_instance(svc, header(stranger), file_bytes(stranger), received_from="CT01")
    keys = [{"study_uid": d.StudyInstanceUID, "series_uid": d.SeriesInstanceUID, "sop_uid": d.SOPInstanceUID,
             "frame": 1, "window": [-600, 1500], "series": 3, "image": 45} for d in (ct, stranger)]
    saved = reporting.save_draft(svc, exam["exam_id"], sections={"impression": "见上。", "lung_nodules": lung_value(
        override={"category": "4B", "reason": "分叶"}, key_images=keys)}, by=actors["doctor"])
    reporting.submit(svc, exam["exam_id"], by=actors["doctor"], expected_lock=saved["report"]["lock"])
    reporting.approve(svc, exam["exam_id"], by=actors["senior"])

    srs = [s for s in index.series_of(svc, ct.StudyInstanceUID) if s.modality == "SR"]
    assert len(srs) == 1
    inst = index.instances_of(svc, study_uid=ct.StudyInstanceUID, series_uid=srs[0].series_uid)
    ds = dcmread(BytesIO(archive.read_instance(svc, inst[0].sop_instance_uid)))
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR
    assert (ds.AccessionNumber, ds.PatientID) == (exam["accession"], "P-LN-1")
    assert (ds.CompletionFlag, ds.VerificationFlag) == ("COMPLETE", "VERIFIED")
    assert ds.CurrentRequestedProcedureEvidenceSequence[0].StudyInstanceUID == ct.StudyInstanceUID
    texts = str(hd.sr.ComprehensiveSR.from_dataset(ds).ContentSequence)
    for meaning in ("Long axis", "Short axis", "Diameter", "Volume", "Lung-RADS 4A", "Lung-RADS 3", "Lung-RADS 4BS",
                    "Part-solid", "Nodule 1 RUL"):
        assert meaning in texts, meaning
    assert "8.1" in texts
    content = str(ds.ContentSequence)
    assert content.count("Source of Measurement") == 1  # (DCM 121112) in the exam's group
    assert ct.SOPInstanceUID in content  # the key image ...
    assert stranger.SOPInstanceUID not in content  # ... and not the other patient's
    evidence = [i.ReferencedSOPInstanceUID for s in ds.CurrentRequestedProcedureEvidenceSequence
                for se in s.ReferencedSeriesSequence for i in se.ReferencedSOPSequence]
    assert ct.SOPInstanceUID in evidence


class StoreDownOnce(FileImageStore):
    """The image store refusing its next `failures` writes (a full disk, an object store down)."""

    def __init__(self, root: Any, failures: int) -> None:
        super().__init__(root)
        self.failures = failures

    def stage(self, key: str, data: bytes) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("image store unavailable")
        super().stage(key, data)


def test_an_sr_write_that_fails_after_approval_is_queued_and_written_by_the_job(
        settings, session_factory, clock, notifier, ports, actors):
    from backend.bootstrap import build_services
    from backend.domain.outbox import OutboxState
    from backend.services import outbox
    from backend.services.imaging import archive, index
    from backend.services.reporting import structured_sr
    from tests.imaging_helpers import ct_slice, file_bytes, header

    store = StoreDownOnce(settings.var_dir / "dicom", failures=0)
    svc = build_services(settings, clock=clock, notifier=notifier, session_factory=session_factory,
                         ports=replace(ports, images=store))
    exam = exam_at(svc, actors, "completed", item=LUNG_NODULE_ITEM)
    ct = ct_slice(accession=exam["accession"], patient_id="P-LN-2")
    archive.store_instance(svc, header(ct), file_bytes(ct), received_from="CT01")
    saved = reporting.save_draft(svc, exam["exam_id"], sections={"impression": "见上。", "lung_nodules": lung_value()},
                                 by=actors["doctor"])
    reporting.submit(svc, exam["exam_id"], by=actors["doctor"], expected_lock=saved["report"]["lock"])
    store.failures = 2  # the store is down at approval and at the job's first try
    approved = reporting.approve(svc, exam["exam_id"], by=actors["senior"])
    assert approved["report"]["status"] == "approved"  # the approval stands

    def srs() -> list[Any]:
        return [s for s in index.series_of(svc, ct.StudyInstanceUID) if s.modality == "SR"]

    assert srs() == []
    (item,) = outbox.list_items(svc, kind=structured_sr.KIND, by=actors["admin"])
    assert item["key"] == f"lung_sr:{exam['exam_id']}:1"
    assert structured_sr.retry_failed(svc) == {"written": 0, "retried": 1, "dead": 0}  # still down: back-off
    assert structured_sr.retry_failed(svc) is None  # not due yet
    clock.advance(minutes=10)
    assert structured_sr.retry_failed(svc) == {"written": 1, "retried": 0, "dead": 0}
    assert len(srs()) == 1
    (item,) = outbox.list_items(svc, kind=structured_sr.KIND, by=actors["admin"])
    assert item["state"] == OutboxState.DONE.value


def _image_count(pdf: bytes) -> int:
    count = 0
    for page in PdfReader(io.BytesIO(pdf)).pages:
        xobjects = page["/Resources"].get_object().get("/XObject") or {}
        count += sum(1 for ref in xobjects.values() if ref.get_object()["/Subtype"] == "/Image")
    return count


def test_the_pdf_prints_the_marked_key_images_with_their_numbers(svc, actors, tmp_path):
    from backend.services.imaging import archive
    from tests.imaging_helpers import ct_slice, file_bytes, header

    exam = exam_at(svc, actors, "completed", item=LUNG_NODULE_ITEM)
    slices = [ct_slice(accession=exam["accession"], patient_id="P-KEY", number=n, size=64, fill=200 * n,
                       study_uid="1.2.826.0.1.77.1", series_uid="1.2.826.0.1.77.1.3", sop_uid=f"1.2.826.0.1.77.1.3.{n}")
              for n in (1, 2)]
    stranger = ct_slice(accession="OTHER-1", patient_id="P-OTHER", size=64, study_uid="1.2.826.0.1.78.1",
                        series_uid="1.2.826.0.1.78.1.1", sop_uid="1.2.826.0.1.78.1.1.1")
    for ds in (*slices, stranger):
        archive.store_instance(svc, header(ds), file_bytes(ds), received_from="CT01")

    def key(ds: Any, image: int, window: list[float] | None = None) -> dict[str, Any]:
        return {"study_uid": ds.StudyInstanceUID, "series_uid": ds.SeriesInstanceUID, "sop_uid": ds.SOPInstanceUID,
                "frame": 1, "window": window, "series": 3, "image": image}

    keys = [key(slices[0], 45, [-600, 1500]), key(slices[1], 188), key(slices[1], 188), key(stranger, 7)]
    saved = reporting.save_draft(svc, exam["exam_id"], sections={"impression": "见上。", "lung_nodules": lung_value(
        key_images=keys)}, by=actors["doctor"])
    kept = saved["sections"]["lung_nodules"]["key_images"]
    assert [(k["image"], k["window"]) for k in kept] == [(45, [-600.0, 1500.0]), (188, None), (7, None)]  # dup gone
    reporting.submit(svc, exam["exam_id"], by=actors["doctor"], expected_lock=saved["report"]["lock"])
    reporting.approve(svc, exam["exam_id"], by=actors["senior"])

    pdf = report_pdf.print_report(svc, exam["exam_id"], by=actors["doctor"])
    assert _image_count(pdf) == 2  # the other patient's image is never printed
    flat = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\n", "").replace(" ", "")
    for words in ("关键图像：", "序列3/图像45", "序列3/图像188", "序列3/图像7（图像不在本患者的影像中）"):
        assert words in flat, words
    path = tmp_path / "keys.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, timeout=60).stdout.decode()
    faces = [line for line in fonts.splitlines()[2:] if "RadOps" in line]
    assert faces, fonts
    assert all(" yes " in line for line in faces), fonts
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        subprocess.run([pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(path),
                        str(SCREENSHOTS / "report-pdf-key-images")], check=True, timeout=60)


@pytest.mark.parametrize(("keys", "code"), [
    ([{"study_uid": "1.2", "series_uid": "1.2.3", "sop_uid": "x'; drop"}], "invalid_key_image"),
    ([{"study_uid": "1.2", "series_uid": "1.2.3", "sop_uid": "1.2.3.4", "window": [40, 0]}], "invalid_key_image"),
    ([{"study_uid": "1.2", "series_uid": "1.2.3", "sop_uid": f"1.2.3.{n}"} for n in range(9)], "too_many_key_images"),
    ("1.2.3", "invalid_key_image"),
])
def test_bad_key_images_are_refused(svc, actors, keys, code):
    exam = exam_at(svc, actors, "completed", item=LUNG_NODULE_ITEM)
    with pytest.raises(InvalidInput) as err:
        reporting.save_draft(svc, exam["exam_id"], sections={"lung_nodules": lung_value(key_images=keys)},
                             by=actors["doctor"])
    assert err.value.code == code
