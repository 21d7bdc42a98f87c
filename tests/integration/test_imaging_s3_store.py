"""The archive on S3-compatible object storage (issue 10 item 3): the same service code, with the files
in a bucket of a real S3-protocol server on loopback (moto's server mode), picked by settings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from backend.bootstrap import image_store
from backend.services.base import Services
from backend.services.imaging import archive, repair
from integrations.object_storage.images import S3ImageStore
from integrations.object_storage.loopback import LoopbackS3
from tests.imaging_helpers import ct_slice, file_bytes, header


@pytest.fixture(scope="module")
def s3_server() -> Iterator[LoopbackS3]:
    server = LoopbackS3().start()
    yield server
    server.stop()


@pytest.fixture
def s3_svc(svc: Services, s3_server: LoopbackS3) -> Services:
    bucket = f"img-{uuid.uuid4().hex[:8]}"
    svc.settings = svc.settings.with_(image_store="s3", image_s3_endpoint=s3_server.url, image_s3_bucket=bucket,
                                      image_s3_access_key="radops", image_s3_secret_key="radops-secret")
    store = image_store(svc.settings)
    assert isinstance(store, S3ImageStore)
    store.client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "cn-hangzhou"})
    svc.ports = replace(svc.ports, images=store)
    return svc


def test_instances_are_stored_in_the_bucket_and_read_back(s3_svc: Services) -> None:
    ds = ct_slice()
    data = file_bytes(ds)
    archive.store_instance(s3_svc, header(ds), data, received_from="CT01")
    store: Any = archive.image_store(s3_svc)
    assert archive.read_instance(s3_svc, ds.SOPInstanceUID) == data
    assert archive.instance_path(s3_svc, ds.SOPInstanceUID) is None
    assert list(store.staged()) == []
    assert len(list(store.keys())) == 1
    assert not (s3_svc.settings.var_dir / "dicom").exists()  # nothing went to the local disk


def test_repair_on_s3_drops_an_unacknowledged_staged_object(s3_svc: Services) -> None:
    store: Any = archive.image_store(s3_svc)
    store.stage("ab/1.2/1.2.3/1.2.3.4.dcm", b"half")
    assert repair.repair_archive(s3_svc).dropped_staged == 1
    assert list(store.staged()) == []
