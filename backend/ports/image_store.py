"""The image archive's file storage (issue 10 item 3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


class ImageStore(Protocol):
    """Where archived DICOM files live, by key (`domain.imaging.content_path`): files under var/ by
    default (`backend/dicom/storage.py`), S3-compatible object storage at scale
    (`integrations/object_storage/images.py`). A new file is first *staged* (a temporary copy under the
    key), then indexed, then *committed* (renamed into place), so a crash leaves either a staged copy that
    the start-up repair finishes or drops, or nothing: never a file without its index row."""

    def stage(self, key: str, data: bytes) -> None: ...

    def commit(self, key: str) -> None: ...

    def discard(self, key: str) -> None: ...

    def read(self, key: str) -> bytes: ...

    def read_staged(self, key: str) -> bytes: ...

    def local_path(self, key: str) -> Path | None: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def staged(self) -> Iterator[str]: ...

    def keys(self) -> Iterator[str]: ...
