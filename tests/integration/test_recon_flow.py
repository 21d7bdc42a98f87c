"""The lung-nodule reconstruction flow on RadOps' side (LN-4..LN-7) with the real emulator over loopback DICOM:
a prior in the archive -> prior list -> link (已登记 -> 检查中) -> the send job C-STOREs the source to RECON ->
the emulator's results come back into our SCP -> release -> 检查完成; then each fault switch of the peer, the
deadline (重建超时), resend, and results that belong to no waiting request (unmatched)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage

from backend.bootstrap import build_services
from backend.db.models import ImagingStudy
from backend.domain.actor import SYSTEM, Actor
from backend.domain.errors import Forbidden, InvalidInput
from backend.domain.exam_flow import ExamStatus, Trigger
from backend.domain.exam_query import ExamFilter
from backend.domain.imaging import StudyMatch
from backend.entrypoints.listeners.dicom_scp import start_dicom
from backend.services import timeline
from backend.services.base import Services, transaction
from backend.services.imaging import archive, index, matching, nodes, recon, recon_results, recon_send
from backend.services.orders import exam_list
from integrations.recon.emulator import ReconConfig, RECONEmulator
from tests.helpers import register
from tests.imaging_helpers import ct_slice, file_bytes, header
from tests.synthetic_helpers import slab

WAIT_S = 120.0


@pytest.fixture
def live(settings: Any, fresh_db_url: str, clock: Any, tmp_path: Path) -> Iterator[tuple[Services, int]]:
    svc = build_services(settings.with_(database_url=fresh_db_url, dicom_port=0, dicom_timeout_s=20.0,
                                        recon_retry_first_s=1.0, recon_send_attempts=2, recon_deadline_s=600.0),
                         clock=clock)
    nodes.save_node(svc, {"ae_title": "CT01", "host": "127.0.0.1", "port": 11114, "rights": ["store"]}, by=SYSTEM)
    handle, _line = start_dicom(svc)
    yield svc, handle.port
    handle.stop()
    svc.session_factory.kw["bind"].dispose()


def peer(svc: Services, radops_port: int, **kw: Any) -> RECONEmulator:
    emu = RECONEmulator(ReconConfig(port=0, destination_port=radops_port, **kw)).start()
    nodes.save_node(svc, {"ae_title": "RECON", "host": "127.0.0.1", "port": emu.port, "rights": ["store"]},
                    by=SYSTEM)
    return emu


def prior_and_exam(svc: Services, actors: dict[str, Actor]) -> tuple[str, tuple[Dataset, ...]]:
    """The slab archived as the patient's prior chest CT, then a CT-LN-TR exam registered for that patient."""
    source, _nodules = slab()
    for ds in source:
        archive.store_instance(svc, header(ds), file_bytes(ds), received_from="CT01")
    exam = register(svc, actors["clerk"], "CT-LN-TR", mrn=str(source[0].PatientID))
    return exam["accession"], source


def wait_state(svc: Services, accession: str, states: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        link = recon.link_of(svc, accession)
        assert link is not None
        if link["state"] in states:
            return link
        time.sleep(0.2)
    raise AssertionError(f"still {recon.link_of(svc, accession)}")


def wait_job(emu: RECONEmulator, outcomes: set[str]) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if emu.jobs and emu.jobs[-1].outcome in outcomes:
            return
        time.sleep(0.2)
    raise AssertionError([j.outcome for j in emu.jobs])


def exam_status(svc: Services, accession: str, actors: dict[str, Actor]) -> str:
    return str(exam_list.get_exam(svc, by=actors["admin"], accession=accession)["status"])


def send_and_link(svc: Services, actors: dict[str, Actor]) -> tuple[str, tuple[Dataset, ...]]:
    accession, source = prior_and_exam(svc, actors)
    found = recon.priors(svc, accession, by=actors["tech"])
    recon.link(svc, accession, study_uid=found["priors"][0]["study_uid"], by=actors["tech"])
    return accession, source


def test_prior_list_link_send_results_complete(live: Any, actors: dict[str, Actor]) -> None:
    svc, port = live
    emu = peer(svc, port)
    try:
        accession, source = prior_and_exam(svc, actors)
        # LN-4: the prior list, with its series, counts, thumbnail and the default (thin lung) series.
        with pytest.raises(Forbidden):
            recon.priors(svc, accession, by=actors["clerk"])
        found = recon.priors(svc, accession, by=actors["tech"])
        (prior,) = found["priors"]
        assert prior["study_uid"] == source[0].StudyInstanceUID
        assert prior["chest_ct"]
        assert prior["image_count"] == len(source)
        assert prior["series_count"] == 1
        assert prior["default_series"] == source[0].SeriesInstanceUID
        assert prior["series"][0]["thumbnail"].endswith("/rendered?viewport=96,96")
        assert found["link"] is None

        # LN-5/LN-6: link -> 检查中 with its timeline rows; linking twice is refused and changes nothing.
        link = recon.link(svc, accession, study_uid=prior["study_uid"], by=actors["tech"])
        assert link["state"] == "pending"
        assert link["state_label"] == "待发送"
        assert link["undoable"]
        assert link["source_series_uid"] == source[0].SeriesInstanceUID
        assert link["total"] == len(source)
        assert exam_status(svc, accession, actors) == ExamStatus.IN_PROGRESS
        with pytest.raises(InvalidInput) as twice:
            recon.link(svc, accession, study_uid=prior["study_uid"], by=actors["doctor"])
        assert twice.value.code == "recon_already_linked"
        assert "重复引用" in twice.value.message
        exam_id = exam_list.get_exam(svc, by=actors["admin"], accession=accession)["id"]
        kinds = [e["kind"] for e in timeline.events_of(svc, exam_id)]
        assert kinds.count("recon_linked") == 1
        assert "started" in kinds

        # LN-7: the job sends the source; the emulator's results come back, the release completes the exam.
        assert recon_send.send_pending(svc)["done"] == 1
        done = wait_state(svc, accession, {"completed"})
        assert done["sent"] == len(source)
        assert done["results"]
        with pytest.raises(InvalidInput) as late_undo:
            recon.unlink(svc, accession, by=actors["tech"])
        assert late_undo.value.code == "recon_already_sent"
    finally:
        emu.stop()
    assert emu.jobs[-1].received == len(source)
    assert emu.jobs[-1].outcome == "sent"
    assert exam_status(svc, accession, actors) == ExamStatus.COMPLETED
    (study,) = index.find_studies(svc, exam_id=exam_id)
    assert study.study_uid == done["target_study_uid"]
    assert study.accession == accession
    linked_day = svc.clock().astimezone(svc.tz).date()
    assert study.study_date == linked_day  # dated as this exam (its link), not as the prior the results come from
    assert source[0].StudyDate != linked_day.strftime("%Y%m%d")
    assert {s.series_uid for s in index.series_of(svc, study.study_uid)} == {r["uid"] for r in done["results"]}
    kinds = [e["kind"] for e in timeline.events_of(svc, exam_id)]
    assert {"recon_sent", "recon_completed", "completed"} <= set(kinds)
    row = exam_list.search(svc, ExamFilter(accession=accession), by=actors["admin"])["items"][0]
    assert row["recon"]["label"] == "重建完成"


def test_refusals_change_nothing_and_undo_before_sending(live: Any, actors: dict[str, Actor]) -> None:
    svc, _port = live
    accession, source = prior_and_exam(svc, actors)
    other = ct_slice(patient_id="OTHER-1")
    archive.store_instance(svc, header(other), file_bytes(other), received_from="CT01")
    with pytest.raises(InvalidInput) as foreign:
        recon.link(svc, accession, study_uid=str(other.StudyInstanceUID), by=actors["tech"])
    assert foreign.value.code == "recon_other_patient"
    empty_uid = generate_uid()
    with transaction(svc) as tx:  # a study whose images were all removed: in the index, no instances
        tx.session.add(ImagingStudy(study_uid=empty_uid, match=StudyMatch.UNMATCHED.value, accession="",
                                    patient_id=str(source[0].PatientID), patient_name="", patient_sex="",
                                    study_time="", study_id="", description="", referring_physician="",
                                    modalities="CT", series_count=0, instance_count=0, size_bytes=0,
                                    received_from="CT01", first_received_at=tx.now, last_received_at=tx.now))
    with pytest.raises(InvalidInput) as empty:
        recon.link(svc, accession, study_uid=empty_uid, by=actors["tech"])
    assert empty.value.code == "recon_no_images"
    assert "没有图像" in empty.value.message
    assert exam_status(svc, accession, actors) == ExamStatus.REGISTERED
    assert recon.link_of(svc, accession) is None

    link = recon.link(svc, accession, study_uid=str(source[0].StudyInstanceUID), by=actors["doctor"])
    undone = recon.unlink(svc, accession, by=actors["tech"])
    assert undone["state"] == "undone"
    assert recon.link_of(svc, accession) is None
    assert recon_send.send_pending(svc)["done"] == 1  # the queued send finds nothing to send
    again = recon.link(svc, accession, study_uid=str(source[0].StudyInstanceUID), by=actors["tech"])
    assert again["id"] != link["id"]
    assert exam_status(svc, accession, actors) == ExamStatus.IN_PROGRESS


def test_a_refusing_peer_is_retried_then_failed_and_resent(live: Any, actors: dict[str, Actor], clock: Any) -> None:
    svc, port = live
    emu = peer(svc, port, fault="refuse")
    try:
        accession, _source = send_and_link(svc, actors)
        assert recon_send.send_pending(svc)["retried"] == 1
        link = recon.link_of(svc, accession)
        assert link is not None
        assert link["state"] == "pending"
        assert "将自动重试" in link["reason"]
        clock.advance(seconds=5)
        assert recon_send.send_pending(svc)["dead"] == 1
        link = recon.link_of(svc, accession)
        assert link is not None
        assert link["state"] == "failed"
        assert "拒绝" in link["reason"]
        assert link["resendable"]
    finally:
        emu.stop()
    emu = peer(svc, port, fault="refuse_store")
    try:
        recon.resend(svc, accession, by=actors["tech"])
        assert recon_send.send_pending(svc)["retried"] == 1
        link = recon.link_of(svc, accession)
        assert link is not None
        assert "0xA700" in link["reason"]
    finally:
        emu.stop()
    emu = peer(svc, port)
    try:
        clock.advance(seconds=5)
        recon_send.send_pending(svc)
        wait_state(svc, accession, {"completed"})
    finally:
        emu.stop()
    assert exam_status(svc, accession, actors) == ExamStatus.COMPLETED


@pytest.mark.parametrize("fault", ["nothing", "partial"])
def test_no_complete_answer_times_out_on_the_exam_list(live: Any, actors: dict[str, Actor], clock: Any,
                                                       fault: str) -> None:
    svc, port = live
    emu = peer(svc, port, fault=fault)
    try:
        accession, _source = send_and_link(svc, actors)
        recon_send.send_pending(svc)
        assert wait_state(svc, accession, {"sent"})["deadline_at"]
        wait_job(emu, {"nothing", "pending"} if fault == "nothing" else {"partial"})
    finally:
        emu.stop()
    assert recon_results.check_deadlines(svc) == 0  # not yet
    clock.advance(seconds=601)
    assert recon_results.check_deadlines(svc) == 1
    link = recon.link_of(svc, accession)
    assert link is not None
    assert link["state"] == "timed_out"
    assert link["resendable"]
    assert exam_status(svc, accession, actors) == ExamStatus.IN_PROGRESS
    row = exam_list.search(svc, ExamFilter(accession=accession), by=actors["admin"])["items"][0]
    assert row["recon"]["state"] == "timed_out"
    assert row["recon"]["label"] == "重建超时"
    assert recon.resend(svc, accession, by=actors["tech"])["state"] == "pending"


def test_slow_peer_still_completes(live: Any, actors: dict[str, Actor]) -> None:
    svc, port = live
    emu = peer(svc, port, fault="slow", delay_s=1.0)
    try:
        accession, _source = send_and_link(svc, actors)
        recon_send.send_pending(svc)
        wait_state(svc, accession, {"completed"})
    finally:
        emu.stop()
    assert exam_status(svc, accession, actors) == ExamStatus.COMPLETED


def _store_as_recon(port: int, *datasets: Dataset) -> list[int]:
    ae = AE("RECON")
    ae.add_requested_context(CTImageStorage, [str(datasets[0].file_meta.TransferSyntaxUID)])
    assoc = ae.associate("127.0.0.1", port, ae_title="RADOPS")
    assert assoc.is_established
    try:
        return [int(assoc.send_c_store(ds).Status) for ds in datasets]
    finally:
        assoc.release()


def _sent_to_a_silent_peer(svc: Any, port: int, actors: dict[str, Actor]) -> tuple[str, Any, dict[str, Any]]:
    """A linked exam whose source the peer received and never answered: (accession, source, link)."""
    emu = peer(svc, port, fault="nothing")
    try:
        accession, source = send_and_link(svc, actors)
        recon_send.send_pending(svc)
        link = wait_state(svc, accession, {"sent"})
    finally:
        emu.stop()
    return accession, source, link


def test_results_for_a_discontinued_exam_or_no_request_are_unmatched(live: Any, actors: dict[str, Actor]) -> None:
    svc, port = live
    accession, source, link = _sent_to_a_silent_peer(svc, port, actors)
    exam_id = exam_list.get_exam(svc, by=actors["admin"], accession=accession)["id"]
    timeline.apply(svc, exam_id, Trigger.DISCONTINUE, by=actors["tech"])
    mrn = str(source[0].PatientID)
    late = ct_slice(study_uid=link["target_study_uid"], accession=accession, patient_id=mrn)
    stray = ct_slice(accession=str(source[0].AccessionNumber), patient_id=mrn)
    assert _store_as_recon(port, late) == [0]
    assert _store_as_recon(port, stray) == [0]
    unmatched = {s["study_uid"] for s in matching.unmatched_studies(svc, actors["admin"])}
    assert {link["target_study_uid"], str(stray.StudyInstanceUID)} <= unmatched
    assert recon.link_of(svc, accession)["state"] == "sent"  # type: ignore[index]


def test_results_must_reference_the_source_with_its_geometry(live: Any, actors: dict[str, Actor]) -> None:
    svc, port = live
    accession, source, link = _sent_to_a_silent_peer(svc, port, actors)
    src = source[0]

    def result(frame_of_reference: str) -> Dataset:
        ds = ct_slice(study_uid=link["target_study_uid"], accession=accession, patient_id=str(src.PatientID))
        ref = Dataset()
        ref.SeriesInstanceUID = src.SeriesInstanceUID
        ds.ReferencedSeriesSequence = [ref]
        ds.FrameOfReferenceUID = frame_of_reference
        ds.ImageOrientationPatient = list(src.ImageOrientationPatient)
        return ds

    wrong, right = result(generate_uid()), result(str(src.FrameOfReferenceUID))
    assert _store_as_recon(port, wrong) == [0]
    assert _store_as_recon(port, right) == [0]
    done = wait_state(svc, accession, {"completed"})
    assert [r["uid"] for r in done["results"]] == [str(right.SeriesInstanceUID)]


def test_undo_returns_the_exam_only_when_the_link_alone_started_it(live: Any, actors: dict[str, Actor]) -> None:
    svc, _port = live
    accession, source = prior_and_exam(svc, actors)
    exam_id = exam_list.get_exam(svc, by=actors["admin"], accession=accession)["id"]
    prior = str(source[0].StudyInstanceUID)
    # The link started the exam, nothing else happened: undo -> 已登记, with its timeline row.
    recon.link(svc, accession, study_uid=prior, by=actors["tech"])
    undone = recon.unlink(svc, accession, by=actors["tech"])
    assert (undone["state"], undone["exam_status"]) == ("undone", ExamStatus.REGISTERED)
    assert "已登记" in undone["exam_note"]
    assert exam_status(svc, accession, actors) == ExamStatus.REGISTERED
    rows = [e for e in timeline.events_of(svc, exam_id) if e["kind"] == "start_undone"]
    assert len(rows) == 1
    assert rows[0]["details"]["source"] == "recon"

    # Linked again (it starts again), then an image of the exam's own study arrives: undo keeps 检查中.
    link = recon.link(svc, accession, study_uid=prior, by=actors["tech"])
    mrn = str(source[0].PatientID)
    own = ct_slice(study_uid=link["target_study_uid"], accession=accession, patient_id=mrn)
    archive.store_instance(svc, header(own), file_bytes(own), received_from="CT01")
    kept = recon.unlink(svc, accession, by=actors["tech"])
    assert kept["exam_status"] == ExamStatus.IN_PROGRESS
    assert "已收到 1 幅图像" in kept["exam_note"]
    assert exam_status(svc, accession, actors) == ExamStatus.IN_PROGRESS
    assert [e["kind"] for e in timeline.events_of(svc, exam_id)].count("start_undone") == 1


def test_undo_keeps_an_exam_that_was_started_otherwise(live: Any, actors: dict[str, Actor]) -> None:
    svc, _port = live
    accession, source = prior_and_exam(svc, actors)
    exam_id = exam_list.get_exam(svc, by=actors["admin"], accession=accession)["id"]
    timeline.apply(svc, exam_id, Trigger.START, by=actors["tech"])  # the technologist started it
    recon.link(svc, accession, study_uid=str(source[0].StudyInstanceUID), by=actors["tech"])
    kept = recon.unlink(svc, accession, by=actors["tech"])
    assert kept["exam_status"] == ExamStatus.IN_PROGRESS
    assert "不是由引用历史图像开始" in kept["exam_note"]
    assert exam_status(svc, accession, actors) == ExamStatus.IN_PROGRESS
    assert "start_undone" not in [e["kind"] for e in timeline.events_of(svc, exam_id)]
