"""The data API's query parser and signed cursors (pure domain)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from backend.domain import data_cursor
from backend.domain.data_datasets import DATASETS, EXAMS
from backend.domain.data_query import DEFAULT_LIMIT, parse
from backend.domain.errors import InvalidInput

TZ = ZoneInfo("Asia/Shanghai")


def test_defaults_every_field_key_order_and_page_size():
    q = parse(EXAMS, {}, TZ)
    assert q.fields == tuple(f.name for f in EXAMS.fields)
    assert (q.sort, q.descending, q.limit, q.format, q.updated_since) == ("id", False, DEFAULT_LIMIT, "json", None)


def test_filters_are_typed_and_repeat_or_split_on_commas():
    q = parse(EXAMS, {"status": ["registered,arrived", "completed"], "cadre_health": ["true"], "id": ["7"],
                      "created_at_from": ["2026-11-27"], "created_at_to": ["2026-11-28T00:00:00+08:00"]}, TZ)
    assert q.equals == {"status": ("registered", "arrived", "completed"), "cadre_health": (True,), "id": (7,)}
    # A bare date is the start of that day in the hospital's zone, stored as UTC.
    assert q.ranges["created_at"] == (datetime(2026, 11, 26, 16, tzinfo=UTC), datetime(2026, 11, 27, 16, tzinfo=UTC))


def test_sort_descending_and_updated_since():
    assert parse(EXAMS, {"sort": ["-created_at"]}, TZ).descending is True
    q = parse(EXAMS, {"updated_since": ["2026-11-27T09:00:00+08:00"]}, TZ)
    assert q.updated_since == datetime(2026, 11, 27, 1, tzinfo=UTC)


def test_every_dataset_declares_its_key_and_sortable_fields_are_real():
    for d in DATASETS.values():
        assert d.key in d.by_field
        assert set(d.sortable()) <= set(d.by_field)
        parse(d, {}, TZ)  # the default query of every dataset is valid


def test_a_cursor_round_trips_and_refuses_tampering_and_another_query():
    secret = b"k" * 32
    q = parse(EXAMS, {"status": ["registered"]}, TZ).fingerprint()
    token = data_cursor.sign({"q": q, "a": [1, 2]}, secret)
    assert data_cursor.verify(token, secret, query=q)["a"] == [1, 2]
    body, sig = token.split(".")
    tampered = data_cursor.sign({"q": q, "a": [1, 999]}, b"guess").split(".")[0] + "." + sig
    cases = [(tampered, secret, q), (token, secret, parse(EXAMS, {}, TZ).fingerprint()),
             (token, b"another-secret", q), ("garbage", secret, q), (body, secret, q)]
    for bad, key, query in cases:
        with pytest.raises(InvalidInput) as e:
            data_cursor.verify(bad, key, query=query)
        assert e.value.code == "invalid_cursor"


def test_a_cursor_with_non_ascii_text_is_refused_not_a_crash():
    """Found by the schemathesis run: compare_digest raised TypeError on a non-ASCII signature."""
    with pytest.raises(InvalidInput) as e:
        data_cursor.verify("页面.签名", b"k", query=[])
    assert e.value.code == "invalid_cursor"
