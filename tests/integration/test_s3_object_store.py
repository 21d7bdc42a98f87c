"""S3 uploads against a real S3-protocol server on loopback (moto's server mode): small files in one PUT,
large ones in parts, a crashed upload resumed from its stored parts, checksums checked, failures mapped."""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrations.errors import PartnerRejected, PartnerUnavailable
from integrations.object_storage.loopback import LoopbackS3
from integrations.object_storage.s3 import MIB, S3ObjectStore, make_client

PART = 5 * MIB


@pytest.fixture(scope="module")
def s3_server() -> Iterator[LoopbackS3]:
    server = LoopbackS3().start()
    yield server
    server.stop()


@pytest.fixture
def s3(s3_server: LoopbackS3) -> Any:
    """A boto3 client on the loopback server, counting the S3 operations it sends."""
    client = make_client(endpoint_url=s3_server.url, access_key="radops", secret_key="radops-secret")
    client.calls = Counter()
    client.meta.events.register("before-call.s3.*", lambda model, **_: client.calls.update([model.name]))
    return client


@pytest.fixture
def store(s3: Any) -> S3ObjectStore:
    bucket = f"cadre-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "cn-hangzhou"})
    s3.calls.clear()
    return S3ObjectStore(s3, bucket=bucket, part_size=PART, multipart_threshold=6 * MIB, workers=3)


def blob(tmp_path: Path, size: int, name: str = "f.dcm") -> Path:
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def downloaded(store: S3ObjectStore, key: str) -> bytes:
    return bytes(store.client.get_object(Bucket=store.bucket, Key=key)["Body"].read())


def test_a_small_file_is_one_put_with_its_checksums(store, tmp_path):
    path = blob(tmp_path, 300 * 1024)
    stored = store.put_file(key="cadre/a/1.dcm", path=path)
    assert store.client.calls == Counter({"PutObject": 1})
    assert (stored.size, stored.sha256) == (path.stat().st_size, sha(path))
    assert downloaded(store, "cadre/a/1.dcm") == path.read_bytes()
    assert store.stat(key="cadre/a/1.dcm") == stored
    assert store.stat(key="cadre/a/none.dcm") is None


def test_a_large_file_goes_in_parts_and_is_not_sent_again(store, tmp_path):
    path = blob(tmp_path, 2 * PART + 123_457)
    stored = store.put_file(key="cadre/a/big.dcm", path=path)
    assert store.client.calls["UploadPart"] == 3
    assert stored.etag.endswith('-3"')
    assert downloaded(store, "cadre/a/big.dcm") == path.read_bytes()
    assert store.stat(key="cadre/a/big.dcm").sha256 == sha(path)
    store.client.calls.clear()
    assert store.put_file(key="cadre/a/big.dcm", path=path) == stored  # stored once: nothing is sent again
    assert store.client.calls == Counter({"HeadObject": 1})


def test_an_upload_left_open_by_a_crash_resumes_from_its_stored_parts(store, tmp_path):
    path = blob(tmp_path, 3 * PART + 1000)
    data = path.read_bytes()
    key = "cadre/a/resumed.dcm"
    # What a process killed in the middle leaves behind: an open upload with its first two parts stored.
    upload = store.client.create_multipart_upload(Bucket=store.bucket, Key=key, Metadata={"sha256": sha(path)})
    for n in (1, 2):
        store.client.upload_part(Bucket=store.bucket, Key=key, UploadId=upload["UploadId"], PartNumber=n,
                                 Body=data[(n - 1) * PART: n * PART])
    store.client.calls.clear()
    stored = store.put_file(key=key, path=path)
    assert store.client.calls["UploadPart"] == 2  # parts 3 and 4 only
    assert store.client.calls["CreateMultipartUpload"] == 0
    assert downloaded(store, key) == data
    assert stored.sha256 == sha(path)


def test_a_stored_part_that_differs_from_the_file_is_sent_again(store, tmp_path):
    path = blob(tmp_path, 2 * PART + 10)
    key = "cadre/a/damaged.dcm"
    upload = store.client.create_multipart_upload(Bucket=store.bucket, Key=key, Metadata={"sha256": sha(path)})
    store.client.upload_part(Bucket=store.bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1,
                             Body=os.urandom(PART))
    store.client.calls.clear()
    store.put_file(key=key, path=path)
    assert store.client.calls["UploadPart"] == 3
    assert downloaded(store, key) == path.read_bytes()


def test_a_missing_bucket_is_a_rejection_and_a_closed_port_is_unavailable(s3, tmp_path):
    path = blob(tmp_path, 1000)
    with pytest.raises(PartnerRejected) as e:
        S3ObjectStore(s3, bucket="no-such-bucket-here").put_file(key="k", path=path)
    assert e.value.details["s3_code"] == "NoSuchBucket"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = make_client(endpoint_url=f"http://127.0.0.1:{port}", access_key="a", secret_key="b", connect_timeout=1)
    with pytest.raises(PartnerUnavailable):
        S3ObjectStore(dead, bucket="cadre").put_file(key="k", path=path)
