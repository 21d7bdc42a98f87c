"""The emergency reading roster (急诊值班表, issue 15 item 2): who reads emergency reports of which modality at
what time. Emergency reminders without an author go to the doctors on duty, not to the whole department."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from backend.db.models import ErDuty, Modality, User
from backend.domain.actor import Actor
from backend.domain.dispatch import parse_hhmm
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.permissions import Perm
from backend.domain.turnaround import on_duty, parse_weekdays
from backend.services import audit
from backend.services.base import Services, Tx, transaction

FIELDS = ("user_id", "modality_code", "weekdays", "start_time", "end_time", "active")


def duty_dict(tx: Tx, d: ErDuty) -> dict[str, Any]:
    user = tx.session.get(User, d.user_id)
    return {"id": d.id, "user_id": d.user_id, "user_name": user.display_name if user else "",
            "modality_code": d.modality_code or "", "weekdays": d.weekdays, "start_time": d.start_time,
            "end_time": d.end_time, "active": d.active}


def _clean(tx: Tx, values: dict[str, Any]) -> dict[str, Any]:
    user = tx.session.get(User, values.get("user_id")) if values.get("user_id") else None
    if user is None or not user.active:
        raise InvalidInput("请选择值班医生", code="unknown_user")
    if not {"radiologist", "senior_radiologist"} & set(user.role_names):
        raise InvalidInput("值班人须为报告医师或审核医师", code="not_a_reader")
    modality = (values.get("modality_code") or "").strip() or None
    if modality is not None and tx.session.get(Modality, modality) is None:
        raise InvalidInput(f"设备类型不存在：{modality}", code="unknown_modality")
    try:
        days = parse_weekdays(str(values.get("weekdays") or ""))
    except ValueError as exc:
        raise InvalidInput("星期须为 1 到 7 的数字，用逗号分隔（如 1,2,3,4,5）", code="invalid_weekdays") from exc
    start = parse_hhmm(values.get("start_time") or "", label="开始时间")
    end = parse_hhmm(values.get("end_time") or "", label="结束时间")
    return {"user_id": user.id, "modality_code": modality, "weekdays": ",".join(str(d) for d in sorted(days)),
            "start_time": f"{start:%H:%M}", "end_time": f"{end:%H:%M}", "active": bool(values.get("active", True))}


def list_duties(svc: Services, *, by: Actor) -> list[dict[str, Any]]:
    by.require(Perm.ADMIN)
    with transaction(svc, readonly=True) as tx:
        return [duty_dict(tx, d) for d in tx.session.scalars(select(ErDuty).order_by(ErDuty.modality_code,
                                                                                     ErDuty.start_time, ErDuty.id))]


def create_duty(svc: Services, *, by: Actor, **values: Any) -> dict[str, Any]:
    """Add a roster line (doctor, modality or all, weekdays or every day, from-to in site time)."""
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        d = ErDuty(**_clean(tx, values))
        tx.session.add(d)
        tx.session.flush()
        audit.record(tx, by, "create", "er_duty", d.id, user_id=d.user_id, modality=d.modality_code)
        return duty_dict(tx, d)


def update_duty(svc: Services, duty_id: int, *, by: Actor, **changes: Any) -> dict[str, Any]:
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        d = tx.session.get(ErDuty, duty_id)
        if d is None:
            raise NotFound(f"值班记录不存在：{duty_id}", code="duty_not_found")
        merged = {k: getattr(d, k) for k in FIELDS} | {k: v for k, v in changes.items() if k in FIELDS}
        for k, v in _clean(tx, merged).items():
            setattr(d, k, v)
        audit.record(tx, by, "update", "er_duty", d.id)
        return duty_dict(tx, d)


def delete_duty(svc: Services, duty_id: int, *, by: Actor) -> None:
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        d = tx.session.get(ErDuty, duty_id)
        if d is None:
            raise NotFound(f"值班记录不存在：{duty_id}", code="duty_not_found")
        tx.session.delete(d)
        audit.record(tx, by, "delete", "er_duty", duty_id)


def on_duty_now(tx: Tx, modality: str, *, at: datetime | None = None, roles: frozenset[str] | None = None
                ) -> list[int] | None:
    """Active users on the roster for `modality` now (optionally only with one of `roles`); None when the
    roster has no line for this modality at all (the caller falls back to the department)."""
    local = (at or tx.now).astimezone(tx.tz)
    lines = [d for d in tx.session.scalars(select(ErDuty).where(ErDuty.active.is_(True)))
             if not d.modality_code or d.modality_code == modality]
    if not lines:
        return None
    users = {u.id: u for u in tx.session.scalars(select(User).where(User.id.in_({d.user_id for d in lines}),
                                                                     User.active.is_(True)))}
    out = set()
    for d in lines:
        user = users.get(d.user_id)
        if user is None or (roles is not None and not roles & set(user.role_names)):
            continue
        if on_duty(weekdays=d.weekdays, start=parse_hhmm(d.start_time), end=parse_hhmm(d.end_time),
                   modality=d.modality_code, at_local=local, exam_modality=modality):
            out.add(d.user_id)
    return sorted(out)
