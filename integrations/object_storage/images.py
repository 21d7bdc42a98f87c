"""The image archive's files in an S3-compatible bucket (Aliyun OSS, MinIO, Ceph; moto on loopback): the
`ImageStore` port with boto3. A staged file is the object `<key>.part`; `commit` copies it to `<key>`
server-side and deletes the staged object, so the index never names an object that is not whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from integrations.errors import PartnerUnavailable

PART = ".part"


class S3ImageStore:
    """Objects under `prefix` in `bucket` of an injected boto3 client (`object_storage.s3.make_client`)."""

    def __init__(self, client: Any, *, bucket: str, prefix: str = "dicom/") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _call(self, what: str, fn: Any, **kw: Any) -> Any:
        try:
            return fn(Bucket=self.bucket, **kw)
        except (ClientError, BotoCoreError) as exc:
            raise PartnerUnavailable("影像对象存储暂不可用", step=what) from exc

    def stage(self, key: str, data: bytes) -> None:
        self._call("put", self.client.put_object, Key=self.prefix + key + PART, Body=data)

    def commit(self, key: str) -> None:
        source = {"Bucket": self.bucket, "Key": self.prefix + key + PART}
        self._call("copy", self.client.copy_object, Key=self.prefix + key, CopySource=source)
        self._call("delete", self.client.delete_object, Key=self.prefix + key + PART)

    def discard(self, key: str) -> None:
        self._call("delete", self.client.delete_object, Key=self.prefix + key + PART)

    def read(self, key: str) -> bytes:
        return bytes(self._call("get", self.client.get_object, Key=self.prefix + key)["Body"].read())

    def read_staged(self, key: str) -> bytes:
        return bytes(self._call("get", self.client.get_object, Key=self.prefix + key + PART)["Body"].read())

    def local_path(self, key: str) -> Path | None:
        return None

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise PartnerUnavailable("影像对象存储暂不可用", step="head") from exc
        return True

    def delete(self, key: str) -> None:
        self._call("delete", self.client.delete_object, Key=self.prefix + key)

    def _list(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                yield str(obj["Key"])[len(self.prefix):]

    def staged(self) -> Iterator[str]:
        return (k[: -len(PART)] for k in self._list() if k.endswith(PART))

    def keys(self) -> Iterator[str]:
        return (k for k in self._list() if not k.endswith(PART))
