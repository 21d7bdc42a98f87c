"""The one-process embedded default (`make run`): migrate, seed if empty, then web + Socket.IO + scheduler +
listeners on the threaded development server; the layout at scale is in the README."""

from __future__ import annotations

import logging
import signal
import sys
from typing import TYPE_CHECKING

from backend.config import Settings
from backend.entrypoints.heap import freeze_startup_heap
from backend.entrypoints.process import ProcessLife

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler
    from flask import Flask

    from backend.entrypoints.background import Started

logger = logging.getLogger(__name__)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def run(settings: Settings, *, seed: bool = True) -> int:
    from backend.app import create_app
    from backend.db.migrate import upgrade
    from backend.entrypoints.background import StartFailed, start_all
    from backend.jobs import build_scheduler
    from backend.seed import is_empty, run_seed

    upgrade(settings.database_url)
    seed_images_now = seed and is_empty(settings)
    if seed_images_now:
        _say("首次启动：正在生成演示医院数据 / seeding the demo hospital ...")
        _say(str(run_seed(settings, scale="demo", seed=20261127, days=None, progress=sys.stderr.isatty(),
                          images=False)))
    app = create_app(settings)
    svc = app.extensions["radops"]
    scheduler = build_scheduler(svc) if settings.start_scheduler else None
    if scheduler is not None:
        scheduler.start()
    try:
        helpers = start_all(svc)
    except StartFailed as exc:
        sys.stderr.write(f"{exc}\n")  # one line: which listener, which port, why
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        return 1
    if seed_images_now:
        _seed_images_in_background(settings)
    return _serve(app, settings, scheduler, helpers)


def _seed_images_in_background(settings: Settings) -> None:
    """The demo images (a minute or more of synthetic CT) are archived while the pages already answer, as if
    the scanners were sending them; the viewer shows each study as it completes."""
    import threading

    from backend.seed.images import seed_images

    def work() -> None:
        _say("演示影像后台生成中（约 1000 幅，完成后会提示） / archiving the demo images in the background ...")
        try:
            _say(f"演示影像已就绪 / demo images archived: {seed_images(settings, seed=20261127)}")
        except Exception:  # the demo images are a convenience; the system runs without them
            logging.getLogger(__name__).exception("演示影像生成失败")

    threading.Thread(target=work, name="demo-images", daemon=True).start()


def _serve(app: Flask, settings: Settings, scheduler: BackgroundScheduler | None, helpers: list[Started]) -> int:
    from backend import log_noise
    from backend.entrypoints.background import reports, stop_all
    from backend.realtime import socketio
    from backend.seed import DEMO_LOGINS
    from backend.services import health

    svc = app.extensions["radops"]
    log_noise.install()  # the development server's lines about closed WebSockets (issue 14.11)
    life = ProcessLife(svc, lambda: reports(helpers)).start()
    if scheduler is not None:
        health.scheduler_beat(svc)
    base = f"http://{settings.host}:{settings.port}"
    _say("")
    _say(f"RadOps 已启动 / running at {base}")
    for path, label in PAGES:
        _say(f"  {label:<14} {base}{path}")
    for item in helpers:
        _say(f"  {item.name:<14} {item.line}")
    _say("演示账号 / demo logins (username / password):")
    for username, password, role in DEMO_LOGINS:
        _say(f"  {username:<12} {password:<14} {role}")
    _say("按 Ctrl+C 停止 / press Ctrl+C to stop")
    freeze_startup_heap()
    # SIGTERM (a service manager's stop) unwinds like Ctrl+C, so the stop below always runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        socketio.run(app, host=settings.host, port=settings.port, allow_unsafe_werkzeug=True,
                     use_reloader=False, log_output=False)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        stop_all(helpers)
        life.stop()  # queued read-audit rows (backend/services/audit.py), heartbeats withdrawn
    return 0


# Pages printed at start; modules append theirs so that the list stays true.
PAGES: list[tuple[str, str]] = [
    ("/login", "登录 login"),
    ("/panels/exams", "检查列表"),
    ("/panels/register", "登记"),
    ("/admin/users", "系统管理"),
    ("/kiosk/K1", "自助签到"),
    ("/panels/room-desk", "叫号台"),
    ("/screens/HALL-MAIN", "候诊大屏"),
    ("/admin/screens", "大屏管理"),
    ("/panels/worklist", "报告工作台"),
    ("/panels/review", "报告审核"),
    ("/cockpit", "驾驶舱"),
    ("/panels/critical", "危急值"),
    ("/panels/shift", "选择班次"),
    ("/panels/us-room", "超声叫号"),
    ("/panels/triage", "超声分诊"),
    ("/admin/shifts", "班次管理"),
    ("/api/openapi.json", "API 文档"),
]
