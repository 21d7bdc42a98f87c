"""Builders for data API tests: keys with data scopes, and the time the sync window has passed."""

from __future__ import annotations

from typing import Any

from backend.domain.actor import Actor
from backend.domain.data_datasets import DATASETS
from backend.services import auth
from backend.services.base import Services
from backend.services.data_api.changes import SYNC_LAG

ALL_READ = [d.scope for d in DATASETS.values()]


def data_key(svc: Services, admin: Actor, scopes: list[str] | None = None, name: str = "低代码平台") -> str:
    """A raw API key with `scopes` (default: read every dataset, masked)."""
    return auth.create_api_key(svc, name, scopes if scopes is not None else ALL_READ, by=admin)


def key_actor(svc: Services, admin: Actor, scopes: list[str] | None = None, name: str = "低代码平台") -> Actor:
    return auth.actor_for_api_key(svc, data_key(svc, admin, scopes, name))


def settle(clock: Any) -> None:
    """Move the clock past the sync lag, so the changes made so far are inside the next sync window."""
    clock.advance(seconds=SYNC_LAG.total_seconds() + 1)
