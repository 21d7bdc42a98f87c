"""A threaded MLLP server: one thread per connection, every frame answered by a handler's bytes.

The handler turns one raw message into one raw ACK; framing errors are answered by `on_error`
(an AR ACK) and the connection is closed, since the stream cannot be resynchronised.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import socketserver
import threading
from collections.abc import Callable

from integrations.health_check.mllp import MAX_FRAME, FrameDecoder, FramingError, frame

logger = logging.getLogger(__name__)
Handler = Callable[[bytes], bytes]
ErrorHandler = Callable[[FramingError], bytes]


class _Connection(socketserver.BaseRequestHandler):
    server: MllpServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(self.server.idle_timeout)
        decoder = FrameDecoder(self.server.max_frame)
        self.server.track(sock, add=True)
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                try:
                    messages = decoder.feed(data)
                except FramingError as exc:
                    logger.warning("MLLP framing error from %s: %s", self.client_address[0], exc.code)
                    sock.sendall(frame(self.server.on_error(exc)))
                    return
                for raw in messages:
                    sock.sendall(frame(self.server.handler(raw)))
        except (TimeoutError, OSError):
            return
        finally:
            self.server.track(sock, add=False)


class MllpServer(socketserver.ThreadingTCPServer):
    """Listens on (host, port); `port=0` picks a free port (see `.port`). Stop with `stop()`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, handler: Handler, on_error: ErrorHandler, *,
                 max_frame: int = MAX_FRAME, idle_timeout: float = 300.0) -> None:
        super().__init__((host, port), _Connection)
        self.handler, self.on_error = handler, on_error
        self.max_frame, self.idle_timeout = max_frame, idle_timeout
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def track(self, sock: socket.socket, *, add: bool) -> None:
        with self._lock:
            (self._open.add if add else self._open.discard)(sock)

    def start(self) -> MllpServer:
        """Serve in a daemon thread and return at once."""
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"mllp-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, close open connections, and free the port."""
        self.shutdown()
        with self._lock:
            for sock in list(self._open):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
