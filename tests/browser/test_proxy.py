"""The documented proxy (deploy/nginx.conf) in front of two web processes joined by Redis, without sticky
sessions: a hall screen opened through nginx shows calls made on either process at once (issue 18.6).

nginx and a redis-server of the test's own are started here, so the test runs in the SQLite pass too."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from backend.bootstrap import build_services
from backend.config import Settings
from backend.services import auth
from tests.browser.conftest import enrol_device, screenshot
from tests.conftest import PASSWORDS, ROOT, prepare_database
from tests.processes import Proc, free_port, private_redis, radops, radops_env, wait_http, wait_until
from tests.screen_helpers import checked_in, room_id

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def render_nginx_conf(listen: int, web_ports: tuple[int, int], prefix: Path) -> Path:
    """deploy/nginx.conf with only its listen address and upstream ports changed."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in (("listen 8000;", f"listen 127.0.0.1:{listen};"),
                     ("127.0.0.1:8001", f"127.0.0.1:{web_ports[0]}"), ("127.0.0.1:8002", f"127.0.0.1:{web_ports[1]}")):
        assert old in text, old
        text = text.replace(old, new)
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(text)
    return conf


@pytest.fixture
def layout(tmp_path: Path) -> Iterator[dict[str, Any]]:
    if not Path(NGINX).exists():
        pytest.skip("nginx not installed (apt-get install nginx)")
    url = f"sqlite:///{tmp_path / 'layout.db'}"
    prepare_database(url, now=datetime.now(UTC))
    with private_redis(tmp_path) as redis_url:
        env = radops_env(url, tmp_path, redis_url=redis_url, RADOPS_PROXY_HOPS="1")
        ports = free_port(), free_port()
        webs = [radops(["web", "--port", str(p)], env, tmp_path / f"web{p}.log") for p in ports]
        listen = free_port()
        prefix = tmp_path / "nginx"
        conf = render_nginx_conf(listen, ports, prefix)
        proxy = Proc([NGINX, "-p", f"{prefix}/", "-c", str(conf), "-e", "stderr", "-g", "daemon off;"], env,
                     tmp_path / "nginx.log")
        try:
            for proc, port in zip(webs, ports, strict=True):
                wait_http(f"http://127.0.0.1:{port}/api/health", proc=proc)
            wait_http(f"http://127.0.0.1:{listen}/api/health", proc=proxy)
            yield {"url": url, "proxy": f"http://127.0.0.1:{listen}", "webs": [f"http://127.0.0.1:{p}" for p in ports],
                   "ports": ports, "nginx": proxy, "web_procs": webs}
        finally:
            proxy.stop()
            for proc in webs:
                proc.stop()


def _call_next(base: str, room: int, page: Any, *, timeout: int = 3000) -> None:
    """Call the next patient on one web process, see it on the screen, then mark it missed (frees the room)."""
    with httpx.Client(base_url=base, timeout=10) as tech:
        tech.post("/api/auth/login", json={"username": "tech", "password": PASSWORDS["tech"]})
        r = tech.post(f"/api/rooms/{room}/call-next", json={})
        assert r.status_code == 200, r.text
        live = page.locator(".hall-now_calling .hall-calling-live", has_text=r.json()["code"])
        live.wait_for(timeout=timeout)  # pushed over Socket.IO through Redis and nginx; the re-sync is 30 s away
        assert tech.post(f"/api/tickets/{r.json()['ticket_id']}/missed", json={}).status_code == 200


def test_hall_screen_through_nginx_hears_calls_from_both_web_processes(layout: dict[str, Any], page: Any) -> None:
    svc = build_services(Settings(database_url=layout["url"], secret_key="t"))
    actors = {u: auth.login(svc, u, PASSWORDS[u]) for u in ("clerk", "nurse")}
    for name in ("张小明", "欧阳娜娜", "李雷"):
        checked_in(svc, actors, name)
    room = room_id(svc, "DR1")
    enrol_device(page, layout["proxy"], "screen", "HALL-MAIN", svc=svc)
    page.goto(f"{layout['proxy']}/screens/HALL-MAIN")
    page.wait_for_selector(".hall-waiting .hall-row")
    page.wait_for_timeout(1000)  # the Socket.IO connection joins its campus room
    for base in layout["webs"]:  # one call made on each process, whichever holds the screen's WebSocket
        _call_next(base, room, page)
    checked_in(svc, actors, "王芳")
    layout["web_procs"][0].kill()  # kill -9 of one web process: the screen reconnects through nginx
    _call_next(layout["webs"][1], room, page, timeout=15000)
    screenshot(page, "hall_screen_through_nginx")
    page.goto("about:blank")  # closes the WebSocket: nginx logs a proxied connection when it ends
    access = wait_until(lambda: (log := layout["nginx"].log()) and "/socket.io/" in log and log, what="access log")
    sockets = [line for line in access.splitlines() if "/socket.io/" in line]
    assert any('" 101 ' in line for line in sockets), sockets  # upgraded to WebSocket at the first request
    assert all('" 200 ' not in line for line in sockets), sockets  # no long-polling request at all
    upstreams = {line.rsplit(" ", 1)[-1] for line in access.splitlines() if '"GET ' in line}
    # Round robin without stickiness: the page's own requests went to both processes.
    assert {f"127.0.0.1:{p}" for p in layout["ports"]} <= upstreams, upstreams
