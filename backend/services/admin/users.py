"""Admin upkeep of staff accounts over `services.auth`: create, edit, deactivate, reset password."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backend.db.models import Department
from backend.domain.actor import Actor
from backend.domain.errors import InvalidInput
from backend.domain.permissions import Perm
from backend.services import auth
from backend.services.base import Services, transaction


def _check_department(svc: Services, department_id: int | None) -> None:
    if department_id is None:
        return
    with transaction(svc, readonly=True) as tx:
        if tx.session.get(Department, department_id) is None:
            raise InvalidInput(f"科室不存在：{department_id}", code="unknown_department")


def create_user(
    svc: Services, *, username: str, password: str, display_name: str, roles: Iterable[str],
    department_id: int | None = None, by: Actor,
) -> dict[str, Any]:
    """Create a staff account with its roles (usernames unique, passwords hashed)."""
    by.require(Perm.ADMIN)
    _check_department(svc, department_id)
    return auth.create_user(svc, username=username, password=password, display_name=display_name, roles=roles,
                            department_id=department_id, by=by)


def edit_user(
    svc: Services, user_id: int, *, by: Actor, display_name: str | None = None, roles: Iterable[str] | None = None,
    department_id: int | None = None,
) -> dict[str, Any]:
    """Change a user's name, roles or department."""
    by.require(Perm.ADMIN)
    _check_department(svc, department_id)
    return auth.update_user(svc, user_id, by=by, display_name=display_name, roles=roles,
                            department_id=department_id)


def set_active(svc: Services, user_id: int, active: bool, *, by: Actor) -> dict[str, Any]:
    """Deactivate (never yourself) or reactivate an account; a deactivated user is signed out at once."""
    return auth.update_user(svc, user_id, by=by, active=active)


def reset_password(svc: Services, user_id: int, password: str, *, by: Actor) -> dict[str, Any]:
    """Set a new password chosen by the admin (at least 8 characters)."""
    return auth.update_user(svc, user_id, by=by, password=password)
