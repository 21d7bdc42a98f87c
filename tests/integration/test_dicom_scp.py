"""RadOps as a DICOM node (issue 10 items 1-2 and "Bad input"), over real associations on loopback:
pynetdicom as the peer, dcmtk's storescu as an independent client where installed."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset, dcmread
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, build_role, evt
from pynetdicom import _config as pynetdicom_config
from pynetdicom.dsutils import encode
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    EncapsulatedPDFStorage,
    ModalityPerformedProcedureStep,
    ModalityWorklistInformationFind,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)
from sqlalchemy import select

from backend.bootstrap import build_services
from backend.db.models import AuditEntry, Exam
from backend.domain.actor import SYSTEM
from backend.domain.exam_flow import ExamStatus
from backend.entrypoints.listeners.dicom_scp import start_dicom
from backend.services.base import Services, transaction
from backend.services.imaging import archive, index, nodes
from tests.helpers import register
from tests.imaging_helpers import ct_slice, file_bytes

ALL = ["store", "query", "retrieve", "worklist"]


class Destination:
    """A storage SCP on loopback that C-MOVE sends to (the DEST node)."""

    def __init__(self) -> None:
        self.received: list[str] = []
        ae = AE("DEST")
        ae.add_supported_context(CTImageStorage, ALL_TRANSFER_SYNTAXES)
        self.server = ae.start_server(("127.0.0.1", 0), block=False,
                                      evt_handlers=[(evt.EVT_C_STORE, self.on_store)])
        self.port = self.server.server_address[1]

    def on_store(self, event: Any) -> int:
        self.received.append(str(event.dataset.SOPInstanceUID))
        return 0


@pytest.fixture
def live(settings: Any, fresh_db_url: str, clock: Any, tmp_path: Path) -> Iterator[tuple[Services, int, Destination]]:
    svc = build_services(settings.with_(database_url=fresh_db_url, dicom_port=0, dicom_timeout_s=2.0), clock=clock)
    dest = Destination()
    for ae, rights, port in (("CT01", ["store", "query", "worklist"], 11114), ("VIEWER", ALL, 11120),
                             ("DEST", ["store"], dest.port)):
        nodes.save_node(svc, {"ae_title": ae, "host": "127.0.0.1", "port": port, "rights": rights}, by=SYSTEM)
    handle, line = start_dicom(svc)
    assert "RADOPS@127.0.0.1" in line
    yield svc, handle.port, dest
    handle.stop()
    dest.server.shutdown()
    svc.session_factory.kw["bind"].dispose()


def _assoc(port: int, calling: str, contexts: list[Any], **kw: Any) -> Any:
    ae = AE(calling)
    for cx in contexts:
        if isinstance(cx, tuple):
            ae.add_requested_context(*cx)
        else:
            ae.add_requested_context(cx)
    return ae.associate("127.0.0.1", port, ae_title="RADOPS", **kw)


def _send(port: int, calling: str, *datasets: Dataset, syntax: str = ExplicitVRLittleEndian) -> list[int]:
    sops = {str(d.SOPClassUID) for d in datasets}
    assoc = _assoc(port, calling, [(s, [syntax]) for s in sops])
    assert assoc.is_established
    try:
        return [int(assoc.send_c_store(d).Status) for d in datasets]
    finally:
        assoc.release()


def test_echo_from_a_known_node(live: Any) -> None:
    _svc, port, _dest = live
    assoc = _assoc(port, "CT01", [Verification])
    assert assoc.is_established
    assert assoc.send_c_echo().Status == 0
    assoc.release()


def test_an_unknown_calling_ae_is_rejected_and_audited(live: Any) -> None:
    svc, port, _dest = live
    assoc = _assoc(port, "STRANGER", [Verification])
    assert assoc.is_rejected
    assert (assoc.acceptor.primitive.result_source, assoc.acceptor.primitive.diagnostic) == (1, 3)
    time.sleep(0.2)
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.scalars(select(AuditEntry).where(AuditEntry.action == "dicom_refused")).all()
        assert any(r.entity_id == "STRANGER" and r.details["reason"] == "unknown_calling_ae" for r in rows)


def test_store_keeps_the_received_bytes_for_plain_and_compressed_syntaxes(live: Any) -> None:
    svc, port, _dest = live
    plain = ct_slice(size=32)
    rle = ct_slice(size=32, fill=5)
    rle.compress(RLELossless)
    assert _send(port, "CT01", plain) == [0]
    assert _send(port, "CT01", rle, syntax=RLELossless) == [0]
    for ds, implicit in ((plain, False), (rle, False)):
        stored = archive.read_instance(svc, ds.SOPInstanceUID)
        assert stored.endswith(encode(ds, implicit, True))  # the dataset bytes as sent, after our File Meta
        assert dcmread(archive.instance_path(svc, ds.SOPInstanceUID)).SOPInstanceUID == ds.SOPInstanceUID
    assert index.get_instance(svc, rle.SOPInstanceUID).transfer_syntax == RLELossless  # type: ignore[union-attr]


def test_other_storage_classes_are_accepted(live: Any) -> None:
    svc, port, _dest = live
    pdf = Dataset()
    pdf.file_meta = FileMetaDataset()
    pdf.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    pdf.SOPClassUID = EncapsulatedPDFStorage
    base = ct_slice()
    for kw in ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "PatientID", "StudyDate"):
        setattr(pdf, kw, getattr(base, kw))
    pdf.Modality, pdf.MIMETypeOfEncapsulatedDocument = "DOC", "application/pdf"
    pdf.EncapsulatedDocument = b"%PDF-1.4\n%%EOF\n"
    assert _send(port, "CT01", pdf) == [0]
    assert index.get_instance(svc, pdf.SOPInstanceUID).sop_class_uid == EncapsulatedPDFStorage  # type: ignore[union-attr]


def _send_raw(port: int, tmp_path: Path, name: str, dataset_bytes: bytes, meta_from: Dataset,
              syntax: str = ExplicitVRLittleEndian) -> int:
    """C-STORE a file whose dataset part is `dataset_bytes` (pynetdicom sends a file's bytes unparsed)."""
    meta_only = Dataset()
    meta_only.file_meta = meta_from.file_meta
    meta_only.file_meta.TransferSyntaxUID = syntax
    path = tmp_path / name
    head = file_bytes(meta_only)
    path.write_bytes(head + dataset_bytes)
    assoc = _assoc(port, "CT01", [(CTImageStorage, [syntax])])
    try:
        with warnings.catch_warnings():  # the sending library's own reader grumbles about the bad bytes
            warnings.simplefilter("ignore")
            return int(assoc.send_c_store(path).Status)
    finally:
        assoc.release()


def test_bad_input_gets_the_proper_failure_status_and_nothing_is_written(live: Any, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    svc, port, _dest = live
    # pynetdicom's own switch: send a file's dataset bytes as they are, unparsed (dcmtk's storescu does too).
    monkeypatch.setattr(pynetdicom_config, "STORE_SEND_CHUNKED_DATASET", True)
    ds = ct_slice(size=32)
    raw = encode(ds, False, True)
    cases = {
        "not_dicom": (b"this is not a DICOM dataset at all, just text" * 4, ExplicitVRLittleEndian, 0xC210),
        "truncated": (raw[:-200], ExplicitVRLittleEndian, 0xC210),
        "wrong_syntax": (encode(ds, True, True), ExplicitVRLittleEndian, 0xC210),
    }
    for name, (body, syntax, status) in cases.items():
        assert _send_raw(port, tmp_path, name, body, ds, syntax) == status, name
    no_study = ct_slice(size=32)
    del no_study.StudyInstanceUID
    assert _send(port, "CT01", no_study) == [0xA900]
    svc.settings = svc.settings.with_(dicom_max_instance_mb=0)
    assert _send(port, "CT01", ct_slice(size=32)) == [0xA700]
    store = archive.image_store(svc)
    assert list(store.keys()) == []
    assert list(store.staged()) == []
    assert index.find_studies(svc) == []


def test_a_node_without_the_store_right_is_refused(live: Any) -> None:
    svc, port, _dest = live
    nodes.save_node(svc, {"ae_title": "QUERYONLY", "host": "127.0.0.1", "port": 1, "rights": ["query"]}, by=SYSTEM)
    assert _send(port, "QUERYONLY", ct_slice()) == [0x0124]


def _study(port: int, n: int = 3, **kw: Any) -> list[Dataset]:
    first = ct_slice(**kw)
    out = [first] + [ct_slice(study_uid=first.StudyInstanceUID, series_uid=first.SeriesInstanceUID, number=i + 2,
                              **kw) for i in range(n - 1)]
    assert _send(port, "CT01", *out) == [0] * n
    return out


def _find(port: int, calling: str, query: Dataset,
          model: str = StudyRootQueryRetrieveInformationModelFind) -> list[Any]:
    assoc = _assoc(port, calling, [model])
    try:
        return [(int(s.Status), ident) for s, ident in assoc.send_c_find(query, model)]
    finally:
        assoc.release()


def test_c_find_at_study_series_and_image_level(live: Any) -> None:
    _svc, port, _dest = live
    study = _study(port, 3, accession="ACC-FIND", patient_id="PF1")
    q = Dataset()
    q.QueryRetrieveLevel, q.PatientID, q.StudyInstanceUID, q.NumberOfStudyRelatedInstances = "STUDY", "PF*", "", ""
    q.StudyDate = "20261101-20261130"
    found = [i for s, i in _find(port, "CT01", q) if s == 0xFF00]
    assert [(i.StudyInstanceUID, int(i.NumberOfStudyRelatedInstances)) for i in found] == \
        [(study[0].StudyInstanceUID, 3)]
    q = Dataset()
    q.QueryRetrieveLevel, q.StudyInstanceUID, q.SeriesInstanceUID, q.Modality = \
        "SERIES", study[0].StudyInstanceUID, "", "CT"
    assert [i.SeriesInstanceUID for s, i in _find(port, "CT01", q) if s == 0xFF00] == [study[0].SeriesInstanceUID]
    q = Dataset()
    q.QueryRetrieveLevel, q.StudyInstanceUID, q.SeriesInstanceUID, q.SOPInstanceUID = \
        "IMAGE", study[0].StudyInstanceUID, study[0].SeriesInstanceUID, ""
    got = sorted(i.SOPInstanceUID for s, i in _find(port, "CT01", q) if s == 0xFF00)
    assert got == sorted(d.SOPInstanceUID for d in study)
    q.StudyDate = "19990101"
    q.QueryRetrieveLevel = "STUDY"
    assert [s for s, _ in _find(port, "CT01", q)] == [0]  # no match, success
    with pytest.warns(UserWarning, match="VR DA"):  # pydicom warns the sender too
        q.StudyDate = "20261301"  # not a date: refused, never read as "any date"
    assert [s for s, _ in _find(port, "CT01", q)] == [0xA900]


def test_c_move_to_a_known_node_and_refused_without_the_right(live: Any) -> None:
    _svc, port, dest = live
    study = _study(port, 2)
    q = Dataset()
    q.QueryRetrieveLevel, q.StudyInstanceUID = "STUDY", study[0].StudyInstanceUID
    assoc = _assoc(port, "VIEWER", [StudyRootQueryRetrieveInformationModelMove])
    statuses = [int(s.Status) for s, _ in assoc.send_c_move(q, "DEST", StudyRootQueryRetrieveInformationModelMove)]
    assoc.release()
    assert statuses[-1] == 0
    assert sorted(dest.received) == sorted(d.SOPInstanceUID for d in study)
    assoc = _assoc(port, "VIEWER", [StudyRootQueryRetrieveInformationModelMove])
    unknown = [int(s.Status) for s, _ in assoc.send_c_move(q, "NOWHERE", StudyRootQueryRetrieveInformationModelMove)]
    assoc.release()
    assert unknown[-1] == 0xA801
    assoc = _assoc(port, "CT01", [StudyRootQueryRetrieveInformationModelMove])  # CT01 may not retrieve
    refused = [int(s.Status) for s, _ in assoc.send_c_move(q, "DEST", StudyRootQueryRetrieveInformationModelMove)]
    assoc.release()
    assert refused[-1] == 0xA801


def test_c_get_returns_the_instances_over_the_same_association(live: Any) -> None:
    _svc, port, _dest = live
    study = _study(port, 2)
    got: list[str] = []

    def on_store(event: Any) -> int:
        got.append(str(event.dataset.SOPInstanceUID))
        return 0

    ae = AE("VIEWER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    ae.add_requested_context(CTImageStorage, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
    assoc = ae.associate("127.0.0.1", port, ae_title="RADOPS", ext_neg=[build_role(CTImageStorage, scp_role=True)],
                         evt_handlers=[(evt.EVT_C_STORE, on_store)])
    q = Dataset()
    q.QueryRetrieveLevel, q.StudyInstanceUID = "STUDY", study[0].StudyInstanceUID
    statuses = [int(s.Status) for s, _ in assoc.send_c_get(q, StudyRootQueryRetrieveInformationModelGet)]
    assoc.release()
    assert statuses[-1] == 0
    assert sorted(got) == sorted(d.SOPInstanceUID for d in study)


def _today_exam(svc: Services) -> dict[str, Any]:
    return register(svc, SYSTEM, "CT-CHEST", patient_class="emergency")


def test_worklist_lists_the_days_registered_exams_and_mpps_moves_the_exam(live: Any) -> None:
    svc, port, _dest = live
    made = _today_exam(svc)
    q = Dataset()
    q.PatientName, q.PatientID, q.AccessionNumber = "", "", ""
    step = Dataset()
    step.Modality, step.ScheduledProcedureStepStartDate, step.ScheduledStationAETitle = "CT", "", ""
    q.ScheduledProcedureStepSequence = [step]
    found = [i for s, i in _find(port, "CT01", q, ModalityWorklistInformationFind) if s == 0xFF00]
    item = next(i for i in found if i.AccessionNumber == made["accession"])
    assert item.ScheduledProcedureStepSequence[0].Modality == "CT"
    assert item.PatientID  # the MRN, so the images come back with it
    assoc = _assoc(port, "CT01", [ModalityPerformedProcedureStep])
    create = Dataset()
    sched = Dataset()
    sched.AccessionNumber, sched.StudyInstanceUID = made["accession"], ""
    create.ScheduledStepAttributesSequence = [sched]
    create.PerformedProcedureStepStatus, create.Modality = "IN PROGRESS", "CT"
    uid = "1.2.826.0.1.3680043.10.1234.77"
    status, _ = assoc.send_n_create(create, ModalityPerformedProcedureStep, uid)
    assert status.Status == 0
    assert _status(svc, made["exam_id"]) == ExamStatus.IN_PROGRESS
    done = Dataset()
    done.PerformedProcedureStepStatus = "COMPLETED"
    status, _ = assoc.send_n_set(done, ModalityPerformedProcedureStep, uid)
    assert status.Status == 0
    assert _status(svc, made["exam_id"]) == ExamStatus.COMPLETED
    again, _ = assoc.send_n_set(done, ModalityPerformedProcedureStep, uid)
    assert again.Status == 0x0110  # a final step is never changed again
    assoc.release()
    left = [i.AccessionNumber for s, i in _find(port, "CT01", q, ModalityWorklistInformationFind) if s == 0xFF00]
    assert made["accession"] not in left


def _status(svc: Services, exam_id: int) -> str:
    with transaction(svc, readonly=True) as tx:
        return tx.session.get(Exam, exam_id).status  # type: ignore[union-attr]


def test_a_stalled_association_is_aborted_after_the_timeout(live: Any) -> None:
    _svc, port, _dest = live
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(10)
    started = time.monotonic()
    try:
        data = sock.recv(1024)  # we send nothing: the server gives up after RADOPS_DICOM_TIMEOUT_S (2 s)
    except ConnectionResetError:
        data = b""
    assert time.monotonic() - started < 8
    assert data in (b"", ) or data[:1] == b"\x07"  # closed, or an A-ABORT PDU first
    sock.close()


@pytest.mark.skipif(shutil.which("storescu") is None, reason="dcmtk storescu is not installed")
def test_dcmtk_storescu_stores_into_radops(live: Any, tmp_path: Path) -> None:
    svc, port, _dest = live
    files = []
    first = ct_slice(size=64)
    for i in range(3):
        ds = first if i == 0 else ct_slice(size=64, study_uid=first.StudyInstanceUID, number=i + 1)
        path = tmp_path / f"{i}.dcm"
        path.write_bytes(file_bytes(ds))
        files.append(path)
    run = subprocess.run(["storescu", "-aet", "CT01", "-aec", "RADOPS", "127.0.0.1", str(port), *map(str, files)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert index.get_study(svc, first.StudyInstanceUID).instance_count == 3  # type: ignore[union-attr]


def test_four_senders_at_once_make_one_study(live: Any) -> None:
    svc, port, _dest = live
    first = ct_slice(size=16)
    errors: list[BaseException] = []

    def send(k: int) -> None:
        try:
            batch = [ct_slice(size=16, study_uid=first.StudyInstanceUID, series_uid=first.SeriesInstanceUID,
                              number=k * 10 + i) for i in range(5)]
            assert _send(port, "CT01", *batch) == [0] * 5
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    study = index.get_study(svc, first.StudyInstanceUID)
    assert study is not None
    assert (study.instance_count, study.series_count) == (20, 1)
