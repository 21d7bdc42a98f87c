"""The emulated cloud's routes: the signed API (each route checks the signature, then asks CloudState)
and the unsigned control plane of the demo and the tests."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from integrations.health_cloud.emulator_state import CloudError, LegacyRecord

if TYPE_CHECKING:
    from integrations.health_cloud.emulator import HealthCloudEmulator

FILE = re.compile(r"^/api/v1/files/(?P<id>[^/]+)$")
CHUNKS = re.compile(r"^/api/v1/files/(?P<id>[^/]+)/chunks$")
COMPLETE = re.compile(r"^/api/v1/files/(?P<id>[^/]+)/complete$")
STUDY = re.compile(r"^/api/v1/studies/(?P<uid>[0-9.]+)$")
MAX_PAGE = 500


def route(emulator: HealthCloudEmulator, method: str, path: str, query: dict[str, str], raw_path: str,
          headers: dict[str, str], body: bytes, body_sha: str) -> Any:
    """Authenticate the request, then answer it; CloudError carries every refusal."""
    emulator.authenticate(method, raw_path, headers, body_sha)
    state, now = emulator.state, emulator.now()
    if method == "POST" and path == "/api/v1/studies/register":
        return state.register(_json(body), now=now, duplicate_as_error=emulator.faults.duplicate_as_error)
    if method == "GET" and path == "/api/v1/studies":
        return _studies(emulator, query)
    if method == "GET" and (m := STUDY.match(path)):
        return state.study_item(state.find(query.get("hospitalCode"), m["uid"]))
    if method == "GET" and path == "/api/v1/legacy/registrations":
        return _legacy(emulator, query)
    if method == "POST" and path == "/api/v1/files/init":
        return state.init_uploads(_json(body))
    if method == "PUT" and (m := CHUNKS.match(path)):
        return state.put_chunk(m["id"], offset=int(query.get("offset", "-1")), final=query.get("final") == "1",
                               body=body, body_sha=body_sha)
    if method == "GET" and (m := FILE.match(path)):
        with state.lock:
            return state.upload_item(state.upload(m["id"]))
    if method == "POST" and (m := COMPLETE.match(path)):
        return state.complete(m["id"])
    raise CloudError("40400", "接口不存在", http=404)


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise CloudError("10001", "请求体不是 JSON", http=400) from exc
    if not isinstance(value, dict):
        raise CloudError("10001", "请求体不是 JSON 对象", http=400)
    return value


def _page(query: dict[str, str]) -> tuple[int, int]:
    page, size = int(query.get("page", "1")), int(query.get("pageSize", "100"))
    if page < 1 or not 1 <= size <= MAX_PAGE:
        raise CloudError("10001", f"分页参数不正确（pageSize 1-{MAX_PAGE}）", http=400)
    return page, size


def _studies(emulator: HealthCloudEmulator, query: dict[str, str]) -> dict[str, Any]:
    page, size = _page(query)
    hospital, since = query.get("hospitalCode"), query.get("since")
    with emulator.state.lock:
        rows = sorted((s for s in emulator.state.studies.values() if hospital in (None, s.hospital_code)
                       and (not since or s.study_date >= date.fromisoformat(since))),
                      key=lambda s: (s.registered_at, s.registration_id))
        items = [emulator.state.study_item(s) for s in rows[(page - 1) * size:page * size]]
    return {"total": len(rows), "page": page, "pageSize": size, "items": items}


def _legacy(emulator: HealthCloudEmulator, query: dict[str, str]) -> dict[str, Any]:
    page, size = _page(query)
    hospital = query.get("hospitalCode")
    with emulator.state.lock:
        rows = sorted((r for r in emulator.state.legacy.values() if hospital in (None, r.hospital_code)),
                      key=lambda r: r.old_cloud_id)
        items = [{"oldCloudId": r.old_cloud_id, "accessionNumber": r.accession, "studyInstanceUid": r.study_uid,
                  "patientId": r.patient_id, "patientName": r.patient_name, "studyDate": r.study_date.isoformat(),
                  "registeredAt": r.registered_at.isoformat(timespec="seconds"),
                  "linkedRegistrationId": r.linked_registration_id}
                 for r in rows[(page - 1) * size:page * size]]
    return {"total": len(rows), "page": page, "pageSize": size, "items": items}


def admin(emulator: HealthCloudEmulator, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The control plane of the demo and the tests (loopback only, unsigned)."""
    if method == "POST" and path == "/_emulator/faults":
        emulator.set_faults(**body)
    elif method == "POST" and path == "/_emulator/clock":
        if "now" in body:
            emulator.set_now(datetime.fromisoformat(str(body["now"])))
        else:
            emulator.advance(timedelta(days=float(body.get("advanceDays", 0))))
    elif method == "POST" and path == "/_emulator/legacy":
        emulator.add_legacy(*(_legacy_record(r) for r in body.get("records", [])))
    elif method == "POST" and path == "/_emulator/reset":
        with emulator.state.lock:
            emulator.state.studies.clear()
            emulator.state.uploads.clear()
            emulator.state.uploads_by_key.clear()
            emulator.state.chunk_log.clear()
    elif not (method == "GET" and path == "/_emulator/state"):
        raise CloudError("40400", "未知的管理接口", http=404)
    state = emulator.state
    return {"now": emulator.now().isoformat(), "faults": asdict(emulator.faults), "studies": len(state.studies),
            "uploads": len(state.uploads), "legacy": len(state.legacy), "dropped": state.dropped}


def _legacy_record(r: dict[str, Any]) -> LegacyRecord:
    return LegacyRecord(old_cloud_id=str(r["oldCloudId"]), hospital_code=str(r["hospitalCode"]),
                        accession=str(r.get("accessionNumber") or ""), study_uid=str(r.get("studyInstanceUid") or ""),
                        patient_id=str(r.get("patientId") or ""), patient_name=str(r.get("patientName") or ""),
                        study_date=date.fromisoformat(str(r["studyDate"])),
                        registered_at=datetime.fromisoformat(str(r["registeredAt"])))
