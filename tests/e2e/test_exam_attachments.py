"""Attachments of an exam (HC-2, HC-3): POST /api/exams/<accession>/attachments (multipart) converts JPEG,
PNG and PDF into DICOM under the exam's study in the archive (baseline JPEG byte for byte); an unreadable
file is refused with its reason while the others go in; the study then becomes a cloud candidate."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pydicom
from PIL import Image
from reportlab.pdfgen import canvas

from backend.services import auth
from backend.services.imaging import archive, index
from tests.helpers import register


def _image(fmt: str) -> bytes:
    buf = BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 20)).save(buf, format=fmt)
    return buf.getvalue()


def _pdf() -> bytes:
    out = BytesIO()
    c = canvas.Canvas(out)
    c.drawString(72, 720, "endoscopy report")
    c.save()
    return out.getvalue()


def test_attachments_become_dicom_of_the_exam_in_the_archive(app: Any, client: Any, actors: Any) -> None:
    svc = app.extensions["radops"]
    exam = register(svc, actors["clerk"], "CT-CHEST", patient_class="emergency")
    key = auth.create_api_key(svc, "超声工作站", ["exam.operate"], by=actors["admin"])
    jpeg = _image("JPEG")
    files = [(BytesIO(jpeg), "us1.jpg"), (BytesIO(_image("PNG")), "us2.png"), (BytesIO(_pdf()), "report.pdf"),
             (BytesIO(b"\xff\xd8\xff\xe0 truncated"), "broken.jpg")]
    r = client.post(f"/api/exams/{exam['accession']}/attachments", data={"file": files},
                    content_type="multipart/form-data", headers={"X-API-Key": key})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    by_name = {x["filename"]: x for x in body["results"]}
    assert by_name["broken.jpg"]["ok"] is False
    assert by_name["broken.jpg"]["reason"]
    assert [by_name[n]["ok"] for n in ("us1.jpg", "us2.png", "report.pdf")] == [True, True, True]
    study = index.get_study(svc, body["study_uid"])
    assert study is not None
    assert study.exam_id == exam["exam_id"]
    assert study.instance_count == 3
    ds = pydicom.dcmread(BytesIO(archive.read_instance(svc, by_name["us1.jpg"]["sop_instance_uid"])))
    assert ds.AccessionNumber == exam["accession"]
    assert str(ds.file_meta.TransferSyntaxUID) == "1.2.840.10008.1.2.4.50"  # JPEG Baseline, not re-encoded
    frame = next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1))
    assert frame.rstrip(b"\x00") == jpeg.rstrip(b"\x00")
    # The same file again is the same instance (stable UIDs), not a copy.
    again = client.post(f"/api/exams/{exam['accession']}/attachments", data={"file": [(BytesIO(jpeg), "us1.jpg")]},
                        content_type="multipart/form-data", headers={"X-API-Key": key})
    assert again.get_json()["results"][0]["sop_instance_uid"] == by_name["us1.jpg"]["sop_instance_uid"]
    assert index.get_study(svc, body["study_uid"]).instance_count == 3  # type: ignore[union-attr]


def test_refusals(app: Any, client: Any, actors: Any) -> None:
    svc = app.extensions["radops"]
    exam = register(svc, actors["clerk"], "CT-CHEST", patient_class="emergency")
    key = auth.create_api_key(svc, "工作站", ["exam.operate"], by=actors["admin"])
    only_bad = client.post(f"/api/exams/{exam['accession']}/attachments",
                           data={"file": [(BytesIO(b"hello"), "a.txt")]}, content_type="multipart/form-data",
                           headers={"X-API-Key": key})
    assert only_bad.status_code == 400
    assert "不支持的文件格式" in only_bad.get_json()["error"]["message"]
    unknown = client.post("/api/exams/NOSUCH/attachments", data={"file": [(BytesIO(_image("PNG")), "a.png")]},
                          content_type="multipart/form-data", headers={"X-API-Key": key})
    assert unknown.status_code == 404
    reader = auth.create_api_key(svc, "只读", ["exam.read"], by=actors["admin"])
    refused = client.post(f"/api/exams/{exam['accession']}/attachments",
                          data={"file": [(BytesIO(_image("PNG")), "a.png")]}, content_type="multipart/form-data",
                          headers={"X-API-Key": reader})
    assert refused.status_code == 403


def test_the_drop_zone_page_archives_dropped_files(app: Any, actors: Any) -> None:
    import base64

    from panels import attachments as page
    from tests.ui.test_admin_pages import ids, signed_in, text

    svc = app.extensions["radops"]
    exam = register(svc, actors["clerk"], "CT-CHEST", patient_class="emergency")
    with signed_in(app, actors["tech"]):
        tree = page.layout(accession=exam["accession"])
        assert "att-drop" in ids(tree)
        png = "data:image/png;base64," + base64.b64encode(_image("PNG")).decode()
        out = page._upload([png, "data:text/plain;base64,aGVsbG8="], ["a.png", "b.txt"], exam["accession"])
    assert "att-table" in ids(out)
    assert "1 个 DICOM 对象已归档" in text(out)
    assert "不支持的文件格式" in text(out)
    with signed_in(app, actors["head"]):
        assert "shell-refusal" in ids(page.layout())


def test_a_watched_folder_per_workstation_archives_and_sorts_dropped_files(app: Any, actors: Any,
                                                                             tmp_path: Any) -> None:
    from backend.services import settings_store
    from backend.services.health_cloud import watched

    svc = app.extensions["radops"]
    exam = register(svc, actors["clerk"], "CT-CHEST", patient_class="emergency")
    folder = tmp_path / "us01"
    (folder / exam["accession"]).mkdir(parents=True)
    (folder / f"{exam['accession']}_1.jpg").write_bytes(_image("JPEG"))
    (folder / exam["accession"] / "page.png").write_bytes(_image("PNG"))
    (folder / "NOSUCH_2.png").write_bytes(_image("PNG"))
    (folder / f"{exam['accession']}_note.txt").write_text("not an image")  # not ours: left alone
    settings_store.put(svc, "health_cloud.watch_folders", {"US01": str(folder)}, by=actors["admin"])
    assert watched.scan(svc, settle_s=0) == {"archived": 2, "refused": 1}
    assert (folder / watched.DONE / f"{exam['accession']}_1.jpg").is_file()
    assert (folder / watched.DONE / exam["accession"] / "page.png").is_file()
    reason = (folder / watched.REFUSED / "NOSUCH_2.png.原因.txt").read_text(encoding="utf-8")
    assert "检查不存在" in reason
    assert (folder / f"{exam['accession']}_note.txt").is_file()
    assert watched.scan(svc, settle_s=0) is None  # nothing new
    (study,) = index.find_studies(svc, exam_id=exam["exam_id"])
    assert study.instance_count == 2
    assert study.received_from == "US01"
