"""Exam list by patient: MRN, name prefix and the one search box, served by indexes (see bench_exam_list)."""

from __future__ import annotations

from backend.domain.exam_query import ExamFilter
from backend.services import exam_list
from tests.helpers import register


def _names(svc, actor, **kw):
    return sorted(i["patient"]["name"] for i in exam_list.search(svc, ExamFilter(**kw), by=actor)["items"])


def test_name_prefix_mrn_and_search_box(svc, actors):
    clerk = actors["clerk"]
    for mrn, name in (("PS001", "欧阳伟"), ("PS002", "欧阳伟明"), ("PS003", "欧阳五"), ("PS004", "欧文")):
        register(svc, clerk, mrn=mrn, name=name)
    assert _names(svc, clerk, patient_name="欧阳伟") == ["欧阳伟", "欧阳伟明"]
    assert _names(svc, clerk, patient_name="欧阳") == ["欧阳五", "欧阳伟", "欧阳伟明"]
    assert _names(svc, clerk, q="欧阳伟") == ["欧阳伟", "欧阳伟明"]
    assert _names(svc, clerk, mrn="PS003") == ["欧阳五"]
    assert _names(svc, clerk, q="PS004") == ["欧文"]


def test_wildcards_in_a_name_are_literal(svc, actors):
    clerk = actors["clerk"]
    for mrn, name in (("PW001", "Ann_Lee"), ("PW002", "AnnXLee"), ("PW003", "Bo%Li"), ("PW004", "Bo*Li"),
                      ("PW005", "Cy[1]")):
        register(svc, clerk, mrn=mrn, name=name)
    assert _names(svc, clerk, patient_name="Ann_") == ["Ann_Lee"]
    assert _names(svc, clerk, patient_name="Bo%") == ["Bo%Li"]
    assert _names(svc, clerk, patient_name="Bo*") == ["Bo*Li"]
    assert _names(svc, clerk, patient_name="Cy[") == ["Cy[1]"]


def test_the_search_box_still_finds_an_accession(svc, actors):
    clerk = actors["clerk"]
    exam = register(svc, clerk, mrn="PA001", name="欧阳明")
    items = exam_list.search(svc, ExamFilter(q=exam["accession"]), by=clerk)["items"]
    assert [i["accession"] for i in items] == [exam["accession"]]
