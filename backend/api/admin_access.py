"""Admin APIs for access and configuration: staff users, system API keys, runtime settings, the audit trail."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from pydantic import BaseModel, Field

from backend.api.openapi import doc
from backend.api.security import actor, requires, services
from backend.api.validation import IsoDate, json_body, query_args
from backend.domain.enums import Role
from backend.domain.permissions import Perm
from backend.services import auth
from backend.services.admin import system as admin_system
from backend.services.admin import users as admin_users

bp = Blueprint("admin_access", __name__)
TAGS = ("admin",)


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=256)
    display_name: str = Field("", max_length=64)
    roles: list[Role] = Field(min_length=1)
    department_id: int | None = None


class UserEdit(BaseModel):
    display_name: str | None = Field(None, max_length=64)
    roles: list[Role] | None = Field(None, min_length=1)
    department_id: int | None = None


class ActiveBody(BaseModel):
    active: bool


class PasswordBody(BaseModel):
    password: str = Field(min_length=8, max_length=256)


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    scopes: list[str] = Field(min_length=1, description="权限范围，如 exam.read、exam.register")


class SettingBody(BaseModel):
    value: Any = Field(description="新值：整数、布尔、字符串或 JSON 对象，按设置项类型校验")


class AuditQuery(BaseModel):
    entity: str | None = Field(None, max_length=32)
    entity_id: str | None = Field(None, max_length=64)
    actor: str | None = Field(None, max_length=64, description="如 user:1、api_key:2")
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None
    limit: int = Field(200, ge=1, le=1000)


@bp.get("/api/admin/users")
@doc("员工账号列表", tags=TAGS)
@requires(Perm.ADMIN)
def list_users() -> Any:
    return jsonify({"users": auth.list_users(services(), by=actor())})


@bp.post("/api/admin/users")
@doc("新建员工账号（用户名唯一，至少一个角色）", status=201, body=UserCreate, tags=TAGS)
@requires(Perm.ADMIN)
def create_user() -> Any:
    b = json_body(UserCreate)
    return jsonify(admin_users.create_user(services(), username=b.username, password=b.password,
                                           display_name=b.display_name, roles=[r.value for r in b.roles],
                                           department_id=b.department_id, by=actor())), 201


@bp.patch("/api/admin/users/<int:user_id>")
@doc("修改员工姓名、角色或科室", body=UserEdit, tags=TAGS)
@requires(Perm.ADMIN)
def edit_user(user_id: int) -> Any:
    b = json_body(UserEdit)
    roles = [r.value for r in b.roles] if b.roles is not None else None
    return jsonify(admin_users.edit_user(services(), user_id, display_name=b.display_name, roles=roles,
                                         department_id=b.department_id, by=actor()))


@bp.post("/api/admin/users/<int:user_id>/active")
@doc("停用或启用账号（不能停用自己）", body=ActiveBody, tags=TAGS)
@requires(Perm.ADMIN)
def set_user_active(user_id: int) -> Any:
    return jsonify(admin_users.set_active(services(), user_id, json_body(ActiveBody).active, by=actor()))


@bp.post("/api/admin/users/<int:user_id>/password")
@doc("重置密码", body=PasswordBody, tags=TAGS)
@requires(Perm.ADMIN)
def reset_password(user_id: int) -> Any:
    return jsonify(admin_users.reset_password(services(), user_id, json_body(PasswordBody).password, by=actor()))


@bp.get("/api/admin/api-keys")
@doc("API 密钥列表（不含密钥本身）", tags=TAGS)
@requires(Perm.ADMIN)
def list_api_keys() -> Any:
    return jsonify({"api_keys": auth.list_api_keys(services(), by=actor())})


@bp.post("/api/admin/api-keys")
@doc("新建 API 密钥：密钥只在此响应中出现一次，系统只保存其哈希", status=201, body=ApiKeyCreate, tags=TAGS)
@requires(Perm.ADMIN)
def create_api_key() -> Any:
    b = json_body(ApiKeyCreate)
    key = auth.create_api_key(services(), b.name, b.scopes, by=actor())
    return jsonify({"key": key, "prefix": key.split("_")[1], "name": b.name, "scopes": sorted(set(b.scopes)),
                    "notice": "请立即复制保存，此密钥不会再次显示"}), 201


@bp.post("/api/admin/api-keys/<int:key_id>/revoke")
@doc("吊销 API 密钥（立即失效）", tags=TAGS)
@requires(Perm.ADMIN)
def revoke_api_key(key_id: int) -> Any:
    auth.revoke_api_key(services(), key_id, by=actor())
    return jsonify({"ok": True})


@bp.get("/api/admin/settings")
@doc("运行参数（按分组）", tags=TAGS)
@requires(Perm.ADMIN)
def list_settings() -> Any:
    return jsonify({"groups": admin_system.settings_by_group(services(), by=actor())})


@bp.put("/api/admin/settings/<key>")
@doc("修改一项运行参数（按类型与范围校验）", body=SettingBody, tags=TAGS)
@requires(Perm.ADMIN)
def put_setting(key: str) -> Any:
    value = admin_system.change_setting(services(), key, json_body(SettingBody).value, by=actor())
    return jsonify({"key": key, "value": value})


@bp.get("/api/admin/audit")
@doc("审计日志查询（按对象、对象编号、操作人、日期）", query=AuditQuery, tags=TAGS)
@requires(Perm.ADMIN)
def audit_trail() -> Any:
    a = query_args(AuditQuery)
    return jsonify({"entries": admin_system.search_audit(
        services(), by=actor(), entity=a.entity, entity_id=a.entity_id, actor=a.actor, day_from=a.date_from,
        day_to=a.date_to, limit=a.limit)})
