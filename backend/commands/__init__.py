"""Sub-commands of `python -m backend` that belong to one area; `backend/cli.py` lists every command."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from backend.config import Settings


def no_args(p: argparse.ArgumentParser) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Command:
    """One sub-command: its name, its help line, its arguments and what it runs (exit status)."""

    name: str
    help: str
    add_args: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Settings, argparse.Namespace], int]
