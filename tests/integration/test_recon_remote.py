"""LN-4 with a remote archive of priors, over loopback DICOM: a second RadOps DICOM node (its own database and
image store) holds the patient's prior chest CT. The prior list asks it by C-FIND (each study once, remote ones
marked), a refusing or absent archive leaves the local list with a notice, linking a remote prior checks the
C-FIND answers (same patient, CT, >= 3 images), and the send job fetches the series by C-GET before it sends
it to the real reconstruction emulator, whose results complete the exam."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.bootstrap import build_services
from backend.domain.actor import SYSTEM, Actor
from backend.domain.errors import InvalidInput
from backend.domain.exam_flow import ExamStatus
from backend.entrypoints.listeners.dicom_scp import start_dicom
from backend.services import timeline
from backend.services.base import Services
from backend.services.imaging import archive, index, nodes, recon, recon_send
from backend.services.orders import exam_list
from tests.conftest import fresh_database
from tests.helpers import register
from tests.imaging_helpers import ct_slice, file_bytes, header
from tests.integration.test_recon_flow import exam_status, peer, wait_state
from tests.synthetic_helpers import slab

REMOTE_AE = "ARCHIVE2"


@pytest.fixture
def remote(settings: Any, db_url: str, clock: Any, tmp_path: Path) -> Iterator[tuple[Services, Any]]:
    """The remote archive: our own DICOM SCP as a second node, which knows RADOPS (query and retrieve)."""
    where = tmp_path / "remote"
    where.mkdir()
    with fresh_database(db_url, where) as url:
        rsvc = build_services(settings.with_(database_url=url, dicom_port=0, dicom_ae_title=REMOTE_AE,
                                             var_dir=where / "var", dicom_timeout_s=20.0), clock=clock)
        nodes.save_node(rsvc, {"ae_title": "RADOPS", "host": "127.0.0.1", "port": 11112,
                               "rights": ["query", "retrieve"]}, by=SYSTEM)
        handle, _line = start_dicom(rsvc)
        try:
            yield rsvc, handle
        finally:
            handle.stop()
            rsvc.session_factory.kw["bind"].dispose()


@pytest.fixture
def local(settings: Any, fresh_db_url: str, clock: Any, remote: tuple[Services, Any]) -> Iterator[tuple[Services, int]]:
    """RadOps, configured with the remote archive of priors (a known node at the remote's port)."""
    svc = build_services(settings.with_(database_url=fresh_db_url, dicom_port=0, dicom_timeout_s=20.0,
                                        recon_retry_first_s=1.0, recon_send_attempts=3, recon_deadline_s=600.0,
                                        recon_prior_archive_ae=REMOTE_AE, recon_prior_archive_timeout_s=10.0),
                         clock=clock)
    nodes.save_node(svc, {"ae_title": REMOTE_AE, "host": "127.0.0.1", "port": remote[1].port,
                          "rights": ["store"]}, by=SYSTEM)
    handle, _line = start_dicom(svc)
    yield svc, handle.port
    handle.stop()
    svc.session_factory.kw["bind"].dispose()


def _store(svc: Services, *datasets: Any) -> None:
    for ds in datasets:
        archive.store_instance(svc, header(ds), file_bytes(ds), received_from="CT01")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setup(svc: Services, rsvc: Services, actors: dict[str, Actor]) -> tuple[str, Any, Any]:
    """The slab (the prior chest CT) in the remote archive only; one older study of the patient in both;
    a CT-LN-TR exam registered for the patient here. Returns (accession, slab, shared study)."""
    source, _nodules = slab()
    mrn = str(source[0].PatientID)
    _store(rsvc, *source)
    shared = ct_slice(patient_id=mrn, study_date="20200105", accession="OLD-1")
    _store(rsvc, shared)
    _store(svc, shared)
    exam = register(svc, actors["clerk"], "CT-LN-TR", mrn=mrn)
    return exam["accession"], source, shared


def test_remote_prior_listed_once_fetched_by_the_job_then_sent_and_completed(
        local: Any, remote: Any, actors: dict[str, Actor]) -> None:
    svc, port = local
    rsvc, _handle = remote
    accession, source, shared = _setup(svc, rsvc, actors)
    found = recon.priors(svc, accession, by=actors["tech"])
    assert found["notice"] is None
    assert found["remote_archive"] == REMOTE_AE
    uids = [p["study_uid"] for p in found["priors"]]
    assert sorted(uids) == sorted({str(source[0].StudyInstanceUID), str(shared.StudyInstanceUID)})  # once each
    first, second = found["priors"]
    assert first["study_uid"] == source[0].StudyInstanceUID  # the chest CT first
    assert (first["source"], first["archive"]) == ("remote", REMOTE_AE)
    assert first["chest_ct"]
    assert first["image_count"] == len(source)
    assert first["default_series"] == source[0].SeriesInstanceUID
    assert first["series"][0]["images"] == len(source)
    assert first["series"][0]["slice_thickness"] is None or first["series"][0]["slice_thickness"] > 0
    assert second["source"] == "local"  # in both archives: listed once, as ours
    assert index.get_study(svc, str(source[0].StudyInstanceUID)) is None

    link = recon.link(svc, accession, study_uid=first["study_uid"], by=actors["tech"])
    assert link["state"] == "pending"
    assert link["total"] == len(source)
    assert link["source_series_uid"] == source[0].SeriesInstanceUID
    assert exam_status(svc, accession, actors) == ExamStatus.IN_PROGRESS
    exam_id = exam_list.get_exam(svc, by=actors["admin"], accession=accession)["id"]
    linked = [e for e in timeline.events_of(svc, exam_id) if e["kind"] == "recon_linked"]
    assert len(linked) == 1

    emu = peer(svc, port)
    try:
        assert recon_send.send_pending(svc)["done"] == 1  # the job retrieves the series, then sends it
        done = wait_state(svc, accession, {"completed"})
    finally:
        emu.stop()
    assert done["sent"] == len(source)
    assert emu.jobs[-1].received == len(source)
    fetched = index.instances_of(svc, series_uid=str(source[0].SeriesInstanceUID))
    assert len(fetched) == len(source)
    assert index.get_study(svc, str(source[0].StudyInstanceUID)).patient_id == source[0].PatientID  # type: ignore[union-attr]
    assert exam_status(svc, accession, actors) == ExamStatus.COMPLETED
    # Now in our index too: still listed once (as local).
    again = [p for p in recon.priors(svc, accession, by=actors["admin"])["priors"]
             if p["study_uid"] == source[0].StudyInstanceUID]
    assert [p["source"] for p in again] in ([], ["local"])


def test_remote_down_or_refusing_leaves_the_local_list_with_a_notice(
        local: Any, remote: Any, actors: dict[str, Actor]) -> None:
    svc, _port = local
    rsvc, _handle = remote
    accession, source, shared = _setup(svc, rsvc, actors)
    # The remote does not know us any more: it refuses the association.
    nodes.delete_node(rsvc, "RADOPS", by=SYSTEM)
    refused = recon.priors(svc, accession, by=actors["tech"])
    assert [p["study_uid"] for p in refused["priors"]] == [shared.StudyInstanceUID]
    assert refused["notice"].startswith("远程影像库无法连接：")
    assert "拒绝" in refused["notice"]
    # Nobody listens at its address.
    nodes.save_node(svc, {"ae_title": REMOTE_AE, "host": "127.0.0.1", "port": _closed_port(),
                          "rights": ["store"]}, by=SYSTEM)
    down = recon.priors(svc, accession, by=actors["tech"])
    assert [p["source"] for p in down["priors"]] == ["local"]
    assert down["notice"].startswith("远程影像库无法连接：")
    with pytest.raises(InvalidInput) as unreachable:
        recon.link(svc, accession, study_uid=str(source[0].StudyInstanceUID), by=actors["tech"])
    assert unreachable.value.code == "recon_remote_unavailable"
    assert exam_status(svc, accession, actors) == ExamStatus.REGISTERED
    assert recon.link_of(svc, accession) is None


def test_remote_prior_of_another_patient_or_without_ct_is_refused(
        local: Any, remote: Any, actors: dict[str, Actor]) -> None:
    svc, _port = local
    rsvc, _handle = remote
    accession, source, _shared = _setup(svc, rsvc, actors)
    other = [ct_slice(patient_id="OTHER-9", study_uid="1.2.826.0.1.3680043.10.1234.99.1", number=n)
             for n in (1, 2, 3)]
    series = str(other[0].SeriesInstanceUID)
    for ds in other[1:]:
        ds.SeriesInstanceUID = series
    _store(rsvc, *other)
    with pytest.raises(InvalidInput) as foreign:
        recon.link(svc, accession, study_uid=str(other[0].StudyInstanceUID), by=actors["tech"])
    assert foreign.value.code == "recon_other_patient"
    mrn = str(source[0].PatientID)
    mr = ct_slice(patient_id=mrn, modality="MR")
    _store(rsvc, mr)
    with pytest.raises(InvalidInput) as not_ct:
        recon.link(svc, accession, study_uid=str(mr.StudyInstanceUID), by=actors["tech"])
    assert not_ct.value.code == "recon_bad_series"
    assert exam_status(svc, accession, actors) == ExamStatus.REGISTERED
    assert recon.link_of(svc, accession) is None
    listed = {p["study_uid"] for p in recon.priors(svc, accession, by=actors["tech"])["priors"]}
    assert str(other[0].StudyInstanceUID) not in listed  # another patient's study is never a prior


def test_fetch_failure_is_retried_with_the_reason_shown(local: Any, remote: Any, actors: dict[str, Actor],
                                                        clock: Any) -> None:
    svc, port = local
    rsvc, _handle = remote
    accession, source, _shared = _setup(svc, rsvc, actors)
    recon.link(svc, accession, study_uid=str(source[0].StudyInstanceUID), by=actors["tech"])
    nodes.save_node(svc, {"ae_title": REMOTE_AE, "host": "127.0.0.1", "port": _closed_port(),
                          "rights": ["store"]}, by=SYSTEM)
    nodes.forget_cache(svc)
    emu = peer(svc, port)
    try:
        assert recon_send.send_pending(svc)["retried"] == 1
        link = recon.link_of(svc, accession)
        assert link is not None
        assert link["state"] == "pending"
        assert "将自动重试" in link["reason"]
        assert "从远程影像库调取源序列失败" in link["reason"]
        assert emu.jobs == []  # nothing reached the reconstruction system
    finally:
        emu.stop()
    assert index.instances_of(svc, series_uid=str(source[0].SeriesInstanceUID)) == []
