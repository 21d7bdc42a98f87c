"""The real cadre-health client: CadreHealthSystem over an injected httpx.Client, with a bearer token.

Failures become integrations.errors (PartnerUnavailable for time-outs, dropped connections and 5xx;
PartnerRejected for refusals; PartnerProtocolError for answers the interface does not promise). The
client retries only once, after a 401 with a renewed token; everything else is the outbox's to retry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from backend.ports.cadre_health import CadreReport, CoveredPerson, ImageFileInfo, PartnerReceipt
from integrations.cadre_health.mapping import (
    CODES,
    OK,
    file_info_to_wire,
    person_from_wire,
    receipt_from_wire,
    report_to_wire,
)
from integrations.cadre_health.token import TokenCache
from integrations.errors import PartnerProtocolError, PartnerRejected, PartnerUnavailable

logger = logging.getLogger(__name__)
UNAVAILABLE = "干部保健系统暂不可用，稍后自动重试"
MAX_ROSTER_PAGES = 1000


class HttpCadreHealthClient:
    """CadreHealthSystem over `httpx.Client(base_url=..., timeout=...)`; credentials never leave this object."""

    def __init__(self, client: httpx.Client, *, client_id: str, client_secret: str, org_code: str,
                 clock: Callable[[], float] = time.monotonic, page_size: int = 500,
                 token_url: str = "/oauth2/token") -> None:
        self.client = client
        self._token_url = token_url  # a path on the base URL, or the identity provider's absolute URL
        self.org_code = org_code
        self._credentials = (client_id, client_secret)
        self._page_size = page_size
        self._tokens = TokenCache(self._fetch_token, clock=clock)

    def __repr__(self) -> str:
        return f"HttpCadreHealthClient(org_code={self.org_code!r})"

    def covered_persons(self, *, updated_since: datetime | None = None) -> list[CoveredPerson]:
        """Every person on the roster (changed since `updated_since` when given), all pages."""
        out: list[CoveredPerson] = []
        params: dict[str, Any] = {"pageSize": self._page_size}
        if updated_since is not None:
            params["updatedSince"] = updated_since.isoformat()
        for page in range(1, MAX_ROSTER_PAGES + 1):
            data = self._send("GET", "/api/v1/covered-persons", params={**params, "page": page})
            items = self._field(data, "items", list)
            try:
                out += [person_from_wire(d) for d in items]
            except (KeyError, TypeError, ValueError) as exc:
                raise PartnerProtocolError("干部保健系统返回的保健对象名单格式有误") from exc
            if not items or len(out) >= int(data.get("total", 0)):
                return out
        raise PartnerProtocolError("干部保健系统的保健对象名单页数超出上限")

    def post_file_info(self, *, info: ImageFileInfo) -> PartnerReceipt:
        """Post one stored file's details (CD-3); a file the system has already is a duplicate, not an error."""
        data = self._send("POST", "/api/v1/imaging/file-info", json=file_info_to_wire(info, org_code=self.org_code))
        return self._receipt(data)

    def post_report(self, *, report: CadreReport) -> PartnerReceipt:
        """Post one approved report version, linked to its files (CD-4)."""
        data = self._send("POST", "/api/v1/imaging/report", json=report_to_wire(report, org_code=self.org_code))
        return self._receipt(data)

    def _fetch_token(self) -> tuple[str, float]:
        try:
            resp = self.client.post(self._token_url, data={"grant_type": "client_credentials"},
                                    auth=self._credentials)
        except httpx.TransportError as exc:
            raise PartnerUnavailable(UNAVAILABLE, step="token") from exc
        if resp.status_code >= 500:
            raise PartnerUnavailable(UNAVAILABLE, step="token", status=resp.status_code)
        if resp.status_code != 200:
            raise PartnerRejected("干部保健系统拒绝了接入凭证，请核对客户端编号与密钥", status=resp.status_code)
        body = self._json(resp)
        token, lifetime = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float) or lifetime <= 0:
            raise PartnerProtocolError("干部保健系统的令牌应答缺少 access_token 或 expires_in")
        logger.info("cadre health: new access token, valid %ss", int(lifetime))
        return token, float(lifetime)

    def _send(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        token = self._tokens.get()
        resp = self._request(method, path, token, **kw)
        if resp.status_code == 401:
            # The system may end a token before its advertised expiry: renew once and try again.
            resp = self._request(method, path, self._tokens.refresh(token), **kw)
        if resp.status_code >= 500:
            raise PartnerUnavailable(UNAVAILABLE, status=resp.status_code)
        if resp.status_code == 401:
            raise PartnerRejected("干部保健系统不接受新令牌，请核对接入凭证", status=401)
        body = self._json(resp)
        code = str(body.get("code", ""))
        if resp.status_code >= 400 or code != OK:
            message = str(body.get("message") or CODES.get(code) or f"HTTP {resp.status_code}")
            raise PartnerRejected(f"干部保健系统拒绝：{message}", partner_code=code, status=resp.status_code)
        data = body.get("data")
        if not isinstance(data, dict):
            raise PartnerProtocolError("干部保健系统的应答缺少 data")
        return data

    def _request(self, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        try:
            return self.client.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kw)
        except httpx.TransportError as exc:  # time-outs, refused or dropped connections
            raise PartnerUnavailable(UNAVAILABLE, path=path) from exc

    @staticmethod
    def _json(resp: httpx.Response) -> dict[str, Any]:
        try:
            body = resp.json()
        except ValueError as exc:
            raise PartnerProtocolError("干部保健系统返回了无法识别的内容", status=resp.status_code) from exc
        if not isinstance(body, dict):
            raise PartnerProtocolError("干部保健系统返回了无法识别的内容", status=resp.status_code)
        return body

    @staticmethod
    def _field(data: dict[str, Any], name: str, kind: type) -> Any:
        value = data.get(name)
        if not isinstance(value, kind):
            raise PartnerProtocolError(f"干部保健系统的应答缺少 {name}")
        return value

    @staticmethod
    def _receipt(data: dict[str, Any]) -> PartnerReceipt:
        try:
            return receipt_from_wire(data)
        except KeyError as exc:
            raise PartnerProtocolError("干部保健系统的应答缺少 recordId") from exc
