"""Keep the embedded run's log readable: no line per closed WebSocket, no line per scheduler pass.

The development server (werkzeug, `make run`) keeps a connection open after a WebSocket ends and reads the
browser's last WebSocket frames (first byte 0x81..0x8a) as the next HTTP request: every screen or page that
closes its Socket.IO connection logged `code 400, message Bad request syntax ('\\x88...')` and a
`"None ... HTTP/0.9" 400` access line. They are not requests anybody sent, so they are dropped here.
APScheduler logs two INFO lines per job run (every few seconds); at INFO our own log says what jobs did.
"""

from __future__ import annotations

import logging
import re

# The close frame read as a request line, and the access line werkzeug writes for that failed parse.
# A WebSocket frame from the client starts with 0x81 (text), 0x82 (binary), 0x88 (close), 0x89/0x8a (ping/pong).
# The masked frame bytes that follow may also split into three words, which http.server reports as a bad
# version (a real client never sends a request line whose third word is not an HTTP version).
_FRAME = re.compile(r"Bad (?:request syntax|HTTP/0\.9 request type) \(['\"]\\x8[0-9a]|Bad request version \(")
# The access line may carry werkzeug's terminal colours around the request line.
_FAILED_PARSE = re.compile(r"None \S+ HTTP/0\.9\S*\" 400")
SCHEDULER_LOGGERS = ("apscheduler.executors.default", "apscheduler.scheduler")


class DropWebSocketCloseFrames(logging.Filter):
    """Drop werkzeug's records about a WebSocket close frame read as an HTTP request."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            return True
        return not (_FRAME.search(text) or _FAILED_PARSE.search(text))


def install() -> None:
    """Attach the filter to werkzeug's logger (idempotent)."""
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, DropWebSocketCloseFrames) for f in logger.filters):
        logger.addFilter(DropWebSocketCloseFrames())


def quiet_scheduler() -> None:
    """APScheduler's per-run lines only at WARNING and above (missed runs, failures stay visible)."""
    for name in SCHEDULER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
