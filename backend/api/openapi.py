"""A small OpenAPI 3.1 builder: routes declare their models with @doc; /api/openapi.json assembles them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Flask, jsonify
from pydantic import BaseModel

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("openapi", __name__)


def doc(
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    tags: tuple[str, ...] = (),
    public: bool = False,
    extra: dict[str, Any] | None = None,
) -> Callable[[F], F]:
    """Attach OpenAPI facts to a view function; `extra` adds parameters and replaces responses or fields."""

    def deco(fn: F) -> F:
        fn.__dict__["openapi"] = {"summary": summary, "body": body, "query": query, "response": response,
                                  "tags": list(tags), "public": public, "extra": extra or {}}
        return fn

    return deco


def _path(rule: str) -> tuple[str, list[str]]:
    names = re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule)
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule), names


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop,
             **({"description": prop["description"]} if "description" in prop else {})}
            for name, prop in schema.get("properties", {}).items()]


def build_spec(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        view = app.view_functions[rule.endpoint]
        info = getattr(view, "openapi", None) or getattr(getattr(view, "__wrapped__", None), "openapi", None)
        if info is None:
            continue
        path, names = _path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {"summary": info["summary"], "tags": info["tags"] or [rule.endpoint.split(".")[0]],
                                  "operationId": f"{rule.endpoint}.{method.lower()}",
                                  "parameters": [{"name": n, "in": "path", "required": True,
                                                  "schema": {"type": "string"}} for n in names]}
            if info["query"] is not None:
                op["parameters"] += _query_params(info["query"])
            if info["body"] is not None:
                op["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": info["body"].model_json_schema()}}}
            ok: dict[str, Any] = {"description": "OK"}
            if info["response"] is not None:
                ok["content"] = {"application/json": {"schema": info["response"].model_json_schema()}}
            op["responses"] = {"200": ok, "400": {"description": "输入有误"}, "401": {"description": "未登录"},
                               "403": {"description": "没有权限"}, "404": {"description": "不存在"},
                               "409": {"description": "状态冲突"}}
            perms = getattr(view, "required_perms", None)
            if not info["public"]:
                op["security"] = [{"apiKey": []}, {"session": []}]
                if perms:
                    op["description"] = "需要权限：" + ", ".join(perms)
            extra = dict(info.get("extra") or {})
            op["parameters"] += extra.pop("parameters", [])
            op.update(extra)
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "RadOps API", "version": "1.0", "description": "放射科工作流接口"},
        "paths": dict(sorted(paths.items())),
        "components": {"securitySchemes": {
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "session": {"type": "apiKey", "in": "cookie", "name": "radops_session"}}},
    }


@bp.get("/api/openapi.json")
@doc("本接口文档（OpenAPI 3.1）", public=True, tags=("meta",))
def openapi_json() -> Any:
    from flask import current_app

    return jsonify(build_spec(current_app))
