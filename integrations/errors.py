"""Failures of partner systems, as every integration raises them (nothing outside sees httpx types).

Tree:
    IntegrationError          (502)  base; a DomainError so APIs and pages show the Chinese message
    ├── PartnerUnavailable    (503)  connect/read timeout, connection refused, 5xx
    ├── PartnerRejected       (502)  the partner answered with a business or 4xx error
    └── PartnerProtocolError  (502)  the answer was not what the interface promises
"""

from __future__ import annotations

from backend.domain.errors import DomainError


class IntegrationError(DomainError):
    status = 502
    code = "partner_error"


class PartnerUnavailable(IntegrationError):
    status = 503
    code = "partner_unavailable"


class PartnerRejected(IntegrationError):
    code = "partner_rejected"


class PartnerProtocolError(IntegrationError):
    code = "partner_protocol_error"
