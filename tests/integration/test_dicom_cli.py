"""The DICOM command line (issue 10 item 8) against RadOps' own DICOM services on loopback, and the demo
images of the seed (item 7)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from backend.bootstrap import build_services
from backend.commands import dicom
from backend.domain.actor import SYSTEM
from backend.domain.exam_flow import Trigger
from backend.entrypoints.listeners.dicom_scp import start_dicom
from backend.seed.images import seed_images
from backend.services import timeline
from backend.services.imaging import index, nodes
from tests.helpers import register
from tests.imaging_helpers import ct_slice, file_bytes


@pytest.fixture
def live(settings: Any, fresh_db_url: str, clock: Any) -> Any:
    svc = build_services(settings.with_(database_url=fresh_db_url, dicom_port=0), clock=clock)
    handle, _line = start_dicom(svc)
    svc.settings = svc.settings.with_(dicom_port=handle.port)
    for ae, port in (("RADOPS_CLI", 11115), ("SELF", handle.port)):
        nodes.save_node(svc, {"ae_title": ae, "host": "127.0.0.1", "port": port,
                              "rights": ["store", "query", "retrieve"]}, by=SYSTEM)
    yield svc
    handle.stop()
    svc.session_factory.kw["bind"].dispose()


def _folder(tmp: Path, n: int) -> tuple[Path, Any]:
    first = ct_slice()
    folder = tmp / "cd"
    (folder / "sub").mkdir(parents=True)
    for i in range(n):
        ds = first if i == 0 else ct_slice(study_uid=first.StudyInstanceUID, number=i + 1)
        (folder / "sub" / f"IM{i}").write_bytes(file_bytes(ds))
    (folder / "README.TXT").write_text("not an image")
    return folder, first


def test_dicom_echo_a_known_node(live: Any, capsys: Any) -> None:
    assert dicom.dicom_echo(live.settings, argparse.Namespace(node="SELF", calling_ae="RADOPS_CLI")) == 0
    assert "成功" in capsys.readouterr().out


def test_dicom_echo_an_unknown_node_is_one_chinese_line(live: Any) -> None:
    from backend.domain.errors import NotFound

    with pytest.raises(NotFound, match="未知的 DICOM 节点"):
        dicom.dicom_echo(live.settings, argparse.Namespace(node="NOPE", calling_ae="RADOPS_CLI"))


def test_dicom_send_a_folder_over_one_association(live: Any, tmp_path: Path, capsys: Any) -> None:
    folder, first = _folder(tmp_path, 4)
    ns = argparse.Namespace(node="SELF", calling_ae="RADOPS_CLI", paths=[folder])
    assert dicom.dicom_send(live.settings, ns) == 0
    out = capsys.readouterr().out
    assert "已发送 4 个" in out
    assert "跳过（非 DICOM）1 个" in out
    study = index.get_study(live, first.StudyInstanceUID)
    assert study is not None
    assert (study.instance_count, study.received_from) == (4, "RADOPS_CLI")


def test_dicom_import_a_folder_then_again(live: Any, tmp_path: Path, capsys: Any) -> None:
    folder, first = _folder(tmp_path, 3)
    ns = argparse.Namespace(paths=[folder], source="CD")
    assert dicom.dicom_import(live.settings, ns) == 0
    assert "stored=3" in capsys.readouterr().out
    assert dicom.dicom_import(live.settings, ns) == 0
    assert "same=3" in capsys.readouterr().out  # the same files again: nothing new
    assert index.get_study(live, first.StudyInstanceUID).instance_count == 3  # type: ignore[union-attr]


def test_progress_bar_counts_to_the_total(capsys: Any) -> None:
    bar = dicom.Progress("发送", 2, enabled=True)
    bar(1)
    bar(2)
    err = capsys.readouterr().err
    assert "1/2" in err
    assert "100% 2/2" in err


def test_seed_images_archives_synthetic_studies_for_performed_exams(live: Any) -> None:
    made = register(live, SYSTEM, "DR-CHEST", patient_class="emergency")
    for trigger in (Trigger.START, Trigger.COMPLETE):
        timeline.apply(live, made["exam_id"], trigger, by=SYSTEM)
    summary = seed_images(live.settings, seed=7)
    assert summary["patients"] == 1
    assert summary["instances"] == 1
    studies = index.find_studies(live, exam_id=made["exam_id"])
    assert [s.modalities for s in studies] == ["DX"]
    assert {n.ae_title for n in nodes.all_nodes(live)} >= {"CT01", "RECON", "RADOPS_CLI"}
