"""The cadre-health wiring (CD-1..CD-4 phase 2): settings from the environment with the secrets kept out of
repr(); the embedded run's helper starts the emulator (its roster: the patients flagged 保健对象) and a moto S3
server with the bucket where the settings point; the ports bootstrap builds from the same settings reach both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.bootstrap import build_services
from backend.config import load_settings
from backend.domain.registration import OrderData, PatientData
from backend.entrypoints.listeners.cadre_health_emulator import start_cadre_health_emulator
from backend.services.orders import registration
from tests.processes import free_port


def test_settings_come_from_the_environment_and_hide_the_secrets() -> None:
    s = load_settings({"RADOPS_CADRE_URL": "https://cadre.example.gov", "RADOPS_CADRE_CLIENT_SECRET": "s3cr3t-A",
                       "RADOPS_CADRE_S3_SECRET_KEY": "s3cr3t-B", "RADOPS_CADRE_S3_BUCKET": "gov-oss",
                       "RADOPS_CADRE_TOKEN_URL": "https://idp.example.gov/token"})
    assert (s.cadre_health_url, s.cadre_s3_bucket, s.cadre_health_token_url) == (
        "https://cadre.example.gov", "gov-oss", "https://idp.example.gov/token")
    assert (s.cadre_health_client_secret, s.cadre_s3_secret_key) == ("s3cr3t-A", "s3cr3t-B")
    assert "s3cr3t" not in repr(s)
    assert load_settings({"RADOPS_CADRE_URL": ""}).cadre_health_url == ""


def test_the_helper_starts_the_emulator_and_s3_and_the_real_ports_reach_them(settings: Any, fresh_db_url: str,
                                                                            tmp_path: Path, actors: Any) -> None:
    base = settings.with_(database_url=fresh_db_url, var_dir=tmp_path / "var",
                          cadre_health_url=f"http://127.0.0.1:{free_port()}",
                          cadre_s3_endpoint=f"http://127.0.0.1:{free_port()}")
    seeding = build_services(base)
    patient = PatientData(mrn="CADRE0001", name="王建国", sex="M", id_card="330102195001011234", cadre_health=True)
    registration.register(seeding, OrderData(patient=patient, item_code="DR-CHEST"), by=actors["clerk"])
    svc = build_services(base)  # the real client and S3 store, from the settings
    handle, line = start_cadre_health_emulator(svc)
    try:
        assert base.cadre_health_url in line
        assert "对象存储" in line
        assert svc.ports.cadre_health is not None
        assert svc.ports.cadre_storage is not None
        [person] = svc.ports.cadre_health.covered_persons()
        assert person.id_no == "330102195001011234"
        assert "radops-demo-secret" not in repr(svc.ports.cadre_health)
        sample = tmp_path / "x.bin"
        sample.write_bytes(b"DICM" * 100)
        stored = svc.ports.cadre_storage.put_file(key="cadre/probe.bin", path=sample)
        assert svc.ports.cadre_storage.stat(key="cadre/probe.bin") == stored
    finally:
        handle.stop()


def test_nothing_is_started_or_wired_without_a_url(settings: Any) -> None:
    svc = build_services(settings.with_(cadre_health_url=""))
    assert svc.ports.cadre_health is None
    assert svc.ports.cadre_storage is None
    handle, line = start_cadre_health_emulator(svc)
    handle.stop()
    assert "未启动" in line
