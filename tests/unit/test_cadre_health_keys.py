"""Cadre-health object keys and identifiers: one documented scheme, stable across retries, safe characters."""

from __future__ import annotations

from datetime import date

import pytest

from backend.domain.cadre_health import file_id, image_key, report_id, report_key
from backend.domain.errors import InvalidInput

DAY = date(2026, 11, 27)


def test_image_and_report_keys_follow_the_documented_scheme():
    assert image_key(prefix="cadre", org="H33010000001", study_day=DAY, accession="CT2026112700001",
                     study_uid="1.2.3", series_uid="1.2.3.4", sop_uid="1.2.3.4.5") == \
        "cadre/H33010000001/2026/11/27/CT2026112700001/1.2.3/1.2.3.4/1.2.3.4.5.dcm"
    assert report_key(prefix="cadre", org="H33010000001", study_day=DAY, accession="CT2026112700001", version=2) == \
        "cadre/H33010000001/2026/11/27/CT2026112700001/report/v2.pdf"


def test_identifiers_are_stable_and_distinct():
    assert file_id(org="H1", sop_uid="1.2.3") == file_id(org="H1", sop_uid="1.2.3")
    assert file_id(org="H1", sop_uid="1.2.3") != file_id(org="H2", sop_uid="1.2.3")
    assert report_id(org="H1", accession="A1") != report_id(org="H1", accession="A2")


@pytest.mark.parametrize(("kw", "code"), [
    ({"sop_uid": "1.2.x"}, "invalid_uid"),
    ({"sop_uid": "1." + "2" * 70}, "invalid_uid"),
    ({"accession": "../etc"}, "invalid_key_part"),
    ({"accession": "CT 1"}, "invalid_key_part"),
    ({"org": ""}, "invalid_key_part"),
])
def test_unsafe_parts_are_refused(kw, code):
    args = {"prefix": "cadre", "org": "H1", "study_day": DAY, "accession": "A1", "study_uid": "1.2",
            "series_uid": "1.2.3", "sop_uid": "1.2.3.4", **kw}
    with pytest.raises(InvalidInput) as e:
        image_key(**args)
    assert e.value.code == code
