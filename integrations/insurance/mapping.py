"""Between our InsuredPerson and the ec.query wire format (standards.md 6.1)."""

from __future__ import annotations

from typing import Any

from backend.ports import InsuredPerson

# 用码业务类型 01203 = 检查 (exam); kiosks say deviceType SelfService.
BUSINESS_TYPE_EXAM = "01203"


def ec_query_request(qr_payload: str, *, org_id: str, operator_id: str) -> dict[str, Any]:
    """The JSON body of an ec.query call made from a self-service kiosk."""
    return {"transType": "ec.query",
            "data": {"orgId": org_id, "businessType": BUSINESS_TYPE_EXAM, "operatorId": operator_id,
                     "operatorName": "自助机", "officeId": "RAD", "officeName": "放射科",
                     "deviceType": "SelfService", "qrCode": qr_payload}}


def person_from_output(data: dict[str, Any]) -> InsuredPerson:
    """EcQueryOutput -> InsuredPerson (ecToken is short-lived and never kept)."""
    return InsuredPerson(id_no=str(data["idNo"]), id_type=str(data.get("idType") or "01"),
                         name=str(data.get("userName") or ""), insurance_no=str(data.get("ecIndexNo") or ""))


def person_to_output(person: InsuredPerson, *, token: str) -> dict[str, Any]:
    """InsuredPerson -> EcQueryOutput (used by the emulator)."""
    return {"idNo": person.id_no, "idType": person.id_type, "userName": person.name, "ecToken": token,
            "insuOrg": "330100", "ecIndexNo": person.insurance_no, "gender": "", "birthday": "",
            "nationality": "CHN", "email": "", "extData": {}}
