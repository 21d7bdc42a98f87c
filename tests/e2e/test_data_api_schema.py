"""The data API against its own OpenAPI, fuzzed by schemathesis: no 500, and every answer (200 JSON or CSV,
400, 401, 403, 404, 429) has a documented status, content type and schema. A few hundred cases in all."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.services import settings_store
from backend.services.auth import login
from backend.services.reporting import critical_values
from tests.data_api_helpers import ALL_READ, data_key
from tests.helpers import register
from tests.reporting_helpers import approved, exam_at

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Per operation: nine operations, some 250 cases in all (valid queries, and queries that break the schema).
POSITIVE, NEGATIVE = 20, 10


@pytest.fixture
def data_api(app: Any) -> tuple[Any, str]:
    """The app with a little of everything in it, and a key that reads every dataset (and personal data)."""
    svc = app.extensions["radops"]
    actors = {u: login(svc, u, p) for u, p in (("admin", "admin123456"), ("clerk", "clerk123456"),
                                                ("tech", "tech123456"), ("doctor", "doctor123456"),
                                                ("senior", "senior123456"))}
    settings_store.put(svc, "data_api.rate_per_minute", 6000, by=actors["admin"])
    approved(svc, actors)
    exam = exam_at(svc, actors, "completed", name="欧阳明月")
    critical_values.raise_value(svc, exam["exam_id"], finding="张力性气胸", by=actors["doctor"])
    register(svc, actors["clerk"], patient_class="emergency")
    return app, data_key(svc, actors["admin"], [*ALL_READ, "data.pii"])


def test_data_api_answers_match_the_openapi(data_api: tuple[Any, str]) -> None:
    app, key = data_api
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app).include(path_regex=r"^/api/data/v1/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 9  # eight datasets and the dictionary (any other path is not an operation)
    calls = Counter()
    for op in operations:
        for mode, examples in ((GenerationMode.POSITIVE, POSITIVE), (GenerationMode.NEGATIVE, NEGATIVE)):
            if mode is GenerationMode.NEGATIVE and not list(op.query):
                continue  # the dictionary takes no parameter: there is nothing to break

            @given(case=op.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def check(case: Any) -> None:
                response = case.call_and_validate(headers={"X-API-Key": key}, checks=CHECKS)
                calls[response.status_code] += 1

            check()
    assert sum(calls.values()) >= 200, calls
    assert calls[200] >= 50, calls  # pages were answered ...
    assert calls[400] >= 20, calls  # ... and broken queries refused
