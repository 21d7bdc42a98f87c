"""The key images of a lung-nodule report (LN-9) as JPEG pictures for the printed PDF.

A key image is named by its UIDs in the section value (marked by the doctor in the viewer). It prints only
when it is in the archive and belongs to the report's exam or to another study of the same patient (a
value naming someone else's image prints a note instead); it is rendered by the viewer's code
(`backend.dicom.render`) with the window the doctor used, read in the caller's transaction."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import select

from backend.db.models import ImagingInstance, ImagingSeries, ImagingStudy
from backend.dicom import render as rendering
from backend.domain import lung_nodule_section
from backend.domain.errors import DomainError
from backend.services.base import Services, Tx
from backend.services.imaging.archive import image_store

logger = logging.getLogger(__name__)
BOX: Final = 640  # pixels of the longest side printed (about 60 mm wide at 270 dpi)
QUALITY: Final = 85


def pictures(tx: Tx, svc: Services, accession: str, keys: Sequence[Mapping[str, Any]],
             ) -> list[tuple[bytes | None, str]]:
    """(JPEG or None, caption) per key image, in the doctor's order."""
    if not keys:
        return []
    own = {pid for pid in tx.session.scalars(select(ImagingStudy.patient_id).where(
        ImagingStudy.accession == accession)) if pid}
    out: list[tuple[bytes | None, str]] = []
    for key in keys:
        caption = lung_nodule_section.key_caption(key)
        row = tx.session.execute(
            select(ImagingInstance.path, ImagingStudy.accession, ImagingStudy.patient_id)
            .join(ImagingSeries, ImagingSeries.id == ImagingInstance.series_id)
            .join(ImagingStudy, ImagingStudy.id == ImagingInstance.study_id)
            .where(ImagingInstance.sop_instance_uid == key["sop_uid"],
                   ImagingSeries.series_uid == key["series_uid"], ImagingStudy.study_uid == key["study_uid"])
        ).first()
        if row is None or not (row.accession == accession or row.patient_id in own):
            out.append((None, f"{caption}（图像不在本患者的影像中）"))
            continue
        window = key.get("window")
        try:
            ds = rendering.read_dataset(image_store(svc).read(row.path))
            frame = rendering.decode_frame(ds, int(key.get("frame") or 1))
            jpeg = rendering.render(frame, fmt="jpeg", window=(float(window[0]), float(window[1])) if window else None,
                                    box=BOX, quality=QUALITY)
        except (DomainError, IndexError, OSError, ValueError) as exc:  # a missing or undecodable file
            logger.warning("key image %s not printable: %s", key["sop_uid"], exc)
            out.append((None, f"{caption}（图像无法读取）"))
            continue
        out.append((jpeg, caption))
    return out
