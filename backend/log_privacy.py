"""Logs carry no names or ID numbers: request lines are logged without their query strings.

Search boxes and look-ups put names and codes in query strings (`GET /api/exams?name=王建国`); an access
log that prints them keeps patients' names in plain files for years. Installed by every entrypoint.
"""

from __future__ import annotations

import logging
import re

# "GET /api/exams?name=... HTTP/1.1" -> "GET /api/exams?… HTTP/1.1"
_QUERY = re.compile(r"\?[^\s\"]*")


class RedactQueryStrings(logging.Filter):
    """Replace the query string of every request line in a record's message and arguments by `?…`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "?" in record.msg:
            record.msg = _QUERY.sub("?…", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(a) for a in record.args)
        return True


def _redact(arg: object) -> object:
    """A string (or a URL object, as httpx logs them) without its query string; numbers stay numbers."""
    if isinstance(arg, int | float) or arg is None:
        return arg
    text = arg if isinstance(arg, str) else str(arg)
    return _QUERY.sub("?…", text) if "?" in text else arg


REQUEST_LOGGERS = ("werkzeug", "gunicorn.access", "engineio.server", "socketio.server", "httpx")


def install() -> None:
    """Attach the filter to the loggers that print request lines (idempotent)."""
    for name in REQUEST_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryStrings) for f in logger.filters):
            logger.addFilter(RedactQueryStrings())
