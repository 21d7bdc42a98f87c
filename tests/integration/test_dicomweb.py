"""DICOMweb (issue 10 item 5) through dicomweb-client, a client nobody here wrote, against the whole app
over real HTTP on loopback: STOW-RS into the archive, QIDO-RS keys, WADO-RS instances/series/metadata/
frames/rendered, the image.read / image.write scopes, and the audit rows of the reads."""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread
from pydicom.uid import JPEGLSLossless, generate_uid
from sqlalchemy import select

from backend.db.models import AuditEntry
from backend.domain.actor import SYSTEM
from backend.services import audit, auth
from backend.services.base import transaction
from backend.services.imaging import archive, index
from tests.conftest import fresh_database
from tests.contract.conftest import ApiServer
from tests.imaging_helpers import ROOT, ct_slice, file_bytes

dicomweb_client = pytest.importorskip("dicomweb_client")


@pytest.fixture(scope="module")
def server(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    tmp = tmp_path_factory.mktemp("dicomweb")
    with fresh_database(db_url, tmp) as url:
        s = ApiServer(url, tmp)
        yield s
        s.stop()


def _client(server: ApiServer, *scopes: str) -> Any:
    key = auth.create_api_key(server.services, "dw-" + "-".join(scopes), list(scopes), by=SYSTEM)
    return dicomweb_client.DICOMwebClient(f"{server.base}/dicomweb", headers={"X-API-Key": key})


@pytest.fixture(scope="module")
def study(server: ApiServer) -> dict[str, Any]:
    """Two studies of patient DW1 (CT 2026-11-20 with 3 slices, one of them JPEG-LS; MR 2025-11-20) and one
    of DW2, all stored by STOW-RS through dicomweb-client."""
    client = _client(server, "image.read", "image.write")
    ct_study, ct_series = generate_uid(ROOT), generate_uid(ROOT)
    slices = [ct_slice(study_uid=ct_study, series_uid=ct_series, accession="DWA1", patient_id="DW1",
                       study_date="20261120", number=n, size=32, fill=1024 + 40 * n) for n in (1, 2, 3)]
    ramp = np.arange(32 * 32, dtype=np.int16).reshape(32, 32)
    slices[2].PixelData = ramp.tobytes()
    slices[2].compress(JPEGLSLossless, ramp)
    mr = ct_slice(accession="DWA2", patient_id="DW1", study_date="20251120", modality="MR", size=16)
    other = ct_slice(accession="DWB1", patient_id="DW2", study_date="20261001", size=16)
    other_sr = ct_slice(study_uid=other.StudyInstanceUID, accession="DWB1", patient_id="DW2", study_date="20261001",
                        size=16, modality="SR")  # DWB1 lists CT\SR
    files = [file_bytes(d) for d in (*slices, mr, other, other_sr)]
    answer = client.store_instances([dcmread(BytesIO(f)) for f in files])
    return {"ct_study": ct_study, "ct_series": ct_series, "slices": slices, "files": files, "ramp": ramp,
            "answer": answer, "mr": mr, "other": other}


def test_stow_stores_through_the_archive(server: ApiServer, study: dict[str, Any]) -> None:
    refs = study["answer"].ReferencedSOPSequence
    assert len(refs) == 6
    assert "FailedSOPSequence" not in study["answer"]
    sop = study["slices"][0].SOPInstanceUID
    info = index.get_instance(server.services, sop)
    assert info is not None
    assert info.received_from == "STOW-RS"
    # The archive holds the instance as written by the client (pydicom re-encodes the dataset it sends).
    assert dcmread(BytesIO(archive.read_instance(server.services, sop))).SOPInstanceUID == sop
    assert index.get_study(server.services, study["ct_study"]).instance_count == 3  # type: ignore[union-attr]


def test_stow_into_a_study_refuses_an_instance_of_another(server: ApiServer, study: dict[str, Any]) -> None:
    client = _client(server, "image.write")
    stray = ct_slice(accession="DWC1", patient_id="DW3")
    with pytest.raises(Exception, match="409"):
        client.store_instances([stray], study_instance_uid=study["ct_study"])
    assert index.get_instance(server.services, stray.SOPInstanceUID) is None


def test_qido_studies_by_the_standard_keys(server: ApiServer, study: dict[str, Any]) -> None:
    client = _client(server, "image.read")

    def accessions(**kw: Any) -> list[str]:
        return sorted(r["00080050"]["Value"][0] for r in client.search_for_studies(**kw))

    assert accessions(search_filters={"PatientID": "DW1"}) == ["DWA1", "DWA2"]
    assert accessions(search_filters={"AccessionNumber": "DWB1"}) == ["DWB1"]
    assert accessions(search_filters={"PatientID": "DW*"}) == ["DWA1", "DWA2", "DWB1"]
    assert accessions(search_filters={"PatientID": "DW1", "StudyDate": "20260101-20261231"}) == ["DWA1"]
    assert accessions(search_filters={"PatientID": "DW*", "StudyDate": "-20251231"}) == ["DWA2"]
    assert accessions(search_filters={"PatientID": "DW*", "StudyDate": "20261001-"}) == ["DWA1", "DWB1"]
    assert accessions(search_filters={"PatientID": "DW1", "ModalitiesInStudy": "MR"}) == ["DWA2"]
    assert accessions(search_filters={"StudyInstanceUID": study["ct_study"]}) == ["DWA1"]
    assert accessions(search_filters={"ModalitiesInStudy": "SR"}) == ["DWB1"]
    assert accessions(search_filters={"PatientID": "DW*", "ModalitiesInStudy": "CT"}) == ["DWA1", "DWB1"]
    assert accessions(search_filters={"PatientID": "DW*", "ModalitiesInStudy": "MR,SR"}) == ["DWA2", "DWB1"]
    assert accessions(search_filters={"PatientID": "DW?"}) == ["DWA1", "DWA2", "DWB1"]
    page1 = client.search_for_studies(search_filters={"PatientID": "DW*"}, limit=2, offset=0)
    page2 = client.search_for_studies(search_filters={"PatientID": "DW*"}, limit=2, offset=2)
    assert len(page1) == 2
    assert len(page2) == 1
    hit = client.search_for_studies(search_filters={"AccessionNumber": "DWA1"})[0]
    assert hit["00201208"]["Value"] == [3]
    assert hit["00080061"]["Value"] == ["CT"]
    assert "00081030" not in hit  # StudyDescription only on request
    wide = client.search_for_studies(search_filters={"AccessionNumber": "DWA1"}, fields=["StudyDescription"])[0]
    assert wide["00081030"]["Value"] == ["CT Chest"]


def test_qido_series_and_instances(server: ApiServer, study: dict[str, Any]) -> None:
    client = _client(server, "image.read")
    series = client.search_for_series(study["ct_study"])
    assert [s["0020000E"]["Value"][0] for s in series] == [study["ct_series"]]
    assert series[0]["00201209"]["Value"] == [3]
    assert len(client.search_for_series(search_filters={"Modality": "MR", "PatientID": "DW1"})) == 1
    inst = client.search_for_instances(study["ct_study"], study["ct_series"])
    assert [i["00200013"]["Value"][0] for i in inst] == [1, 2, 3]
    one = client.search_for_instances(study["ct_study"], search_filters={"InstanceNumber": "2"})
    assert [i["00080018"]["Value"][0] for i in one] == [study["slices"][1].SOPInstanceUID]


def test_wado_instance_series_and_metadata(server: ApiServer, study: dict[str, Any]) -> None:
    client = _client(server, "image.read")
    s0 = study["slices"][0]
    ds = client.retrieve_instance(study["ct_study"], study["ct_series"], s0.SOPInstanceUID)
    assert ds.SOPInstanceUID == s0.SOPInstanceUID
    assert np.array_equal(ds.pixel_array, s0.pixel_array)
    got = client.retrieve_series(study["ct_study"], study["ct_series"])
    assert sorted(d.InstanceNumber for d in got) == [1, 2, 3]
    jls = next(d for d in got if d.InstanceNumber == 3)
    assert jls.file_meta.TransferSyntaxUID == JPEGLSLossless  # as stored, compressed
    meta = client.retrieve_series_metadata(study["ct_study"], study["ct_series"])
    assert len(meta) == 3
    assert all("BulkDataURI" in m["7FE00010"] for m in meta)
    assert {m["00100020"]["Value"][0] for m in meta} == {"DW1"}


def test_wado_frames_are_native_pixels_even_from_jpeg_ls(server: ApiServer, study: dict[str, Any]) -> None:
    client = _client(server, "image.read")
    s0, s2 = study["slices"][0], study["slices"][2]
    (raw,) = client.retrieve_instance_frames(study["ct_study"], study["ct_series"], s0.SOPInstanceUID, [1])
    assert np.array_equal(np.frombuffer(raw, np.int16).reshape(32, 32), s0.pixel_array)
    (raw,) = client.retrieve_instance_frames(study["ct_study"], study["ct_series"], s2.SOPInstanceUID, [1])
    assert np.array_equal(np.frombuffer(raw, np.int16).reshape(32, 32), study["ramp"])


def test_rendered_frames_follow_the_window(server: ApiServer, study: dict[str, Any]) -> None:
    client = _client(server, "image.read")
    s1 = study["slices"][1]  # stored 1024 + 80, intercept -1024: 80 HU everywhere
    args = (study["ct_study"], study["ct_series"], s1.SOPInstanceUID)

    def grey(window: str, media: str = "image/png") -> tuple[int, str]:
        data = client.retrieve_instance_rendered(*args, media_types=(media,), params={"window": window})
        img = Image.open(BytesIO(data))
        return int(np.asarray(img.convert("L"))[16, 16]), img.format or ""

    assert grey("80,400") == (pytest.approx(128, abs=2), "PNG")
    assert grey("-600,1500")[0] > 200  # lung window: soft tissue is bright
    assert grey("400,1800")[0] < 110  # bone window: soft tissue is darker
    assert grey("80,400", "image/jpeg")[1] == "JPEG"
    thumb = client.retrieve_instance_rendered(*args, media_types=("image/png",), params={"viewport": "8,8"})
    assert Image.open(BytesIO(thumb)).size == (8, 8)


def test_scopes_decide_who_reads_and_who_stores(server: ApiServer, study: dict[str, Any]) -> None:
    url = f"{server.base}/dicomweb/studies"
    assert httpx.get(url, timeout=10).status_code == 401
    exam_only = auth.create_api_key(server.services, "dw-exam", ["exam.read"], by=SYSTEM)
    r = httpx.get(url, headers={"X-API-Key": exam_only}, timeout=10)
    assert r.status_code == 403
    assert r.json()["error"]["details"]["needed"] == "image.read"
    reader = _client(server, "image.read")
    with pytest.raises(Exception, match="403"):
        reader.store_instances([ct_slice(patient_id="DW9")])
    bad = httpx.get(f"{url}?StudyDate=2026-13-45", headers={"X-API-Key": server.api_key}, timeout=10)
    assert bad.status_code == 400
    assert httpx.get(f"{server.base}/dicomweb/no-such", headers={"X-API-Key": server.api_key},
                     timeout=10).status_code == 404
    assert httpx.get(f"{url}/1.2.3.4", headers={"X-API-Key": server.api_key}, timeout=10).status_code == 404


def test_reads_are_audited(server: ApiServer, study: dict[str, Any], tmp_path: Path) -> None:
    client = _client(server, "image.read")
    s0 = study["slices"][0]
    client.retrieve_instance_rendered(study["ct_study"], study["ct_series"], s0.SOPInstanceUID,
                                      media_types=("image/jpeg",), params={"window": "1,2"})
    client.search_for_studies(search_filters={"PatientID": "DW2"})
    audit.flush_reads(server.services)
    with transaction(server.services, readonly=True) as tx:
        rows = [(r.entity, r.entity_id, r.actor, r.details) for r in tx.session.scalars(
            select(AuditEntry).where(AuditEntry.entity.in_(["image_frame", "image_study"])))]
    frames = [r for r in rows if r[0] == "image_frame" and r[1] == s0.SOPInstanceUID]
    assert frames
    assert frames[-1][3]["via"] == "rendered"
    assert frames[-1][2].startswith("api_key")
    assert any(r[0] == "image_study" and r[3].get("via") == "qido" for r in rows)


def test_openapi_lists_the_dicomweb_routes(server: ApiServer) -> None:
    spec = httpx.get(f"{server.base}/api/openapi.json", timeout=10).json()
    paths = spec["paths"]
    assert "get" in paths["/dicomweb/studies"]
    assert "post" in paths["/dicomweb/studies"]
    assert "/dicomweb/studies/{study}/series/{series}/instances/{sop}/frames/{frames}" in paths
    assert "/dicomweb/studies/{study}/series/{series}/instances/{sop}/rendered" in paths
