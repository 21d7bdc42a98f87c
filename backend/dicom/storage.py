"""The image archive's files under a folder (var/dicom by default): the `ImageStore` port on a file system.

A staged file is `<key>.part` beside its final place; `commit` renames it into place (atomic on one file
system, replacing an older copy), so a reader never sees half a file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

PART = ".part"


class FileImageStore:
    """Files under `root`; keys are relative paths with forward slashes."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"bad storage key: {key!r}")
        return self.root / key

    def stage(self, key: str, data: bytes) -> None:
        path = self._path(key)
        part = path.with_name(path.name + PART)
        try:
            part.write_bytes(data)
        except FileNotFoundError:
            part.parent.mkdir(parents=True, exist_ok=True)
            part.write_bytes(data)

    def commit(self, key: str) -> None:
        path = self._path(key)
        os.replace(path.with_name(path.name + PART), path)

    def discard(self, key: str) -> None:
        path = self._path(key)
        path.with_name(path.name + PART).unlink(missing_ok=True)

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def read_staged(self, key: str) -> bytes:
        path = self._path(key)
        return path.with_name(path.name + PART).read_bytes()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def staged(self) -> Iterator[str]:
        for path in self.root.rglob(f"*{PART}"):
            yield path.relative_to(self.root).as_posix()[: -len(PART)]

    def keys(self) -> Iterator[str]:
        for path in self.root.rglob("*.dcm"):
            yield path.relative_to(self.root).as_posix()
