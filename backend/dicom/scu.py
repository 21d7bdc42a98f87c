"""RadOps as a DICOM client (issue 10 item 8): C-ECHO a known node, C-STORE files to it (their bytes sent
as they are, over one association, TCP_NODELAY set), and read local files for import."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.errors import InvalidDicomError
from pynetdicom import AE, evt
from pynetdicom import _config as pynetdicom_config
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from backend.dicom.tags import header_of
from backend.dicom.transport import nodelay
from backend.domain.imaging import InstanceHeader

logger = logging.getLogger(__name__)
DIRECTORY_STORAGE = "1.2.840.10008.1.3.10"  # a CD's DICOMDIR: an index, not an image
MAX_CONTEXTS = 128


@dataclass(frozen=True, slots=True)
class Target:
    ae_title: str
    host: str
    port: int


def dicom_files(paths: Iterable[Path]) -> list[Path]:
    """Every file under the given files and folders (sorted; DICOMDIR and hidden files left out)."""
    out: list[Path] = []
    for p in paths:
        found = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        out.extend(f for f in found if f.name.upper() != "DICOMDIR" and not f.name.startswith("."))
    return out


def read_file(path: Path) -> tuple[InstanceHeader, bytes]:
    """The header and the bytes of a Part-10 file (ValueError: not a DICOM file, or a directory record)."""
    data = path.read_bytes()
    try:
        ds = dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, EOFError, OSError) as exc:
        raise ValueError(f"not a DICOM file ({type(exc).__name__})") from exc
    meta = getattr(ds, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta:
        raise ValueError("no File Meta (not a Part-10 file)")
    if str(meta.get("MediaStorageSOPClassUID", "")) == DIRECTORY_STORAGE:
        raise ValueError("a DICOMDIR index")
    return header_of(ds, transfer_syntax=str(meta.TransferSyntaxUID)), data


def _ae(calling_ae: str, timeout: float) -> AE:
    ae = AE(calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.maximum_pdu_size = 0
    return ae


def echo(target: Target, *, calling_ae: str, timeout: float = 10) -> int:
    """C-ECHO: the status (0 = success); -1 when the association was rejected or failed."""
    ae = _ae(calling_ae, timeout)
    ae.add_requested_context(Verification)
    assoc = ae.associate(target.host, target.port, ae_title=target.ae_title,
                         evt_handlers=[(evt.EVT_CONN_OPEN, nodelay)])
    if not assoc.is_established:
        return -1
    try:
        status = assoc.send_c_echo()
        return int(status.Status) if status else -1
    finally:
        assoc.release()


def _meta(path: Path) -> tuple[str, str] | None:
    try:
        ds = dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"])
    except (InvalidDicomError, EOFError, OSError):
        return None
    meta = getattr(ds, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta or "MediaStorageSOPClassUID" not in meta:
        return None
    if str(meta.MediaStorageSOPClassUID) == DIRECTORY_STORAGE:
        return None
    return str(meta.MediaStorageSOPClassUID), str(meta.TransferSyntaxUID)


def send(target: Target, files: list[Path], *, calling_ae: str, timeout: float = 30,
         progress: Callable[[int, Path, int], None] | None = None) -> dict[str, Any]:
    """C-STORE every DICOM file over as few associations as the 128-context limit allows; each file's bytes
    are sent unparsed (pynetdicom's chunked send). Returns counts and the failed files with their status."""
    metas = [(f, _meta(f)) for f in files]
    skipped = [str(f) for f, m in metas if m is None]
    good = [(f, m) for f, m in metas if m is not None]
    sent, failed = 0, []
    done = 0
    for batch in _batches(good):
        pairs = sorted({m for _f, m in batch})
        ae = _ae(calling_ae, timeout)
        for sop, syntax in pairs:  # one context per exact transfer syntax: the file's bytes go as they are
            ae.add_requested_context(sop, [syntax])
        previous = pynetdicom_config.STORE_SEND_CHUNKED_DATASET
        pynetdicom_config.STORE_SEND_CHUNKED_DATASET = True
        try:
            assoc = ae.associate(target.host, target.port, ae_title=target.ae_title,
                                 evt_handlers=[(evt.EVT_CONN_OPEN, nodelay)])
            if not assoc.is_established:
                raise ConnectionError(f"{target.ae_title}@{target.host}:{target.port} 拒绝或无法建立关联")
            try:
                for path, _m in batch:
                    status = assoc.send_c_store(path)
                    code = int(status.Status) if status else -1
                    if code in (0, 0xB000, 0xB007, 0xB006):
                        sent += 1
                    else:
                        failed.append((str(path), code))
                    done += 1
                    if progress is not None:
                        progress(done, path, code)
            finally:
                assoc.release()
        finally:
            pynetdicom_config.STORE_SEND_CHUNKED_DATASET = previous
    return {"sent": sent, "failed": failed, "skipped": skipped}


def _batches(items: list[tuple[Path, tuple[str, str]]]) -> Iterator[list[tuple[Path, tuple[str, str]]]]:
    """Runs of files whose (SOP class, transfer syntax) pairs fit in one association's presentation contexts."""
    batch: list[tuple[Path, tuple[str, str]]] = []
    pairs: set[tuple[str, str]] = set()
    for f, m in items:
        if m not in pairs and len(pairs) >= MAX_CONTEXTS:
            yield batch
            batch, pairs = [], set()
        pairs.add(m)
        batch.append((f, m))
    if batch:
        yield batch
