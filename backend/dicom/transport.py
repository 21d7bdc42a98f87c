"""Socket options of DICOM associations, for our listener, our senders and the peers' emulators alike."""

from __future__ import annotations

import socket
from typing import Any


def nodelay(event: Any) -> None:
    """`EVT_CONN_OPEN` handler: TCP_NODELAY on the association's socket (Nagle would hold back each small PDU
    until the peer's delayed ACK, about 40 ms per message on Linux)."""
    sock = getattr(getattr(event.assoc.dul, "socket", None), "socket", None)
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
