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
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> Callable[[F], F]:
    """Attach OpenAPI facts to a view function (`status`: its success code, 201 for a create; `extra` adds
    parameters and replaces responses or fields)."""

    def deco(fn: F) -> F:
        fn.__dict__["openapi"] = {"summary": summary, "body": body, "query": query, "response": response,
                                  "tags": list(tags), "public": public, "status": status, "extra": extra or {}}
        return fn

    return deco


def undocumented(reason: str) -> Callable[[F], F]:
    """Leave a route out of the OpenAPI on purpose, saying why (a test holds every other /api/ route to a
    documented operation)."""

    def deco(fn: F) -> F:
        fn.__dict__["openapi_omitted"] = reason
        return fn

    return deco


REF_TEMPLATE = "#/components/schemas/{model}"
# Werkzeug converters and the schema of the path parameter they accept.
CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "int": {"type": "integer", "minimum": 0},
    "float": {"type": "number"},
}


def _path(rule: str) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    params = [(name, CONVERTER_SCHEMAS.get(conv or "", {"type": "string"}))
              for conv, name in re.findall(r"<(?:([^:<>]+):)?([^<>]+)>", rule)]
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule), params


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON schema with its nested models moved into components (so every $ref resolves)."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    components.update(schema.pop("$defs", {}))
    return schema


def _query_params(model: type[BaseModel], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _schema(model, components)
    required = set(schema.get("required", []))
    return [{"name": name, "in": "query", "required": name in required, "schema": prop,
             **({"description": prop["description"]} if "description" in prop else {})}
            for name, prop in schema.get("properties", {}).items()]


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}}}},
}
ERRORS = {"400": "输入有误", "401": "未登录", "403": "没有权限", "404": "不存在", "405": "不支持的请求方法",
          "409": "状态冲突", "413": "请求内容过大", "415": "请使用 JSON", "429": "请求过于频繁"}


def build_spec(app: Flask) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/dicomweb/")):  # DICOMweb is listed too (issue 10)
            continue
        view = app.view_functions[rule.endpoint]
        info = getattr(view, "openapi", None) or getattr(getattr(view, "__wrapped__", None), "openapi", None)
        if info is None:
            continue
        path, params = _path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {"summary": info["summary"], "tags": info["tags"] or [rule.endpoint.split(".")[0]],
                                  "operationId": f"{rule.endpoint}.{method.lower()}",
                                  "parameters": [{"name": n, "in": "path", "required": True, "schema": s}
                                                 for n, s in params]}
            if info["query"] is not None:
                op["parameters"] += _query_params(info["query"], components)
            if info["body"] is not None:
                op["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": _schema(info["body"], components)}}}
            ok: dict[str, Any] = {"description": "OK"}
            if info["response"] is not None:
                ok["content"] = {"application/json": {"schema": _schema(info["response"], components)}}
            error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            op["responses"] = {str(info["status"]): ok, **{code: {"description": text, "content": error}
                                             for code, text in ERRORS.items()}}
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
        "components": {"schemas": dict(sorted(components.items())), "securitySchemes": {
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "session": {"type": "apiKey", "in": "cookie", "name": "radops_session"}}},
    }


@bp.get("/api/openapi.json")
@doc("本接口文档（OpenAPI 3.1）", public=True, tags=("meta",))
def openapi_json() -> Any:
    from flask import current_app

    return jsonify(build_spec(current_app))
