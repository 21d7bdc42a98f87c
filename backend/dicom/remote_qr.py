"""RadOps as a Query/Retrieve SCU of a remote archive (LN-4): Study Root C-FIND of a patient's studies
(STUDY level) and of each study's series (SERIES level) over one association, and C-GET of one series whose
instances come back over the same association, each bounded by a timeout. Plain values in, plain values out;
what to do with them is the caller's (services.imaging.recon)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydicom import Dataset
from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    RLELossless,
)
from pynetdicom import AE, build_role, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    CTImageStorage,
    EnhancedCTImageStorage,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
)

from backend.dicom.scu import Target
from backend.dicom.tags import header_of, part10, value_text
from backend.dicom.transport import nodelay
from backend.domain.imaging import InstanceHeader

logger = logging.getLogger(__name__)
PENDING = frozenset({0xFF00, 0xFF01})
GET_OK = frozenset({0x0000})
PROCESSING_FAILURE = 0xC001
# The storage classes a retrieved source may have (the link accepts CT only), each offered in every transfer
# syntax an archive may hold it in: a C-GET sends the stored bytes as they are.
GET_CLASSES = (CTImageStorage, EnhancedCTImageStorage)
GET_SYNTAXES = (ExplicitVRLittleEndian, ImplicitVRLittleEndian, JPEG2000Lossless, JPEGLosslessSV1, JPEGLSLossless,
                RLELossless, JPEG2000, JPEGBaseline8Bit, DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian)
SERIES_KEYS = ("SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription",
               "NumberOfSeriesRelatedInstances", "SliceThickness", "ConvolutionKernel", "BodyPartExamined")


class RemoteError(Exception):
    """The remote archive could not be asked (refused, down, slow, or it answered with a failure); the
    message is Chinese and says why."""


@dataclass(frozen=True, slots=True)
class RemoteSeries:
    series_uid: str
    number: int | None
    modality: str
    description: str
    images: int
    slice_thickness: float | None
    kernel: str
    body_part: str


@dataclass(frozen=True, slots=True)
class RemoteStudy:
    study_uid: str
    patient_id: str
    accession: str
    study_date: date | None
    description: str
    modalities: str
    series: tuple[RemoteSeries, ...]


def _number(ds: Dataset, keyword: str) -> float | None:
    try:
        text = value_text(ds, keyword)
        return float(text) if text else None
    except ValueError:
        return None


def _date(text: str) -> date | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8])) if len(text) >= 8 else None
    except ValueError:
        return None


class _Session:
    """One association to the remote archive with an overall deadline."""

    def __init__(self, target: Target, calling_ae: str, timeout: float, deadline_s: float | None = None) -> None:
        self.target, self.deadline = target, time.monotonic() + (deadline_s or timeout)
        self.ae = AE(calling_ae)
        self.ae.acse_timeout = self.ae.dimse_timeout = self.ae.network_timeout = timeout
        self.ae.connection_timeout = timeout

    def where(self) -> str:
        return f"{self.target.ae_title}@{self.target.host}:{self.target.port}"

    def open(self, **kw: Any) -> Any:
        assoc = self.ae.associate(self.target.host, self.target.port, ae_title=self.target.ae_title,
                                  evt_handlers=[(evt.EVT_CONN_OPEN, nodelay), *kw.pop("handlers", [])], **kw)
        if not assoc.is_established:
            raise RemoteError(f"{self.where()} 拒绝或无法建立关联")
        return assoc

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise RemoteError(f"{self.where()} 未在时限内应答")


def _find(session: _Session, assoc: Any, query: Dataset) -> list[Dataset]:
    out = []
    for status, identifier in assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind):
        session.check_time()
        if not status:
            raise RemoteError(f"{session.where()} 未应答查询（超时或连接中断）")
        code = int(status.Status)
        if code in PENDING:
            if identifier is not None:
                out.append(identifier)
            continue
        if code != 0x0000:
            raise RemoteError(f"{session.where()} 拒绝查询（状态 0x{code:04X}）")
    return out


def find_studies(target: Target, *, calling_ae: str, timeout: float, patient_id: str = "",
                 study_uid: str = "") -> list[RemoteStudy]:
    """The remote archive's studies of a patient (or the one study with this UID), each with its series."""
    if not patient_id and not study_uid:
        raise ValueError("patient_id or study_uid")
    session = _Session(target, calling_ae, timeout)
    session.ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = session.open()
    try:
        q = Dataset()
        q.QueryRetrieveLevel = "STUDY"
        q.PatientID, q.StudyInstanceUID = patient_id, study_uid
        q.AccessionNumber = q.StudyDate = q.StudyDescription = q.ModalitiesInStudy = ""
        q.NumberOfStudyRelatedInstances = None
        studies = []
        for st in _find(session, assoc, q):
            uid = value_text(st, "StudyInstanceUID")
            if not uid:
                continue
            sq = Dataset()
            sq.QueryRetrieveLevel = "SERIES"
            sq.StudyInstanceUID = uid
            for kw in SERIES_KEYS:
                setattr(sq, kw, None if kw in ("SeriesNumber", "NumberOfSeriesRelatedInstances",
                                               "SliceThickness") else "")
            series = tuple(RemoteSeries(
                series_uid=value_text(se, "SeriesInstanceUID"),
                number=int(n) if (n := _number(se, "SeriesNumber")) is not None else None,
                modality=value_text(se, "Modality"), description=value_text(se, "SeriesDescription"),
                images=int(_number(se, "NumberOfSeriesRelatedInstances") or 0),
                slice_thickness=_number(se, "SliceThickness"), kernel=value_text(se, "ConvolutionKernel"),
                body_part=value_text(se, "BodyPartExamined"))
                for se in _find(session, assoc, sq) if value_text(se, "SeriesInstanceUID"))
            studies.append(RemoteStudy(study_uid=uid, patient_id=value_text(st, "PatientID"),
                                       accession=value_text(st, "AccessionNumber"),
                                       study_date=_date(value_text(st, "StudyDate")),
                                       description=value_text(st, "StudyDescription"),
                                       modalities=value_text(st, "ModalitiesInStudy"), series=series))
        assoc.release()
        return studies
    except BaseException:
        if assoc.is_established:
            assoc.abort()
        raise


def get_series(target: Target, *, calling_ae: str, timeout: float, deadline_s: float, study_uid: str,
               series_uid: str, store: Callable[[InstanceHeader, bytes], None]) -> int:
    """C-GET one series: each instance that comes back is handed to `store` (its header, and the received
    bytes inside a Part-10 file, kept as sent). Returns the number stored; RemoteError when the archive
    refuses, fails a sub-operation, goes quiet for `timeout` seconds or takes longer than `deadline_s`."""
    session = _Session(target, calling_ae, timeout, deadline_s)
    session.ae.add_requested_context(StudyRootQueryRetrieveInformationModelGet)
    for sop in GET_CLASSES:
        for syntax in GET_SYNTAXES:
            session.ae.add_requested_context(sop, [syntax])
    stored: list[str] = []

    def on_store(event: Any) -> int:
        try:
            syntax = str(event.context.transfer_syntax)
            header = header_of(event.dataset, transfer_syntax=syntax,
                               sop_class_uid=str(event.request.AffectedSOPClassUID))
            data = part10(event.request.DataSet.getvalue(), sop_class_uid=header.sop_class_uid,
                          sop_instance_uid=header.sop_instance_uid, transfer_syntax=syntax,
                          source_ae=target.ae_title)
            store(header, data)
        except Exception:
            logger.exception("C-GET from %s: storing an instance failed", target.ae_title)
            return PROCESSING_FAILURE
        stored.append(header.sop_instance_uid)
        return 0x0000

    roles = [build_role(sop, scp_role=True) for sop in GET_CLASSES]
    assoc = session.open(ext_neg=roles, handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        q = Dataset()
        q.QueryRetrieveLevel = "SERIES"
        q.StudyInstanceUID, q.SeriesInstanceUID = study_uid, series_uid
        final = None
        for status, _identifier in assoc.send_c_get(q, StudyRootQueryRetrieveInformationModelGet):
            session.check_time()
            if not status:
                raise RemoteError(f"{session.where()} 未应答调取（超时或连接中断）")
            code = int(status.Status)
            if code not in PENDING:
                final = (code, int(status.get("NumberOfFailedSuboperations", 0) or 0))
        if final is None:
            raise RemoteError(f"{session.where()} 未应答调取")
        code, failed = final
        if code not in GET_OK or failed:
            raise RemoteError(f"{session.where()} 调取未完成（状态 0x{code:04X}，失败 {failed} 幅，已收到 "
                              f"{len(stored)} 幅）")
        assoc.release()
        return len(stored)
    except BaseException:
        if assoc.is_established:
            assoc.abort()
        raise
