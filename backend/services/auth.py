"""Staff accounts, logins and system API keys; turns credentials into an Actor."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from backend.db.models import ApiKey, User, UserRole
from backend.domain.actor import Actor
from backend.domain.enums import ROLE_LABELS, Role
from backend.domain.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from backend.domain.passwords import password_problem
from backend.domain.permissions import SCOPES, Perm, expand_scopes, permissions_of
from backend.domain.text_input import check_text
from backend.services import audit, sessions
from backend.services.base import Services, transaction

_hasher = PasswordHasher()
# Verified against when the user does not exist, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("radops-dummy-password")
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"密码至少 {MIN_PASSWORD} 位", code="weak_password")
    return _hasher.hash(password)


def actor_for(user: User, *, ip: str = "") -> Actor:
    roles = frozenset(user.role_names)
    return Actor(
        kind="user",
        id=user.id,
        name=user.display_name,
        perms=frozenset(p.value for p in permissions_of(roles)),
        roles=roles,
        department_id=user.department_id,
        ip=ip,
    )


def _validate_roles(roles: Iterable[str]) -> list[str]:
    out = sorted(set(roles))
    bad = [r for r in out if r not in {x.value for x in Role}]
    if bad or not out:
        raise InvalidInput(f"角色无效：{', '.join(bad) or '至少选择一个角色'}", code="invalid_role")
    return out


def create_user(
    svc: Services, *, username: str, password: str, display_name: str, roles: Iterable[str],
    department_id: int | None = None, by: Actor,
) -> dict[str, Any]:
    """Create a staff account; usernames are unique."""
    by.require(Perm.ADMIN)
    username = username.strip()
    if not username or len(username) > 64:
        raise InvalidInput("用户名不能为空且不超过 64 个字符", code="invalid_username")
    role_list = _validate_roles(roles)
    with transaction(svc) as tx:
        if tx.session.scalars(select(User).where(User.username == username)).first():
            raise Conflict(f"用户名已存在：{username}", code="duplicate_username")
        hashed = hash_password(check_policy(password, username=username))
        user = User(username=username, display_name=display_name.strip() or username, password_hash=hashed,
                    department_id=department_id, created_at=tx.now, active=True)
        user.roles = [UserRole(role=r) for r in role_list]
        tx.session.add(user)
        tx.session.flush()
        audit.record(tx, by, "create", "user", user.id, roles=role_list)
        return user_dict(user)


def update_user(
    svc: Services, user_id: int, *, by: Actor, display_name: str | None = None, roles: Iterable[str] | None = None,
    active: bool | None = None, password: str | None = None, department_id: int | None = None,
) -> dict[str, Any]:
    """Edit a staff account (roles, name, active flag, password reset)."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        user = tx.session.get(User, user_id)
        if user is None:
            raise NotFound(f"用户不存在：{user_id}", code="user_not_found")
        if display_name is not None:
            user.display_name = display_name.strip() or user.username
        if roles is not None:
            wanted = _validate_roles(roles)
            user.roles = [UserRole(role=r) for r in wanted]
        if active is not None:
            if not active and by.id == user.id:
                raise InvalidInput("不能停用自己的账号", code="self_deactivate")
            user.active = active
        if password:
            user.password_hash = hash_password(check_policy(password, username=user.username))
            # A password another person chose is changed by its owner at the next sign-in (outside the demo).
            user.must_change_password = by.id != user.id
        if department_id is not None:
            user.department_id = department_id
        audit.record(tx, by, "update", "user", user.id, password_reset=bool(password))
        out = user_dict(user)
    if password or active is False:
        # A copied cookie must not outlive a reset password or a disabled account; ending the sessions
        # announces the user's revocation to every process (once).
        sessions.end_for_user(svc, user_id, reason="password_reset" if password else "deactivated")
    else:
        revoke_everywhere(svc, "user", user_id)
    return out


def check_policy(password: str, *, username: str) -> str:
    """The password itself when the policy accepts it; else a Chinese refusal (code weak_password)."""
    problem = password_problem(password, username=username)
    if problem:
        raise InvalidInput(problem, code="weak_password")
    return password


def change_own_password(svc: Services, by: Actor, *, old: str, new: str, keep_session: str | None) -> None:
    """A signed-in user replaces their password; every other session of theirs ends (a copied cookie too)."""
    with transaction(svc) as tx:
        user = tx.session.get(User, by.id)
        if user is None or not user.active or not _verify(user.password_hash, old):
            audit.record(tx, by, "password_change_failed", "user", by.id or "")
            raise Unauthenticated("原密码错误", code="bad_credentials")
        if new == old:
            raise InvalidInput("新密码不能与原密码相同", code="weak_password")
        user.password_hash = hash_password(check_policy(new, username=user.username))
        user.must_change_password = False
        audit.record(tx, by, "password_change", "user", user.id)
    sessions.end_for_user(svc, int(by.id or 0), reason="password_change", keep=keep_session)


def must_change_password(svc: Services, user_id: int) -> bool:
    """Whether this user still signs in with a demo or admin-set password."""
    with transaction(svc, readonly=True) as tx:
        user = tx.session.get(User, user_id)
        return bool(user is not None and user.must_change_password)


def user_dict(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "roles": user.role_names, "role_labels": [ROLE_LABELS[Role(r)] for r in user.role_names],
            "department_id": user.department_id, "active": user.active}


def list_users(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        return [user_dict(u) for u in tx.session.scalars(select(User).order_by(User.username))]


def login(svc: Services, username: str, password: str, *, ip: str = "") -> Actor:
    """Check a staff password; refuse unknown, inactive or wrong with one message (audited either way)."""
    check_text(username, field="用户名", max_len=64, multiline=False)
    actor: Actor | None = None
    with transaction(svc) as tx:
        user = tx.session.scalars(select(User).where(User.username == username.strip())).first()
        ok = _verify(user.password_hash if user else _DUMMY_HASH, password)
        if user is None or not ok or not user.active:
            anon = Actor(kind="anonymous", id=None, name=username[:64], ip=ip)
            # Committed with this transaction, so failed attempts stay in the audit trail.
            audit.record(tx, anon, "login_failed", "user", user.id if user else "", username=username[:64])
        else:
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            actor = actor_for(user, ip=ip)
            audit.record(tx, actor, "login", "user", user.id)
    if actor is None:
        raise Unauthenticated("用户名或密码错误，或账号已停用", code="bad_credentials")
    return actor


def record_throttled(svc: Services, username: str, *, ip: str, retry_after: int) -> None:
    """Audit a sign-in refused because of too many failures (the password was not even checked)."""
    with transaction(svc) as tx:
        anon = Actor(kind="anonymous", id=None, name=username[:64], ip=ip)
        audit.record(tx, anon, "login_throttled", "user", "", username=username[:64], retry_after=retry_after)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


# Who is behind a session or key is re-read at most this often per process. A change (disabled account,
# new roles, revoked key) reaches every process at once through the revocation bus (`revoke_everywhere`);
# this lifetime only bounds how long a process that missed a message (Redis down) keeps the old answer.
ACTOR_TTL_SECONDS = 5.0


def _cached(svc: Services, key: str) -> Actor | None:
    hit = svc.cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < ACTOR_TTL_SECONDS:
        return cast(Actor, hit[1])
    return None


def forget(svc: Services, kind: str, ident: str) -> None:
    """Drop what this process remembers about one credential (`all`: everything), e.g. on a revocation."""
    for key, hit in list(svc.cache.items()):
        if not key.startswith(("actor:", "session:", "device:")):
            continue
        entry = hit[1]  # an Actor, a live session (kind "user") or a device (kind "device")
        if kind == "all" or (entry.kind == kind and str(entry.id) == ident) or key == f"{kind}:{ident}":
            svc.cache.pop(key, None)


def revoke_everywhere(svc: Services, kind: str, ident: object) -> None:
    """After a committed revocation: forget it here, then tell every other process (if there are others)."""
    forget(svc, kind, str(ident))
    bus = svc.ports.revocations
    if bus is not None:
        bus.revoke(kind, str(ident))


def actor_by_user_id(svc: Services, user_id: int, *, ip: str = "") -> Actor | None:
    """The Actor of a logged-in session, or None when the account was removed or disabled."""
    key = f"actor:user:{user_id}"
    if (hit := _cached(svc, key)) is not None:
        return replace(hit, ip=ip)
    with transaction(svc, readonly=True) as tx:
        user = tx.session.get(User, user_id)
        if user is None or not user.active:
            svc.cache.pop(key, None)
            return None
        actor = actor_for(user)
    svc.cache[key] = (time.monotonic(), actor)
    return replace(actor, ip=ip)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(svc: Services, name: str, scopes: Iterable[str], *, by: Actor) -> str:
    """Create a system key and return it once (`rk_<prefix>_<secret>`); only its hash is kept."""
    by.require(Perm.ADMIN)
    scope_list = expand_scopes(scopes)
    bad = [s for s in scope_list if s not in SCOPES]
    if bad or not scope_list:
        choices = ", ".join(sorted(SCOPES))
        raise InvalidInput(f"权限范围无效：{', '.join(bad) or '至少一个'}；可选：{choices} 或 all（全部）",
                           code="invalid_scope")
    prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(24)
    with transaction(svc) as tx:
        key = ApiKey(name=name.strip()[:64] or "system", prefix=prefix, key_hash=_digest(secret),
                     scopes=scope_list, created_at=tx.now)
        tx.session.add(key)
        tx.session.flush()
        audit.record(tx, by, "create", "api_key", key.id, scopes=scope_list)
    return f"rk_{prefix}_{secret}"


def actor_for_api_key(svc: Services, raw: str, *, ip: str = "") -> Actor:
    """Resolve an X-API-Key header to a system Actor holding exactly the key's scopes."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "rk":
        raise Unauthenticated("API 密钥格式错误", code="bad_api_key")
    cache_key = f"actor:key:{_digest(raw.strip())}"
    if (hit := _cached(svc, cache_key)) is not None:
        return replace(hit, ip=ip)
    with transaction(svc, readonly=True) as tx:
        key = tx.session.scalars(select(ApiKey).where(ApiKey.prefix == parts[1])).first()
        if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, _digest(parts[2])):
            raise Unauthenticated("API 密钥无效或已吊销", code="bad_api_key")
        actor = Actor(kind="api_key", id=key.id, name=key.name, perms=frozenset(key.scopes))
        # Writing on every request would serialize SQLite writers; a minute's precision is enough.
        stale = key.last_used_at is None or (tx.now - key.last_used_at).total_seconds() > 60
    if stale:
        with transaction(svc) as tx:
            fresh = tx.session.get(ApiKey, actor.id)
            if fresh is not None:
                fresh.last_used_at = tx.now
    svc.cache[cache_key] = (time.monotonic(), actor)
    return replace(actor, ip=ip)


def revoke_api_key(svc: Services, key_id: int, *, by: Actor) -> None:
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        key = tx.session.get(ApiKey, key_id)
        if key is None:
            raise NotFound(f"API 密钥不存在：{key_id}", code="api_key_not_found")
        key.revoked_at = tx.now
        audit.record(tx, by, "revoke", "api_key", key.id)
    revoke_everywhere(svc, "api_key", key_id)


def list_api_keys(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        return [{"id": k.id, "name": k.name, "prefix": k.prefix, "scopes": k.scopes,
                 "created_at": k.created_at.isoformat(), "revoked": k.revoked_at is not None,
                 "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None}
                for k in tx.session.scalars(select(ApiKey).order_by(ApiKey.id))]
