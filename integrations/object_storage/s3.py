"""ObjectStore over boto3: one PUT for a small file, a resumable multipart upload for a large one.

A single PUT carries Content-MD5, which S3, Aliyun OSS, MinIO and Ceph check, so a corrupted body is
refused on arrival. Each part of a multipart upload is checked by its ETag, which the store computes as the
MD5 of the bytes it received: a part whose ETag differs from our MD5 is refused before the upload is
completed (and sent again by the next try), so the store does no second MD5 for us (on buckets with
SSE-KMS, whose ETags are not MD5s, set `verify_parts=False` and rely on the final check). The file's
SHA-256 travels in the object's metadata (`x-amz-meta-sha256`) and is what `stat` reports. A multipart
upload left open by a crash is found again by its key; its parts whose ETag equals the MD5 of our bytes
are kept, the others are sent, and the result is checked against the multipart ETag we expect.
boto3's managed transfer (upload_file) is not used for large files: it cannot resume across processes.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from backend.ports.cadre_health import StoredObject
from integrations.errors import PartnerProtocolError, PartnerRejected, PartnerUnavailable

logger = logging.getLogger(__name__)
MIB = 1024 * 1024
CHUNK = 4 * MIB
UNAVAILABLE = "对象存储暂不可用，稍后自动重试"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _md5(data: bytes) -> tuple[str, str]:
    """(hex, base64) MD5 of `data`: the ETag S3 gives a part, and the Content-MD5 header."""
    digest = hashlib.md5(data, usedforsecurity=False).digest()
    return digest.hex(), base64.b64encode(digest).decode()


def _translate(exc: Exception, what: str) -> Exception:
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if status >= 500 or code in {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"}:
            return PartnerUnavailable(UNAVAILABLE, step=what, s3_code=code)
        return PartnerRejected(f"对象存储拒绝了请求（{code or status}）", step=what, s3_code=code)
    return PartnerUnavailable(UNAVAILABLE, step=what)


class S3ObjectStore:
    """ObjectStore on one bucket of an injected boto3 S3 client (see `make_client`)."""

    def __init__(self, client: Any, *, bucket: str, part_size: int = 8 * MIB, multipart_threshold: int = 16 * MIB,
                 workers: int = 10, verify_parts: bool = True) -> None:
        if part_size < 5 * MIB:
            raise ValueError("S3 parts are at least 5 MiB")
        self.client = client
        self.bucket = bucket
        self.part_size = part_size
        self.threshold = max(multipart_threshold, part_size)
        self.workers = workers
        self.verify_parts = verify_parts

    def stat(self, *, key: str) -> StoredObject | None:
        """The stored object's size and SHA-256, or None when there is none under `key`."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise _translate(exc, "head") from exc
        except BotoCoreError as exc:
            raise _translate(exc, "head") from exc
        return StoredObject(bucket=self.bucket, key=key, size=int(head["ContentLength"]),
                            sha256=str(head.get("Metadata", {}).get("sha256", "")), etag=str(head.get("ETag", "")))

    def put_file(self, *, key: str, path: Path, sha256: str | None = None) -> StoredObject:
        """Store the file under `key` (again only what is missing: an equal object or finished parts stay)."""
        size = path.stat().st_size
        try:
            if size < self.threshold:
                return self._put_small(key, path.read_bytes(), sha256)
            return self._put_large(key, path, size, sha256 or file_sha256(path))
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, "upload") from exc

    def _put_small(self, key: str, data: bytes, sha256: str | None) -> StoredObject:
        digest = sha256 or hashlib.sha256(data).hexdigest()
        md5_hex, md5_b64 = _md5(data)
        resp = self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentMD5=md5_b64,
                                      Metadata={"sha256": digest})
        return self._checked(key, len(data), digest, str(resp.get("ETag", "")), f'"{md5_hex}"')

    def _put_large(self, key: str, path: Path, size: int, digest: str) -> StoredObject:
        existing = self.stat(key=key)
        if existing is not None and existing.size == size and existing.sha256 == digest:
            return existing  # stored before (a retry after the answer was lost)
        upload_id, done = self._open_upload(key)
        if upload_id is None:
            upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key,
                                                            Metadata={"sha256": digest})["UploadId"]
        count = -(-size // self.part_size)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            parts = list(pool.map(lambda n: self._part(key, upload_id, path, n, done.get(n)), range(1, count + 1)))
        resp = self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload_id,
            MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": n} for n, etag, _md5 in parts]})
        combined = hashlib.md5(b"".join(bytes.fromhex(m) for _n, _e, m in parts), usedforsecurity=False)
        return self._checked(key, size, digest, str(resp.get("ETag", "")), f'"{combined.hexdigest()}-{count}"')

    def _open_upload(self, key: str) -> tuple[str | None, dict[int, str]]:
        """The newest multipart upload left open for `key` and the ETags of its finished parts."""
        found = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key).get("Uploads", [])
        mine = sorted((u for u in found if u["Key"] == key), key=lambda u: u["Initiated"])
        if not mine:
            return None, {}
        upload_id = mine[-1]["UploadId"]
        done: dict[int, str] = {}
        for page in self.client.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=key,
                                                                     UploadId=upload_id):
            done.update({int(p["PartNumber"]): str(p["ETag"]) for p in page.get("Parts", [])})
        logger.info("object storage: resuming an upload with %d parts already stored", len(done))
        return upload_id, done

    def _part(self, key: str, upload_id: str, path: Path, number: int, stored: str | None) -> tuple[int, str, str]:
        with path.open("rb") as f:
            f.seek((number - 1) * self.part_size)
            data = f.read(self.part_size)
        md5_hex, _md5_b64 = _md5(data)
        if stored == f'"{md5_hex}"':
            return number, stored, md5_hex
        resp = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                       Body=data)
        etag = str(resp["ETag"])
        if self.verify_parts and etag.lower() != f'"{md5_hex}"':
            raise PartnerProtocolError("对象存储收到的分片与本地不一致（ETag 不符）", key=key, part=number)
        return number, etag, md5_hex

    def _checked(self, key: str, size: int, digest: str, etag: str, expected: str) -> StoredObject:
        if etag.lower() != expected.lower():
            raise PartnerProtocolError("对象存储中的文件与本地文件不一致（ETag 不符）", key=key)
        return StoredObject(bucket=self.bucket, key=key, size=size, sha256=digest, etag=etag)


def make_client(*, endpoint_url: str, access_key: str, secret_key: str, region: str = "cn-hangzhou",
                connect_timeout: float = 5, read_timeout: float = 60) -> Any:
    """A boto3 S3 client for an S3-compatible store (path-style; checksums only where the API needs them:
    Content-MD5 is ours, and some compatible stores refuse the newer trailing CRC checksums)."""
    import boto3
    from botocore.config import Config

    config = Config(signature_version="s3v4", s3={"addressing_style": "path"},
                    request_checksum_calculation="when_required", response_checksum_validation="when_required",
                    connect_timeout=connect_timeout, read_timeout=read_timeout,
                    retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=16)
    return boto3.client("s3", endpoint_url=endpoint_url, aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key, region_name=region, config=config)
