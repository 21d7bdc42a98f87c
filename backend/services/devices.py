"""Enrolled devices: each kiosk and hall screen holds a long-lived, revocable credential that an admin issued
on the device itself (KI security, issue 14.2). A device acts only as the terminal or screen it was enrolled
for; the kiosk's Dash callbacks and the kiosk API both take the terminal from the credential, never from
the page's state.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from backend.db.models import KioskTerminal, Screen
from backend.db.models.security import Device
from backend.domain.actor import Actor
from backend.domain.errors import InvalidInput, NotFound, Unauthenticated
from backend.domain.permissions import Perm
from backend.services import audit
from backend.services.base import Services, Tx, transaction

KINDS = {"kiosk": "自助机", "screen": "候诊大屏"}
PREFIX = "dv"


@dataclass(frozen=True)
class Enrolled:
    """What a process remembers about one device credential (the cache entry's value)."""

    kind: str  # always "device": `auth.forget("device", id)` drops it
    id: int
    actor: Actor


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _target(tx: Tx, kind: str, code: str) -> KioskTerminal | Screen:
    row: KioskTerminal | Screen | None
    if kind == "kiosk":
        row = tx.session.scalars(select(KioskTerminal).where(KioskTerminal.code == code)).first()
    else:  # a hall screen's address may name it by id (/screens/3) as well as by code
        cond = Screen.id == int(code) if code.isdigit() else Screen.code == code
        row = tx.session.scalars(select(Screen).where(cond)).first()
    if row is None:
        raise NotFound(f"{KINDS.get(kind, '设备')}不存在：{code}", code="unknown_device_target")
    return row


def enrol(svc: Services, kind: str, target: str, *, by: Actor, name: str = "") -> str:
    """Issue a device credential for one kiosk or screen (admin); returns it once (`dv_<prefix>_<secret>`)."""
    by.require(Perm.ADMIN)
    if kind not in KINDS:
        raise InvalidInput(f"设备类型无效：{kind}", code="invalid_device_kind")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with transaction(svc) as tx:
        row = _target(tx, kind, target)
        device = Device(kind=kind, target=row.code, name=(name.strip() or f"{KINDS[kind]} {row.code}")[:64],
                        prefix=prefix, token_hash=_digest(secret), issued_at=tx.now, issued_by=by.name[:64],
                        last_ip="")
        tx.session.add(device)
        tx.session.flush()
        audit.record(tx, by, "enrol", "device", device.id, kind=kind, target=row.code)
    return f"{PREFIX}_{prefix}_{secret}"


def _actor(tx: Tx, device: Device) -> Actor:
    row = _target(tx, device.kind, device.target)
    perms = frozenset({Perm.EXAM_OPERATE.value}) if device.kind == "kiosk" else frozenset()
    return Actor(kind=device.kind, id=row.id, name=row.code, perms=perms)


def device_actor(svc: Services, raw: str, *, ip: str = "") -> Actor:
    """The kiosk or screen behind a device credential (kind `kiosk` or `screen`, id of the terminal/screen)."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise Unauthenticated("设备凭证格式错误", code="bad_device_key")
    from backend.services.auth import ACTOR_TTL_SECONDS

    key = f"device:{_digest(raw.strip())}"
    hit = svc.cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < ACTOR_TTL_SECONDS:
        return hit[1].actor  # type: ignore[no-any-return]
    with transaction(svc) as tx:
        device = tx.session.scalars(select(Device).where(Device.prefix == parts[1])).first()
        if device is None or device.revoked_at is not None or not hmac.compare_digest(device.token_hash,
                                                                                        _digest(parts[2])):
            raise Unauthenticated("设备凭证无效或已吊销，请联系管理员重新启用本设备", code="bad_device_key")
        actor = _actor(tx, device)
        # "Last use" for the admin's list; a minute's precision is enough (no write per request).
        if device.last_used_at is None or (tx.now - device.last_used_at).total_seconds() > 60:
            device.last_used_at, device.last_ip = tx.now, ip[:64]
        svc.cache[key] = (time.monotonic(), Enrolled("device", device.id, actor))
    return actor


def revoke(svc: Services, device_id: int, *, by: Actor) -> None:
    """Revoke a device credential (admin): the device is refused everywhere at once."""
    from backend.services.auth import revoke_everywhere

    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        device = tx.session.get(Device, device_id)
        if device is None:
            raise NotFound(f"设备不存在：{device_id}", code="device_not_found")
        if device.revoked_at is None:
            device.revoked_at = tx.now
        audit.record(tx, by, "revoke", "device", device.id)
    revoke_everywhere(svc, "device", device_id)


def list_devices(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    """Every enrolled device with its last use (admin page)."""
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        rows = tx.session.scalars(select(Device).order_by(Device.kind, Device.target, Device.id))
        return [{"id": d.id, "kind": d.kind, "kind_label": KINDS.get(d.kind, d.kind), "target": d.target,
                 "name": d.name, "prefix": d.prefix, "issued_at": d.issued_at.isoformat(), "issued_by": d.issued_by,
                 "last_used_at": d.last_used_at.isoformat() if d.last_used_at else None, "last_ip": d.last_ip,
                 "revoked": d.revoked_at is not None} for d in rows]
