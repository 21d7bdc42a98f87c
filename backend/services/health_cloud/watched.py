"""Watched folders per workstation (HC-2, HC-3): each workstation's export folder (setting
`health_cloud.watch_folders`, {"US01": "/data/us01/export"}) is scanned by a job; a file named
`<检查号>_<anything>.<ext>` (or any file in a sub-folder named after the accession number) is converted
and archived for that exam like an attachment, then moved to `已归档/`, or to `未归档/` with a
`<name>.原因.txt` beside it saying why. A file still being written (changed in the last seconds) waits."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path
from typing import Final

from backend.domain.actor import SYSTEM
from backend.domain.errors import DomainError
from backend.services import settings_store
from backend.services.base import Services
from backend.services.health_cloud.attachments import Attachment, attach

logger = logging.getLogger(__name__)
DONE: Final = "已归档"
REFUSED: Final = "未归档"
SETTLE_S: Final = 5.0
BATCH: Final = 100
SUFFIXES: Final = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pdf"}


def scan(svc: Services, *, settle_s: float = SETTLE_S) -> dict[str, int] | None:
    """The job: archive what the workstations dropped in their folders (at most BATCH files a run)."""
    folders = settings_store.get(svc, "health_cloud.watch_folders") or {}
    done = {"archived": 0, "refused": 0}
    seen = 0
    for station, folder in sorted(dict(folders).items()):
        root = Path(str(folder))
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if seen >= BATCH:
                break
            if not path.is_file() or path.relative_to(root).parts[0] in (DONE, REFUSED) \
                    or path.suffix.lower() not in SUFFIXES or time.time() - path.stat().st_mtime < settle_s:
                continue
            seen += 1
            ok = _one(svc, root, path, station=str(station)[:16])
            done["archived" if ok else "refused"] += 1
    return done if seen else None


def accession_of(root: Path, path: Path) -> str:
    """The accession number a dropped file belongs to: its sub-folder's name, else its name before '_'."""
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else path.stem.split("_", 1)[0]


def _one(svc: Services, root: Path, path: Path, *, station: str) -> bool:
    accession = accession_of(root, path)
    try:
        result = attach(svc, accession, [Attachment(path.name, path.read_bytes())], by=SYSTEM,
                        source=station or "WATCH")
        refused = [r["reason"] for r in result["results"] if not r["ok"]]
    except (DomainError, OSError) as exc:
        refused = [getattr(exc, "message", None) or str(exc)]
    target = root / (REFUSED if refused else DONE) / path.relative_to(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), str(target))
    if refused:
        target.with_name(f"{target.name}.原因.txt").write_text("；".join(refused) + "\n", encoding="utf-8")
        logger.warning("watched folder of %s: a file was refused", station)
    return not refused
