"""The real e-voucher resolver: ec.query over JSON HTTP with timeouts; failures become integrations.errors."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from backend.ports import InsuredPerson
from integrations.errors import PartnerProtocolError, PartnerRejected, PartnerUnavailable
from integrations.insurance.mapping import ec_query_request, person_from_output

logger = logging.getLogger(__name__)
# The platform's answer code for a voucher it does not know or that expired.
UNKNOWN_VOUCHER_CODES = frozenset({"1001", "1002"})
UNAVAILABLE = "医保电子凭证服务暂不可用，请改用条码或病案号签到"
UNREADABLE = "医保平台返回了无法识别的内容"


class HttpInsuranceResolver:
    """InsuranceResolver over an injected `httpx.Client(base_url=..., timeout=...)`."""

    def __init__(self, client: httpx.Client, *, org_id: str = "H33010000001", operator_id: str = "KIOSK") -> None:
        self.client = client
        self.org_id = org_id
        self.operator_id = operator_id

    def resolve(self, *, qr_payload: str) -> InsuredPerson | None:
        """Decode one voucher; None when the platform says it is unknown or expired."""
        answer = self._post(ec_query_request(qr_payload, org_id=self.org_id, operator_id=self.operator_id))
        code = str(answer.get("code", ""))
        if code in UNKNOWN_VOUCHER_CODES:
            return None
        if code != "0" or not isinstance(answer.get("data"), dict):
            raise PartnerRejected(f"医保平台返回错误：{answer.get('message', code)}", partner_code=code)
        try:
            return person_from_output(answer["data"])
        except KeyError as exc:
            raise PartnerProtocolError("医保平台返回内容缺少身份信息") from exc

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST ec.query and return the JSON object; every transport or format failure is mapped."""
        try:
            resp = self.client.post("/ec/query", json=body)
            resp.raise_for_status()
            answer = resp.json()
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code >= 500:
                raise PartnerUnavailable(UNAVAILABLE) from exc
            raise PartnerRejected("医保平台拒绝了请求", status=exc.response.status_code) from exc
        except httpx.DecodingError as exc:  # a body that does not decode as it says (before the JSON)
            raise PartnerProtocolError(UNREADABLE) from exc
        except httpx.RequestError as exc:  # timeouts, refused or cut connections
            raise PartnerUnavailable(UNAVAILABLE) from exc
        except ValueError as exc:
            raise PartnerProtocolError(UNREADABLE) from exc
        if not isinstance(answer, dict):
            raise PartnerProtocolError(UNREADABLE)
        return answer
