"""The HL7 MLLP listener for health-check orders (PE-1, PE-2), started by the embedded run.

Wires the protocol code of `integrations.health_check` (framing, ER7, ACKs) to the intake service:
every frame gets exactly one ACK in the order's charset; a framing error gets an AR and the
connection is closed. Logs carry control ids and exam ids, never names or ID numbers.
"""

from __future__ import annotations

import logging
from functools import partial

from backend.domain.actor import Actor
from backend.domain.errors import DomainError
from backend.domain.order_intake import AckCode, IntakeOutcome, internal_error, rejection
from backend.domain.permissions import Perm
from backend.entrypoints.background import Stoppable, port_failure
from backend.services import interface_log
from backend.services.base import Services
from backend.services.orders import intake as order_intake
from integrations.health_check import er7
from integrations.health_check.ack import build_ack
from integrations.health_check.mapping import to_command
from integrations.health_check.message import MessageHeader
from integrations.health_check.mllp import FramingError
from integrations.health_check.server import MllpServer

logger = logging.getLogger(__name__)

HL7_ACTOR = Actor(kind="system", id=None, name="体检系统（HL7）",
                  perms=frozenset({Perm.EXAM_REGISTER.value, Perm.EXAM_READ.value}))


def handle_message(svc: Services, raw: bytes) -> bytes:
    """One raw HL7 order in, one raw ACK out; only an accepted order changes exams, and every message, refused
    ones included, is logged for the interface monitor (issue 14.12) with its raw bytes and its answer."""
    header: MessageHeader | None = None
    try:
        header = er7.parse_header(raw)
        command = to_command(er7.decode(raw, header), tz=svc.tz)
        outcome, _repeat = order_intake.receive_order(svc, command, by=HL7_ACTOR)
    except DomainError as exc:
        outcome = rejection(exc)
        logger.warning("HL7 order %s refused: %s %s", header.control_id if header else "?", outcome.ack.value,
                       outcome.code)
    except Exception:
        logger.exception("HL7 order %s failed", header.control_id if header else "?")
        outcome = internal_error()
    interface_log.record_inbound(svc, received(raw, header, outcome))
    return build_ack(header, outcome, at=svc.clock().astimezone(svc.tz))


def received(raw: bytes, header: MessageHeader | None, outcome: IntakeOutcome) -> interface_log.Received:
    """What the monitor keeps of one message: its bytes, its text as well as it can be read, and its answer."""
    h = header or MessageHeader()
    text = er7.readable_text(raw, h.charset)
    return interface_log.Received(
        raw=raw, text=text, partner=h.sender, control_id=h.control_id, message_type=h.type_label,
        charset=h.charset, placer_order_no=er7.placer_order_of(text), ack_code=outcome.ack.value,
        reason=outcome.code, ack_text=outcome.text, exam_id=outcome.exam_id, accession=outcome.accession)


def framing_ack(svc: Services, exc: FramingError) -> bytes:
    """The AR sent before closing a connection whose byte stream is not valid MLLP."""
    outcome = IntakeOutcome(AckCode.AR, exc.code, exc.message, hl7_error="100")
    return build_ack(None, outcome, at=svc.clock().astimezone(svc.tz))


def start_listener(svc: Services, *, host: str, port: int, max_frame: int | None = None) -> MllpServer:
    """Listen for MLLP on (host, port) (port 0: a free port) and serve in a daemon thread."""
    kw = {"max_frame": max_frame} if max_frame else {}
    return MllpServer(host, port, partial(handle_message, svc), partial(framing_ack, svc), **kw).start()


def start_mllp(svc: Services) -> tuple[Stoppable, str]:
    """Health-check orders (ORM^O01, OMI^O23) at settings.mllp_host:mllp_port (default 127.0.0.1:2575)."""
    host, port = svc.settings.mllp_host, svc.settings.mllp_port
    try:
        server = start_listener(svc, host=host, port=port)
    except OSError as exc:
        raise port_failure("HL7 MLLP 监听", host, port, exc) from exc
    return server, f"mllp://{server.host}:{server.port} 体检申请单 ORM^O01 / OMI^O23"
