"""Every Dash callback is an API: each page declares who may call its callbacks (`ACCESS`), and one guard
in front of `/_dash-update-component` refuses any other caller before the callback runs.

A page module says `ACCESS = staff(Perm.EXAM_READ)` (a signed-in user holding the permission; `staff()`:
any signed-in user) or `ACCESS = device("kiosk")` (an enrolled kiosk or hall screen, see
`services.devices`). `app.py` hands each module's `register` a `PageBinder`, which records every callback
the module binds under the module's access. A callback nobody declared is refused (fail closed); Dash's
own page-routing callback is the one open entry: it renders layouts, and each layout authorises itself
(`panels.shell.staff_page`, the kiosk and screen enrolment prompt).

Callbacks still re-read what they act on (ids from the page go back through services with `by=actor`);
this guard only makes sure that nobody reaches them without the right credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from flask import Flask, jsonify, request

from backend.api.security import current_device, session_actor
from backend.domain.errors import DomainError
from backend.domain.permissions import Perm

UPDATE_PATH = "/_dash-update-component"
# Dash's pages feature: URL -> layout. Public on purpose; every layout checks its own caller.
ROUTING_OUTPUT = "_pages_content.children"


@dataclass(frozen=True)
class Access:
    """Who may call a page's callbacks: staff (with `perm`, or any) or an enrolled device of `device` kind."""

    perm: Perm | None = None
    device: str | None = None

    def refusal(self) -> tuple[int, str, str] | None:
        """(status, code, Chinese message) for the current request's caller, or None when allowed."""
        if self.device is not None:
            dev = current_device()
            if dev is not None and dev.kind == self.device:
                return None
            staff_ok = self.perm is not None and (who := session_actor()) is not None and who.can(self.perm)
            if staff_ok:
                return None  # e.g. an admin previewing a hall screen
            if dev is None:
                return 401, "device_not_enrolled", "本设备未启用或凭证已吊销，请联系管理员"
            return 403, "wrong_device", "本设备无权使用此页面"
        actor = session_actor()
        if actor is None:
            return 401, "unauthenticated", "登录已过期，请重新登录"
        if self.perm is not None and not actor.can(self.perm):
            return 403, "forbidden", "没有权限"
        return None


def staff(perm: Perm | None = None) -> Access:
    return Access(perm=perm)


def device(kind: str, *, or_staff: Perm | None = None) -> Access:
    """An enrolled device of `kind`; with `or_staff`, also a signed-in user holding that permission."""
    return Access(device=kind, perm=or_staff)


class PageBinder:
    """The Dash app as one page module sees it: callbacks bound through it are filed under its access."""

    def __init__(self, app: Any, access: Access, registry: dict[str, Access]) -> None:
        self._app = app
        self._access = access
        self._registry = registry

    def callback(self, *args: Any, **kwargs: Any) -> Any:
        # Dash files the callback in `callback_map` when `callback(...)` is called, before the decorator runs.
        before = set(self._app.callback_map)
        bind = self._app.callback(*args, **kwargs)
        for key in set(self._app.callback_map) - before:
            self._registry[key] = self._access
        return bind

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)  # clientside callbacks, config: they run in the browser


def access_of(module: ModuleType) -> Access:
    access = getattr(module, "ACCESS", None)
    if not isinstance(access, Access):
        raise RuntimeError(f"页面模块 {module.__name__} 未声明 ACCESS（backend.web.callback_guard.staff/device）："
                           "每个 Dash 回调都必须说明谁可以调用")
    return access


def install(server: Flask, registry: dict[str, Access]) -> None:
    """Refuse every callback call whose caller the page's access does not admit (401/403 JSON, nothing run)."""

    @server.before_request
    def _guard_callbacks() -> Any:
        if request.path != UPDATE_PATH or request.method != "POST":
            return None
        body = request.get_json(silent=True)
        output = str(body.get("output", "")) if isinstance(body, dict) else ""
        if output.startswith((f"..{ROUTING_OUTPUT}", ROUTING_OUTPUT)):
            return None
        access = registry.get(output)
        try:
            refused = (403, "unknown_callback", "未登记的回调") if access is None else access.refusal()
        except DomainError as exc:
            refused = (exc.status, exc.code, exc.message)
        if refused is None:
            return None
        status, code, message = refused
        return jsonify({"error": {"code": code, "message": message}}), status
