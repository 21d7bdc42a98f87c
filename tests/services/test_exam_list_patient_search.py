"""Exam list by patient: MRN, name prefix and the one search box, served by indexes (see bench_exam_list)."""

from __future__ import annotations

from backend.domain.exam_query import ExamFilter
from backend.services.orders import exam_list
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


def test_a_broad_surname_is_served_row_by_row_with_the_same_answer(svc, actors, monkeypatch):
    """A prefix many patients share takes the other query plan (see BROAD_NAME); the rows must not change."""
    clerk = actors["clerk"]
    for mrn, name in (("PB001", "章一"), ("PB002", "章二"), ("PB003", "章三"), ("PB004", "彰四")):
        register(svc, clerk, mrn=mrn, name=name)
    narrow = (_names(svc, clerk, patient_name="章"), _names(svc, clerk, q="章"), _names(svc, clerk, q="PB004"))
    assert narrow == (["章一", "章三", "章二"], ["章一", "章三", "章二"], ["彰四"])
    monkeypatch.setattr(exam_list, "BROAD_NAME", 2)  # three 章 patients are now "many"
    assert (_names(svc, clerk, patient_name="章"), _names(svc, clerk, q="章"), _names(svc, clerk, q="PB004")) == narrow
    first = exam_list.search(svc, ExamFilter(patient_name="章"), by=clerk, limit=2)
    rest = exam_list.search(svc, ExamFilter(patient_name="章"), by=clerk, limit=2, cursor=first["next_cursor"])
    assert sorted(i["patient"]["name"] for i in first["items"] + rest["items"]) == narrow[0]
