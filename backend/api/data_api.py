"""The low-code data API (LC-1): /api/data/v1/<dataset> and /api/data/v1/dictionary, read-only.

Each dataset is its own route (so the OpenAPI documents its own filters and fields); every call is
rate limited per API key (Flask-Limiter: in memory, or Redis when REDIS_URL is set) and audited.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, cast

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.blueprints import BlueprintSetupState
from flask_limiter import Limiter, RateLimitExceeded

from backend.api.data_api_spec import DICTIONARY_OPERATION, operation
from backend.api.errors import error_response
from backend.api.openapi import doc, undocumented
from backend.api.security import client_ip, current_actor, services
from backend.domain.data_datasets import DATASETS
from backend.services import settings_store
from backend.services.data_api import access, formats
from backend.services.data_api import read as data_read

PREFIX = "/api/data/v1"
bp = Blueprint("data_api", __name__)
RATE_CACHE_S = 10.0


def _limit_key() -> str:
    """Per API key (its public prefix); a call without a well-formed key is counted per address."""
    parts = request.headers.get("X-API-Key", "").strip().split("_", 2)
    return f"key:{parts[1][:16]}" if len(parts) == 3 and parts[0] == "rk" else f"ip:{client_ip()}"


def _rate() -> str:
    """The per-key limit from the runtime settings (re-read at most every RATE_CACHE_S seconds)."""
    svc = services()
    hit = svc.cache.get("data_api_rate")
    if hit is None or time.monotonic() - hit[0] > RATE_CACHE_S:
        hit = (time.monotonic(), int(settings_store.get(svc, "data_api.rate_per_minute")))
        svc.cache["data_api_rate"] = hit
    return f"{hit[1]} per minute"


def _init_limiter(state: BlueprintSetupState) -> None:
    """One limiter per app; its store is Redis when the deployment has one, so every process counts."""
    app = cast(Flask, state.app)
    redis_url = app.extensions["radops"].settings.redis_url
    limiter = Limiter(_limit_key, app=app, storage_uri=redis_url or "memory://", headers_enabled=True,
                      key_prefix="radops-data-api", strategy="fixed-window")
    limiter.limit(_rate)(bp)
    app.extensions["data_api_limiter"] = limiter


bp.record_once(_init_limiter)


@bp.errorhandler(RateLimitExceeded)
def _too_many(exc: RateLimitExceeded) -> Any:
    return error_response(429, "rate_limited", f"调用过于频繁（上限 {exc.description}），请稍后重试")


@bp.after_request
def _record(resp: Response) -> Response:
    """Audit and count every call of a dataset (whatever its outcome) with the key's name."""
    name = (request.view_args or {}).get("name") or request.path.removeprefix(PREFIX + "/")
    if name == "dictionary":
        return resp
    code = ""
    if resp.status_code >= 400 and resp.is_json:
        code = str(((resp.get_json(silent=True) or {}).get("error") or {}).get("code", ""))
    actor = g.get("actor")
    access.record_call(services(), actor, name, status=resp.status_code, rows=int(g.get("data_rows", 0)),
                       code=code, ip=client_ip(), format=request.args.get("format", "json"),
                       sync="updated_since" in request.args)
    return resp


def _serve(name: str) -> Any:
    actor = current_actor()
    assert actor is not None
    args = {k: request.args.getlist(k) for k in request.args}
    page = data_read.read(services(), name, args, by=actor)
    g.data_rows = len(page.items)
    body = page.body()
    if page.query.format == "json":
        # Written directly: the app's JSON provider sorts keys, which a page of 500 rows pays for twice.
        return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), mimetype="application/json")
    headers = {"X-Next-Cursor": body["next_cursor"] or "", "X-Next-Updated-Since": body["next_updated_since"] or "",
               "X-Masked": "true" if page.masked else "false",
               "Content-Disposition": f'inline; filename="{name}.csv"'}
    return Response(formats.csv_rows(page), mimetype="text/csv", headers=headers,
                    content_type="text/csv; charset=utf-8")


def _view(name: str) -> Callable[[], Any]:
    def view() -> Any:
        return _serve(name)

    view.__name__ = f"dataset_{name}"
    d = DATASETS[name]
    return doc(f"数据集：{d.label}（{name}）", tags=("data",), extra=operation(d))(view)


for _name in DATASETS:
    bp.add_url_rule(f"{PREFIX}/{_name}", endpoint=f"dataset_{_name}", view_func=_view(_name), methods=["GET"])


@bp.get(f"{PREFIX}/dictionary")
@doc("数据接口字段字典：各数据集字段的中文名、类型、单位、代码表与示例", public=True, tags=("data",),
     extra=DICTIONARY_OPERATION)
def dictionary() -> Any:
    return jsonify(formats.dictionary())


@bp.get(f"{PREFIX}/<path:name>")
@undocumented("its path would cover the datasets' own; a client generated from the spec has nothing to call here")
def unknown(name: str) -> Any:
    """Any other path under the data API: a stable `unknown_dataset` answer (after the key check)."""
    current_actor()
    data_read.dataset(name)
    return error_response(404, "unknown_dataset", "没有这个数据集")


def limiter_of(app: Flask | None = None) -> Limiter:
    return cast(Limiter, (app or current_app).extensions["data_api_limiter"])
