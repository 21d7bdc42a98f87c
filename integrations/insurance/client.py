"""The real e-voucher resolver: ec.query over JSON HTTP with timeouts; failures become integrations.errors."""

from __future__ import annotations

import logging

import httpx

from backend.ports import InsuredPerson
from integrations.errors import PartnerProtocolError, PartnerRejected, PartnerUnavailable
from integrations.insurance.mapping import ec_query_request, person_from_output

logger = logging.getLogger(__name__)
# The platform's answer code for a voucher it does not know or that expired.
UNKNOWN_VOUCHER_CODES = frozenset({"1001", "1002"})


class HttpInsuranceResolver:
    """InsuranceResolver over an injected `httpx.Client(base_url=..., timeout=...)`."""

    def __init__(self, client: httpx.Client, *, org_id: str = "H33010000001", operator_id: str = "KIOSK") -> None:
        self.client = client
        self.org_id = org_id
        self.operator_id = operator_id

    def resolve(self, *, qr_payload: str) -> InsuredPerson | None:
        """Decode one voucher; None when the platform says it is unknown or expired."""
        body = ec_query_request(qr_payload, org_id=self.org_id, operator_id=self.operator_id)
        try:
            resp = self.client.post("/ec/query", json=body)
            resp.raise_for_status()
            answer = resp.json()
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise PartnerUnavailable("医保电子凭证服务暂不可用，请改用条码或病案号签到") from exc
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code >= 500:
                raise PartnerUnavailable("医保电子凭证服务暂不可用，请改用条码或病案号签到") from exc
            raise PartnerRejected("医保平台拒绝了请求", status=exc.response.status_code) from exc
        except ValueError as exc:
            raise PartnerProtocolError("医保平台返回了无法识别的内容") from exc
        code = str(answer.get("code", ""))
        if code in UNKNOWN_VOUCHER_CODES:
            return None
        if code != "0" or not isinstance(answer.get("data"), dict):
            raise PartnerRejected(f"医保平台返回错误：{answer.get('message', code)}", partner_code=code)
        try:
            return person_from_output(answer["data"])
        except KeyError as exc:
            raise PartnerProtocolError("医保平台返回内容缺少身份信息") from exc
