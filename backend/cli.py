"""The `python -m backend` command line: run, web, scheduler, listeners, migrate, seed, create-user, ..."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from backend.commands import Command, no_args
from backend.config import Settings, ensure_secret, load_settings
from backend.domain.errors import DomainError


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default 8000)")
    p.add_argument("--no-seed", action="store_true", help="do not seed the demo hospital into an empty database")


def _run(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.entrypoints.embedded import run

    return run(settings.with_(host=ns.host or settings.host, port=ns.port or settings.port), seed=not ns.no_seed)


def _web_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default 8000)")


def _web(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.entrypoints.web import run

    return run(settings.with_(host=ns.host or settings.host, port=ns.port or settings.port))


def _listeners(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.entrypoints.listeners_process import run

    return run(settings)


def _scheduler(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.entrypoints.scheduler import run

    return run(settings)


def _migrate(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.db.migrate import upgrade

    upgrade(settings.database_url)
    logging.getLogger("radops").info("database is up to date")
    return 0


def _seed_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", choices=["demo", "hospital"], default="demo",
                   help="demo: 19 months at about 40 exams a day, under a minute; "
                   "hospital: two years at about 3,000 exams a day")
    p.add_argument("--seed", type=int, default=20261127, help="random seed (same seed, same data)")
    p.add_argument("--days", type=int, help="history length in days (default: 570 demo, 730 hospital)")
    p.add_argument("--if-empty", action="store_true", help="do nothing when the database already has data")


def _seed(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.db.migrate import upgrade
    from backend.seed import is_empty, run_seed

    upgrade(settings.database_url)
    if ns.if_empty and not is_empty(settings):
        print("database already has data; nothing seeded")  # noqa: T201  (command output)
        return 0
    from backend.seed.history import HistoryExists

    try:
        summary = run_seed(settings, scale=ns.scale, seed=ns.seed, days=ns.days, progress=sys.stderr.isatty())
    except HistoryExists as exc:
        print(f"未生成历史数据 / {exc}")  # noqa: T201  (command output)
        return 1
    print(summary)  # noqa: T201
    return 0


def _user_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("username")
    p.add_argument("--name", default="", help="display name")
    p.add_argument("--roles", nargs="+", required=True, help="e.g. admin radiologist")
    p.add_argument("--password", help="password (asked for when omitted)")


def _create_user(settings: Settings, ns: argparse.Namespace) -> int:
    import getpass

    from backend.bootstrap import build_services
    from backend.domain.actor import SYSTEM
    from backend.services import auth

    password = ns.password or getpass.getpass("密码 / password: ")
    user = auth.create_user(build_services(settings), username=ns.username, password=password,
                            display_name=ns.name or ns.username, roles=ns.roles, by=SYSTEM)
    print(f"created user {user['username']} (id {user['id']}) roles={','.join(user['roles'])}")  # noqa: T201
    return 0


def _key_args(p: argparse.ArgumentParser) -> None:
    from backend.domain.permissions import SCOPES

    p.add_argument("name", help="the system's name, e.g. health-check-center")
    p.add_argument("--scopes", nargs="+", required=True,
                   help="one or more of: " + " ".join(sorted(SCOPES)) + ", or all")


def _create_key(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.bootstrap import build_services
    from backend.domain.actor import SYSTEM
    from backend.services import auth

    print(auth.create_api_key(build_services(settings), ns.name, ns.scopes, by=SYSTEM))  # noqa: T201
    return 0


def commands() -> tuple[Command, ...]:
    """Every sub-command, in the order `--help` lists them."""
    from backend.commands import dicom, health_check

    return (
        Command("run", "start everything in one process: web, Socket.IO, scheduler, listeners, emulators",
                _run_args, _run),
        Command("web", "start one web process (APIs, pages, Socket.IO) on gunicorn's gevent worker; at scale",
                _web_args, _web),
        Command("scheduler", "start only the scheduler process (emits through REDIS_URL)", no_args, _scheduler),
        Command("listeners", "start every listener and emulator (HL7 MLLP, ...) in one process; at scale",
                no_args, _listeners),
        Command("migrate", "bring the database schema up to date", no_args, _migrate),
        Command("seed", "fill the database with the deterministic demo hospital", _seed_args, _seed),
        Command("create-user", "create a staff account", _user_args, _create_user),
        Command("create-api-key", "create an API key for a system and print it once", _key_args, _create_key),
        health_check.SEND,
        health_check.RECEIVE,
        dicom.ECHO,
        dicom.SEND,
        dicom.IMPORT,
    )


class _Parser(argparse.ArgumentParser):
    """argparse with its refusal as one Chinese line (exit status 2), never a usage dump in English."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"参数错误：{message}（{self.prog} --help 查看用法）\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; bad input is one Chinese line and exit status 2, never a traceback."""
    table = {c.name: c for c in commands()}
    parser = _Parser(prog="python -m backend", description="RadOps 放射科工作流")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for c in table.values():
        c.add_args(sub.add_parser(c.name, help=c.help, description=c.help))
    ns = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("RADOPS_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = ensure_secret(load_settings(os.environ))
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        return table[ns.command].run(settings, ns)
    except DomainError as exc:
        sys.stderr.write(f"{exc.message}\n")
        return 2
    except (ValueError, OSError) as exc:
        logging.getLogger("radops").debug("command %s failed", ns.command, exc_info=True)
        sys.stderr.write(f"无法执行 {ns.command}：{exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130
