"""Emitting from another process through Redis (DESIGN 4, STYLE 7): a publisher process reaches a web
process's Socket.IO client. Runs only where TEST_REDIS_URL is set."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import socketio

REDIS_URL = os.environ.get("TEST_REDIS_URL")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set: no Redis for the cross-process test"),
]

# The web process: the real app factory with settings.redis_url; prints which client manager Socket.IO got.
WEB = """
import os, sys, threading
from backend.app import create_app
from backend.config import Settings
from backend.realtime import socketio
settings = Settings(database_url=sys.argv[1], redis_url=sys.argv[2], secret_key="t", testing=True,
                    start_scheduler=False)
app = create_app(settings)
manager = socketio.server.manager
print("READY", type(manager).__name__, getattr(manager, "redis_url", ""), flush=True)
threading.Timer(120, lambda: os._exit(0)).start()  # never outlive the test
socketio.run(app, host="127.0.0.1", port=int(sys.argv[3]), allow_unsafe_werkzeug=True, use_reloader=False,
             log_output=False)
"""
# The other process: publishes one domain event to the room of hall screen 7, a few times (the web
# process subscribes to Redis asynchronously after its first connection).
PUBLISHER = """
import sys, time
from backend.domain.events import Event
from backend.realtime import external_notifier
notifier = external_notifier(sys.argv[1])
for _ in range(int(sys.argv[3])):
    notifier.publish([Event("exam_called", {"marker": sys.argv[2], "ticket": "CT015"}, rooms=("screen:7",))])
    time.sleep(0.25)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _connect(url: str, client: socketio.Client) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            client.connect(url, transports=["websocket"], wait_timeout=5)
            return
        except socketio.exceptions.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_an_event_published_by_another_process_reaches_only_its_screen(tmp_path):
    port = _free_port()
    web = _python(WEB, f"sqlite:///{tmp_path / 'web.db'}", str(REDIS_URL), str(port))
    screen7, screen8 = socketio.Client(reconnection=False), socketio.Client(reconnection=False)
    marker = uuid.uuid4().hex
    received: list[dict] = []
    got, other_heard = threading.Event(), threading.Event()

    @screen7.on("exam_called")
    def _on_called(data):
        if data.get("marker") == marker:
            received.append(data)
            got.set()

    screen8.on("exam_called", lambda data: other_heard.set() if data.get("marker") == marker else None)
    try:
        assert web.stdout is not None
        ready = web.stdout.readline().split()
        # settings.redis_url reached create_app's socketio.init_app(message_queue=...)
        assert ready[:3] == ["READY", "RedisManager", str(REDIS_URL)], ready
        _connect(f"http://127.0.0.1:{port}?screen=7", screen7)
        _connect(f"http://127.0.0.1:{port}?screen=8", screen8)
        publisher = _python(PUBLISHER, str(REDIS_URL), marker, "40")
        try:
            assert got.wait(timeout=20), "the event published through Redis never reached the client"
            time.sleep(0.5)
        finally:
            publisher.kill()
            publisher.wait(timeout=10)
    finally:
        screen7.disconnect()
        screen8.disconnect()
        web.kill()
        web.wait(timeout=10)
    assert received[0] == {"marker": marker, "ticket": "CT015"}
    assert not other_heard.is_set()
