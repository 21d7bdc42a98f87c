"""The cadre-health upload survives kills (issue 13, "Bad input and faults"): a worker process is killed with
SIGKILL at random moments, 20 times, while it uploads exams to the emulator and a moto S3 server on loopback
(two, and one more whenever a worker finishes between kills, so that all 20 kills land in work); after a last
run to the end, every file is stored once with its bytes, every file's details and every report are held once
by the system, and the ledger says done."""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from backend.bootstrap import build_services
from backend.db.models import CadreUpload, CadreUploadFile
from backend.services.base import transaction
from backend.services.cadre_health import roster
from backend.services.imaging import archive
from integrations.cadre_health.emulator import CadreHealthEmulator
from integrations.object_storage.loopback import LoopbackS3
from integrations.object_storage.s3 import make_client
from tests.cadre_helpers import ORG, PERSON, covered_exam
from tests.fakes import fake_ports
from tests.processes import PYTHON, Proc, radops_env, wait_until

KILLS = 20
REGION = "cn-hangzhou"


@pytest.fixture
def partners() -> Iterator[tuple[CadreHealthEmulator, LoopbackS3]]:
    emu = CadreHealthEmulator().start()
    emu.add_person(PERSON)
    s3 = LoopbackS3().start()
    yield emu, s3
    s3.stop()
    emu.stop()


def worker(env: dict[str, str], log: Path) -> Proc:
    return Proc([PYTHON, "-m", "tests.cadre_worker"], env, log)


def test_every_file_and_report_arrives_once_across_random_kills(settings: Any, fresh_db_url: str, tmp_path: Path,
                                                                 actors: Any, clock: Any, partners: Any) -> None:
    emu, s3_server = partners
    bucket = f"cadre-{uuid.uuid4().hex[:12]}"
    s3 = make_client(endpoint_url=s3_server.url, access_key="radops", secret_key="radops-secret")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    var = tmp_path / "var"
    svc = build_services(settings.with_(database_url=fresh_db_url, var_dir=var, cadre_s3_bucket=bucket,
                                        cadre_health_org_code=ORG), clock=clock, ports=replace(fake_ports()))
    roster.store(svc, [PERSON])
    exams = 2
    for _ in range(exams):
        covered_exam(svc, actors, files=12)
    env = radops_env(fresh_db_url, var, RADOPS_CADRE_URL=emu.url, RADOPS_CADRE_S3_ENDPOINT=s3_server.url,
                     RADOPS_CADRE_S3_BUCKET=bucket, RADOPS_CADRE_ORG_CODE=ORG, RADOPS_CADRE_S3_ACCESS_KEY="radops",
                     RADOPS_CADRE_S3_SECRET_KEY="radops-secret", CADRE_TEST_LEASE_S="1")
    emu.set_faults(slow=0.03)  # a little latency per call, so the kills land inside the work
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    kills = 0
    for n in range(3 * KILLS):  # bounded: a fast machine may finish the work between kills
        if kills == KILLS:
            break
        proc = worker(env, tmp_path / f"worker-{n}.log")
        wait_until(lambda p=proc: "ready" in p.log() or p.popen.poll() is not None, timeout=60, what="worker ready")
        time.sleep(rng.uniform(0.0, 1.5))
        if proc.popen.poll() is not None:
            proc.wait()  # it finished the work before the kill came: give it more, so every kill lands in work
            covered_exam(svc, actors, files=12)
            exams += 1
            continue
        proc.kill()
        proc.wait()
        kills += 1
    emu.set_faults(slow=0)
    last = worker(env, tmp_path / "worker-last.log")
    assert last.wait(timeout=300) == 0, f"seed {seed}: {last.log()[-3000:]}"
    assert kills == KILLS, f"seed {seed}: only {kills} kills landed in the work"

    with transaction(svc, readonly=True) as tx:
        rows = [(r.state, r.files_done, r.files_total, r.report_version)
                for r in tx.session.scalars(select(CadreUpload))]
        files = [(f.object_key, f.sop_uid, f.file_id, f.state) for f in tx.session.scalars(select(CadreUploadFile))]
    assert rows == [("done", 12, 12, 1)] * exams, f"seed {seed}"
    assert len(files) == 12 * exams
    assert {f[3] for f in files} == {"posted"}
    state = emu.state
    assert set(state.files) == {f[2] for f in files}  # each file held once by the system
    assert len(state.reports) == exams
    resent = sum(state.posts.values()) - len(state.posts)
    assert resent <= kills, f"seed {seed}: {resent} repeated posts for {kills} kills"  # at most the step under way
    listed = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
              for o in page.get("Contents", [])]
    assert sorted(listed) == sorted([f[0] for f in files] + [r["pdfObjectKey"] for r in state.reports.values()])
    for key, sop, _file_id, _state in files:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert hashlib.sha256(body).digest() == hashlib.sha256(archive.read_instance(svc, sop)).digest()
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    s3.close()
