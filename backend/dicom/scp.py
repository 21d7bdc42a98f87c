"""RadOps as a DICOM node (issue 10 item 1): Verification, Storage SCP for every storage class (bytes kept
as received), Study Root Query/Retrieve (C-FIND, C-MOVE to known nodes, C-GET), Modality Worklist and
MPPS. Handlers decode, call a service with plain values and return a status (pynetdicom apps/qrscp).

Calling AE titles are checked against the known nodes at association (rejected with "calling AE title
not recognised", and audited); each request then needs the node's right (store, query, retrieve,
worklist), else it is refused with 0x0124 (Refused: not authorised). A peer that stalls for
RADOPS_DICOM_TIMEOUT_S seconds is aborted."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

from pydicom import Dataset, dcmread
from pydicom.uid import UID, generate_uid
from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, build_context, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    ModalityPerformedProcedureStep,
    ModalityWorklistInformationFind,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)

from backend.dicom import queries
from backend.dicom.tags import header_of, part10
from backend.dicom.transport import nodelay
from backend.dicom.wire import check_encoding
from backend.domain.errors import InvalidInput
from backend.domain.imaging import HeaderProblem, NodeRight, da_range, header_problem
from backend.services.base import Services
from backend.services.imaging import archive, nodes, worklist

logger = logging.getLogger(__name__)

SUCCESS, PENDING, CANCELLED = 0x0000, 0xFF00, 0xFE00
NOT_AUTHORISED = 0x0124
OUT_OF_RESOURCES = 0xA700  # C-STORE: refused, out of resources (also: larger than the limit)
DATASET_MISMATCH = 0xA900  # C-STORE: the dataset does not match the SOP class (or lacks its UIDs)
CANNOT_UNDERSTAND = 0xC210  # C-STORE: not DICOM, truncated, or not in the negotiated transfer syntax
PROCESSING_FAILURE = 0xC001
UNKNOWN_DESTINATION = 0xA801  # C-MOVE: move destination unknown
FIND_FAILED, MOVE_FAILED, GET_FAILED = 0xC320, 0xC520, 0xC420
IDENTIFIER_MISMATCH = 0xA900  # C-FIND: identifier does not match SOP class (a key that is not a value)
UNABLE_TO_PROCESS = 0xC000


def _calling(event: Any) -> str:
    return str(event.assoc.requestor.ae_title).strip()


def _may(svc: Services, event: Any, right: NodeRight) -> bool:
    node = nodes.known_nodes(svc).get(_calling(event))
    if node is not None and node.may(right):
        return True
    logger.warning("DICOM %s refused for %s: no %s right", type(event.request).__name__, _calling(event), right)
    nodes.record_refused(svc, calling_ae=_calling(event), address=str(event.assoc.requestor.address),
                         reason=f"no_{right.value}_right")
    return False


def handle_echo(event: Any, svc: Services) -> int:
    return SUCCESS


def handle_store(event: Any, svc: Services) -> int:
    """Archive one C-STORE: the encoded dataset bytes are kept unchanged inside a Part-10 file."""
    if not _may(svc, event, NodeRight.STORE):
        return NOT_AUTHORISED
    raw: bytes = event.request.DataSet.getvalue()
    if len(raw) > svc.settings.dicom_max_instance_mb * 1024 * 1024:
        logger.warning("C-STORE from %s refused: %d bytes over the limit", _calling(event), len(raw))
        return OUT_OF_RESOURCES
    transfer_syntax = str(event.context.transfer_syntax)
    try:
        syntax = UID(transfer_syntax)
        if not syntax.is_deflated:
            check_encoding(raw, implicit=syntax.is_implicit_VR, little=syntax.is_little_endian)
        ds = event.dataset
        header = header_of(ds, transfer_syntax=transfer_syntax, sop_class_uid=str(event.request.AffectedSOPClassUID))
    except Exception as exc:  # pydicom raises many kinds for bytes that are not a dataset in this syntax
        logger.warning("C-STORE from %s refused: cannot decode (%s: %s)", _calling(event), type(exc).__name__, exc)
        return CANNOT_UNDERSTAND
    problem = header_problem(header)
    affected = str(event.request.AffectedSOPInstanceUID or "")
    if problem is None and (header.sop_instance_uid != affected or
                            header.sop_class_uid != str(event.request.AffectedSOPClassUID)):
        problem = HeaderProblem.SOP_CLASS_MISMATCH
    if problem is not None:
        logger.warning("C-STORE from %s refused: %s", _calling(event), problem)
        return DATASET_MISMATCH
    data = part10(raw, sop_class_uid=header.sop_class_uid, sop_instance_uid=header.sop_instance_uid,
                  transfer_syntax=transfer_syntax, source_ae=_calling(event))
    try:
        archive.store_instance(svc, header, data, received_from=_calling(event))
    except OSError:
        logger.exception("C-STORE from %s: the image store failed", _calling(event))
        return OUT_OF_RESOURCES
    except Exception:
        logger.exception("C-STORE from %s: archiving failed", _calling(event))
        return PROCESSING_FAILURE
    _stored_studies(event.assoc).add(header.study_uid)
    return SUCCESS


def _stored_studies(assoc: Any) -> set[str]:
    """The studies this association stored into (read when the peer releases it)."""
    found: set[str] | None = getattr(assoc, "radops_stored_studies", None)
    if found is None:
        found = set()
        assoc.radops_stored_studies = found
    return found


def handle_released(event: Any, svc: Services) -> None:
    """A peer released an association that stored instances: a reconstruction system's release completes
    the requests whose results it sent (docs/recon_interface.md). An abort completes nothing."""
    studies = getattr(event.assoc, "radops_stored_studies", None)
    if not studies or not event.assoc.is_acceptor:
        return
    from backend.services.imaging import recon_results

    try:
        done = recon_results.results_released(svc, studies)
    except Exception:
        logger.exception("DICOM release from %s: completing reconstruction requests failed", _calling(event))
        return
    if done:
        logger.info("reconstruction requests %s complete (results released by %s)", done, _calling(event))


def handle_find(event: Any, svc: Services) -> Iterator[tuple[int, Dataset | None]]:
    """Study Root C-FIND, or the modality worklist (by the SOP class the peer asked on)."""
    is_worklist = str(event.request.AffectedSOPClassUID) == ModalityWorklistInformationFind
    if not _may(svc, event, NodeRight.WORKLIST if is_worklist else NodeRight.QUERY):
        yield NOT_AUTHORISED, None
        return
    try:
        identifier = event.identifier
        found = _worklist(svc, identifier, _calling(event)) if is_worklist else queries.find(svc, identifier)
        for ds in found:
            if event.is_cancelled:
                yield CANCELLED, None
                return
            yield PENDING, ds
    except InvalidInput as exc:  # a matching key that is no value of its VR (a date like 20261301)
        logger.warning("C-FIND from %s refused: %s", _calling(event), exc.message)
        yield IDENTIFIER_MISMATCH, None
        return
    except Exception:
        logger.exception("C-FIND from %s failed", _calling(event))
        yield FIND_FAILED, None
        return
    yield SUCCESS, None


def _worklist(svc: Services, identifier: Dataset, station_ae: str) -> Iterator[Dataset]:
    q = queries.worklist_query(identifier)
    day = da_range(q["date"])[0] if q["date"] else None
    for item in worklist.worklist(svc, day=day, modality=q["modality"] or None,
                                  accession=q["accession"] or None, patient_id=q["patient_id"] or None):
        yield queries.worklist_item(item, q["station"] or station_ae)


def _instances(svc: Services, event: Any) -> list[Dataset]:
    return [dcmread(BytesIO(archive.read_instance(svc, i.sop_instance_uid)))
            for i in queries.retrieve_uids(svc, event.identifier)]


def handle_move(event: Any, svc: Services) -> Iterator[Any]:
    """C-MOVE to a known node (its AE title, host and port from the table)."""
    if not _may(svc, event, NodeRight.RETRIEVE):
        yield None, None  # pynetdicom answers 0xA801 for an unknown destination; refuse the same way
        return
    dest = nodes.known_nodes(svc).get(str(event.move_destination).strip())
    if dest is None:
        logger.warning("C-MOVE from %s to unknown node %s", _calling(event), event.move_destination)
        yield None, None
        return
    found = queries.retrieve_uids(svc, event.identifier)
    pairs = sorted({(i.sop_class_uid, i.transfer_syntax) for i in found})[:128]
    contexts = [build_context(sop, [ts]) for sop, ts in pairs] or [build_context(Verification)]
    yield dest.host, dest.port, {"ae_title": dest.ae_title, "contexts": contexts}
    yield len(found)
    for info in found:
        if event.is_cancelled:
            yield CANCELLED, None
            return
        yield PENDING, dcmread(BytesIO(archive.read_instance(svc, info.sop_instance_uid)))


def handle_get(event: Any, svc: Services) -> Iterator[Any]:
    """C-GET: the instances go back over the peer's own association."""
    if not _may(svc, event, NodeRight.RETRIEVE):
        yield 0
        return
    found = queries.retrieve_uids(svc, event.identifier)
    yield len(found)
    for info in found:
        if event.is_cancelled:
            yield CANCELLED, None
            return
        yield PENDING, dcmread(BytesIO(archive.read_instance(svc, info.sop_instance_uid)))


def handle_n_create(event: Any, svc: Services) -> tuple[int, Dataset | None]:
    """MPPS N-CREATE (IN PROGRESS): the exam of the scheduled step starts."""
    if not _may(svc, event, NodeRight.WORKLIST):
        return NOT_AUTHORISED, None
    attrs = event.attribute_list
    step_uid = str(event.request.AffectedSOPInstanceUID or generate_uid())
    sched = attrs.get("ScheduledStepAttributesSequence")
    accession = str(sched[0].get("AccessionNumber", "")) if sched else ""
    try:
        worklist.start_step(svc, step_uid=step_uid, accession=accession.strip(),
                            status=str(attrs.get("PerformedProcedureStepStatus", "")).strip(),
                            performed_by=_calling(event))
    except worklist.StepRefused as exc:
        logger.warning("MPPS N-CREATE from %s refused: %s", _calling(event), exc)
        return exc.status, None
    attrs.SOPInstanceUID = step_uid
    return SUCCESS, attrs


def handle_n_set(event: Any, svc: Services) -> tuple[int, Dataset | None]:
    """MPPS N-SET: COMPLETED or DISCONTINUED ends the exam."""
    if not _may(svc, event, NodeRight.WORKLIST):
        return NOT_AUTHORISED, None
    mods = event.modification_list
    status = mods.get("PerformedProcedureStepStatus")
    try:
        worklist.set_step(svc, step_uid=str(event.request.RequestedSOPInstanceUID),
                          status=str(status).strip() if status is not None else None, performed_by=_calling(event))
    except worklist.StepRefused as exc:
        logger.warning("MPPS N-SET from %s refused: %s", _calling(event), exc)
        return exc.status, None
    return SUCCESS, mods


def handle_rejected(event: Any, svc: Services) -> None:
    nodes.record_refused(svc, calling_ae=_calling(event), address=str(event.assoc.requestor.address),
                         reason="unknown_calling_ae")


class KnownNodesAE(AE):
    """An AE whose accepted calling AE titles are the known nodes of the moment (re-read per association)."""

    def __init__(self, ae_title: str, known: Callable[[], list[str]]) -> None:
        self._known = known
        super().__init__(ae_title)

    @property
    def require_calling_aet(self) -> list[str]:
        # An empty list would accept everyone: with no node known, nobody is.
        return self._known() or ["\\"]

    @require_calling_aet.setter
    def require_calling_aet(self, value: list[str]) -> None:
        return None


def build_ae(svc: Services) -> tuple[AE, list[tuple[Any, ...]]]:
    """The AE with every supported context and timeouts, and the handler bindings for start_server."""
    s = svc.settings
    ae = KnownNodesAE(s.dicom_ae_title, lambda: list(nodes.known_nodes(svc)))
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = s.dicom_timeout_s
    ae.maximum_pdu_size = 131072  # dcmtk sends PDUs of at most this size; 0 (no limit) makes it fall back to 16 KiB
    ae.maximum_associations = 32
    ae.add_supported_context(Verification, ALL_TRANSFER_SYNTAXES)
    for cx in AllStoragePresentationContexts:
        # scp_role for C-STORE from peers; a C-GET peer proposes to be SCP of storage, which we accept.
        ae.add_supported_context(str(cx.abstract_syntax), ALL_TRANSFER_SYNTAXES, scp_role=True, scu_role=False)
    for sop in (StudyRootQueryRetrieveInformationModelFind, StudyRootQueryRetrieveInformationModelMove,
                StudyRootQueryRetrieveInformationModelGet, ModalityWorklistInformationFind,
                ModalityPerformedProcedureStep):
        ae.add_supported_context(sop)
    handlers = [
        (evt.EVT_CONN_OPEN, nodelay),
        (evt.EVT_C_ECHO, handle_echo, [svc]),
        (evt.EVT_C_STORE, handle_store, [svc]),
        (evt.EVT_C_FIND, handle_find, [svc]),
        (evt.EVT_C_MOVE, handle_move, [svc]),
        (evt.EVT_C_GET, handle_get, [svc]),
        (evt.EVT_N_CREATE, handle_n_create, [svc]),
        (evt.EVT_N_SET, handle_n_set, [svc]),
        (evt.EVT_REJECTED, handle_rejected, [svc]),
        (evt.EVT_RELEASED, handle_released, [svc]),
    ]
    return ae, handlers
