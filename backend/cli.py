"""The `python -m backend` command line: run, web, scheduler, migrate, seed, create-user, create-api-key."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from backend.config import Settings, ensure_secret, load_settings

Handler = Callable[[Settings, argparse.Namespace], int]
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Handler]] = {}


def _no_args(p: argparse.ArgumentParser) -> None:
    return None


def command(
    name: str, help_text: str, args: Callable[[argparse.ArgumentParser], None] = _no_args
) -> Callable[[Handler], Handler]:
    """Declare a sub-command; other packages add theirs (e.g. health-check-send) the same way."""

    def deco(fn: Handler) -> Handler:
        COMMANDS[name] = (help_text, args, fn)
        return fn

    return deco


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default 8000)")
    p.add_argument("--no-seed", action="store_true", help="do not seed the demo hospital into an empty database")


@command("run", "start everything in one process: web, Socket.IO, scheduler, listeners, emulators", _run_args)
def _run(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.entrypoints.embedded import run

    return run(settings.with_(host=ns.host or settings.host, port=ns.port or settings.port), seed=not ns.no_seed)


@command("web", "start only the web process (APIs, pages, Socket.IO); for deployments at scale", _run_args)
def _web(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.entrypoints.embedded import run_web

    return run_web(settings.with_(host=ns.host or settings.host, port=ns.port or settings.port))


@command("scheduler", "start only the scheduler process (emits through REDIS_URL)")
def _scheduler(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.entrypoints.scheduler import run

    return run(settings)


@command("migrate", "bring the database schema up to date")
def _migrate(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.db.migrate import upgrade

    upgrade(settings.database_url)
    logging.getLogger("radops").info("database is up to date")
    return 0


def _seed_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scale", choices=["demo", "hospital"], default="demo",
                   help="demo: small, under a minute; hospital: two years at about 3,000 exams a day")
    p.add_argument("--seed", type=int, default=20261127, help="random seed (same seed, same data)")
    p.add_argument("--days", type=int, help="history length in days (default: 60 demo, 730 hospital)")
    p.add_argument("--if-empty", action="store_true", help="do nothing when the database already has data")


@command("seed", "fill the database with the deterministic demo hospital", _seed_args)
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


@command("create-user", "create a staff account", _user_args)
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
    p.add_argument("--scopes", nargs="+", required=True, help="one or more of: " + " ".join(sorted(SCOPES)))


@command("create-api-key", "create an API key for a system and print it once", _key_args)
def _create_key(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.bootstrap import build_services
    from backend.domain.actor import SYSTEM
    from backend.services import auth

    print(auth.create_api_key(build_services(settings), ns.name, ns.scopes, by=SYSTEM))  # noqa: T201
    return 0


def _load_plugins() -> None:
    """Import the modules that add commands of their own."""
    from backend.discovery import import_all

    import_all("backend.commands")


def main(argv: Sequence[str] | None = None) -> int:
    _load_plugins()
    parser = argparse.ArgumentParser(prog="python -m backend", description="RadOps 放射科工作流")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, add_args, _fn) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
    ns = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("RADOPS_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = ensure_secret(load_settings(os.environ))
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return COMMANDS[ns.command][2](settings, ns)
