"""Browser tests: a real server on loopback (in a thread, with its own database and a test clock)
and Debian's Chromium driven by Playwright. Skipped, with the reason, where Chromium is missing."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from backend.bootstrap import build_services
from backend.config import Settings
from backend.db.session import make_engine, make_session_factory
from tests.conftest import FIXED_NOW, PASSWORDS, ROOT, FakeClock, prepare_database

CHROMIUM = os.environ.get("RADOPS_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "var" / "screenshots"



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The whole app on 127.0.0.1:<port> with a fresh SQLite database and a FakeClock (`settings`: overrides)."""

    def __init__(self, tmp: Path, *, clock: FakeClock, **settings: Any) -> None:
        from backend.app import create_app
        from backend.realtime import SocketIONotifier, socketio

        self.url_db = f"sqlite:///{tmp / 'live.db'}"
        prepare_database(self.url_db)
        self.port = _free_port()
        self.clock = clock
        self.settings = Settings(database_url=self.url_db, secret_key="browser-test", testing=True,
                                 var_dir=tmp / "var", start_scheduler=False, port=self.port,
                                 **{"layouts_dir": ROOT / "layouts", **settings})
        self.engine = make_engine(self.url_db)
        self.services = build_services(self.settings, clock=clock, notifier=SocketIONotifier(socketio),
                                       session_factory=make_session_factory(self.engine))
        self.app = create_app(self.settings, services=self.services)
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.engine.dispose()


@pytest.fixture
def live_clock() -> FakeClock:
    return FakeClock(FIXED_NOW)


@pytest.fixture
def live_server(tmp_path: Path, live_clock: FakeClock) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path, clock=live_clock).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def enrol_device(page: Any, server: LiveServer | str, kind: str, target: str, *, svc: Any = None) -> str:
    """Enrol this browser context as a kiosk or hall screen (what an admin does once on the device)."""
    from backend.api.security import DEVICE_COOKIE
    from backend.services import auth, devices

    services = svc if svc is not None else server.services  # type: ignore[union-attr]
    base = server if isinstance(server, str) else server.base
    raw = devices.enrol(services, kind, target, by=auth.login(services, "admin", PASSWORDS["admin"]))
    page.context.add_cookies([{"name": DEVICE_COOKIE, "value": raw, "url": base}])
    return raw


def login(page: Any, server: LiveServer, username: str, *, next_path: str = "") -> None:
    """Sign in through the real form."""
    page.goto(f"{server.base}/login" + (f"?next={next_path}" if next_path else ""))
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")


def logout(page: Any) -> None:
    """Sign out with the navigation bar's button (a POST with the form token)."""
    page.click("#shell-logout")
    page.wait_for_url(lambda url: url.endswith(("/login", "/logout")))
    if page.url.endswith("/logout"):  # a doctor on an ultrasound shift is asked whether the shift ends
        page.click("#logout-submit")
        page.wait_for_url("**/login")


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


OPTION = ".dash-dropdown-option, .VirtualizedSelectOption, [role=option]"


def pick_option(page: Any, selector: str, text: str, *, tries: int = 3) -> None:
    """Choose a dcc.Dropdown option by typing part of its label and clicking it.

    A live page may redraw a dropdown while its menu is open (a Socket.IO refresh), which closes the
    menu; a person would open it again, and so does this helper, at most `tries` times.
    """
    for attempt in range(tries):
        page.click(selector)
        page.keyboard.type(text)
        option = page.locator(OPTION).filter(has_text=text).first
        try:
            option.click(timeout=5000)
            return
        except Exception:
            if attempt == tries - 1:
                raise
            page.keyboard.press("Escape")


def field(row: int, name: str) -> str:
    """The selector of one input of a nodule row of the structured lung-nodule form (LN-9)."""
    return f"""[id*='"field":"{name}"'][id*='"row":{row},']"""


RECON_WAIT_S = 120.0


@pytest.fixture
def recon_server(tmp_path: Path, live_clock: FakeClock) -> Iterator[tuple[LiveServer, Any]]:
    """The live server with its DICOM SCP on a free port and the real RECON emulator sending results to it."""
    from backend.domain.actor import SYSTEM
    from backend.entrypoints.listeners.dicom_scp import start_dicom
    from backend.services.imaging import nodes
    from integrations.recon.emulator import ReconConfig, RECONEmulator

    server = LiveServer(tmp_path, clock=live_clock, dicom_port=0, dicom_timeout_s=20.0).start()
    handle, _line = start_dicom(server.services)
    emu = RECONEmulator(ReconConfig(port=0, destination_port=handle.port)).start()
    for ae, port in (("CT01", 11114), ("RECON", emu.port)):
        nodes.save_node(server.services, {"ae_title": ae, "host": "127.0.0.1", "port": port, "rights": ["store"]},
                        by=SYSTEM)
    yield server, emu
    emu.stop()
    handle.stop()
    server.stop()


def open_recon_dialog(page: Any, accession: str, images: int) -> Any:
    """Exam list → right-click the exam → 引用历史图像: the dialog lists the prior with its thumbnails loaded
    and its default series chosen; the prior's card."""
    row = page.locator(f"#exams-table tr:has-text('{accession}')")
    row.wait_for()
    row.click(button="right")
    page.locator("#exams-menu .dropdown-item", has_text="引用历史图像").click()
    page.wait_for_selector(".recon-prior")
    page.wait_for_function("() => [...document.querySelectorAll('.recon-prior img')].every(i => i.naturalWidth > 0)")
    prior = page.locator(".recon-prior").first
    assert "胸部 CT" in prior.inner_text()
    assert f"{images} 幅图像" in prior.inner_text()
    assert prior.locator("input[type=radio]:checked").count() == 1  # the default series is chosen
    page.wait_for_timeout(400)  # the dialog's fade-in, before a screenshot
    return prior


def send_and_wait_for_results(svc: Any, accession: str) -> dict[str, Any]:
    """Run the queued send to RECON (what the scheduler's job does) and wait, bounded, for its results."""
    import time

    from backend.services.imaging import recon, recon_send

    recon_send.send_pending(svc)
    deadline = time.monotonic() + RECON_WAIT_S
    while (link := recon.link_of(svc, accession)) is not None and link["state"] != "completed":
        assert time.monotonic() < deadline, link
        time.sleep(0.2)
    assert link is not None
    return link


def wait_viewer_pair(page: Any) -> list[str]:
    """The viewer shows two panes side by side, both images drawn; what each pane loaded."""
    page.wait_for_selector("#viewer-root[data-paired='1']")
    page.wait_for_function(
        "() => [0, 1].every(i => { const img = document.getElementById('viewer-image-' + i); "
        "return img && img.complete && img.naturalWidth > 0; })")
    return [str(page.get_attribute(f"#viewer-pane-{i}", "data-loaded") or "") for i in (0, 1)]
