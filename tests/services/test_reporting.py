"""Reporting core: draft from the template, submit, approve (never by the author), return, amend, locks."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.db.models import Exam, ExamEvent, ReportVersion
from backend.domain.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from backend.services.base import transaction
from backend.services.reporting import queries as report_queries
from backend.services.reporting import reports as reporting
from tests.reporting_helpers import FINDINGS, IMPRESSION, approved, exam_at, submitted

FULL = {"findings": FINDINGS, "impression": IMPRESSION}


def kinds(svc, exam_id):
    with transaction(svc, readonly=True) as tx:
        return [k for k in tx.session.scalars(select(ExamEvent.kind).where(ExamEvent.exam_id == exam_id)
                                              .order_by(ExamEvent.id)) if k.startswith("report_")]


def exam_report_status(svc, exam_id):
    with transaction(svc, readonly=True) as tx:
        return tx.session.get(Exam, exam_id).report_status


def test_first_save_starts_from_the_item_template_and_is_drafted_once(svc, actors, notifier):
    exam = exam_at(svc, actors, "completed")
    view = reporting.get(svc, exam["exam_id"], by=actors["doctor"])
    assert view["report"] is None
    assert view["can"]["save"]
    assert [s["key"] for s in view["template"]["sections"]] == ["findings", "impression"]
    assert view["template"]["code"] == "DX"
    r = reporting.save_draft(svc, exam["exam_id"], sections={"findings": "双肺纹理清晰。"}, by=actors["doctor"])
    assert r["status"] == "draft"
    assert r["sections"] == {"findings": "双肺纹理清晰。", "impression": ""}
    r = reporting.save_draft(svc, exam["exam_id"], sections={"impression": "胸部未见异常。"}, by=actors["doctor"],
                             expected_lock=r["report"]["lock"])
    assert r["sections"] == {"findings": "双肺纹理清晰。", "impression": "胸部未见异常。"}
    assert kinds(svc, exam["exam_id"]) == ["report_drafted"]
    assert exam_report_status(svc, exam["exam_id"]) == "draft"
    assert "report_drafted" in notifier.names()


@pytest.mark.parametrize("status", ["registered", "arrived"])
def test_writing_before_the_exam_started_is_refused(svc, actors, status):
    exam = exam_at(svc, actors, status)
    with pytest.raises(Conflict) as e:
        reporting.save_draft(svc, exam["exam_id"], sections=FULL, by=actors["doctor"])
    assert e.value.code == "exam_not_started"
    assert "检查开始" in e.value.message
    assert reporting.get(svc, exam["exam_id"], by=actors["doctor"])["can"]["save"] is False


def test_writing_while_in_progress_is_allowed(svc, actors):
    exam = exam_at(svc, actors, "in_progress")
    assert reporting.save_draft(svc, exam["exam_id"], sections=FULL, by=actors["doctor"])["status"] == "draft"


def test_full_flow_walks_the_table_and_mirrors_exam_status(svc, actors):
    exam = submitted(svc, actors)
    assert exam_report_status(svc, exam["exam_id"]) == "submitted"
    r = reporting.approve(svc, exam["exam_id"], by=actors["senior"])
    assert r["status"] == "approved"
    assert r["versions"][0]["approved_by"] == "主任医师 赵强"
    assert exam_report_status(svc, exam["exam_id"]) == "approved"
    assert kinds(svc, exam["exam_id"]) == ["report_drafted", "report_submitted", "report_approved"]


@pytest.mark.parametrize(("action", "state"), [
    ("approve", "draft"), ("return", "draft"), ("amend", "draft"), ("submit", "submitted"),
    ("save", "submitted"), ("amend", "submitted"), ("save", "approved"), ("approve", "approved"),
    ("submit", "approved"),
])
def test_illegal_actions_are_refused_and_change_nothing(svc, actors, action, state):
    exam = exam_at(svc, actors)
    eid = exam["exam_id"]
    reporting.save_draft(svc, eid, sections=FULL, by=actors["doctor"])
    if state != "draft":
        reporting.submit(svc, eid, by=actors["doctor"])
    if state == "approved":
        reporting.approve(svc, eid, by=actors["senior"])
    before = reporting.get(svc, eid, by=actors["senior"])
    calls = {
        "approve": lambda: reporting.approve(svc, eid, by=actors["head"]),
        "return": lambda: reporting.return_report(svc, eid, reason="请补充", by=actors["head"]),
        "amend": lambda: reporting.amend(svc, eid, reason="更正", by=actors["doctor"]),
        "submit": lambda: reporting.submit(svc, eid, by=actors["doctor"]),
        "save": lambda: reporting.save_draft(svc, eid, sections={"findings": "x"}, by=actors["doctor"],
                                             expected_lock=before["report"]["lock"]),
    }
    with pytest.raises(InvalidTransition):
        calls[action]()
    after = reporting.get(svc, eid, by=actors["senior"])
    assert after["report"] == before["report"]
    assert after["versions"] == before["versions"]


def test_self_approval_is_refused_in_chinese(svc, actors):
    exam = submitted(svc, actors, author="senior")
    with pytest.raises(Forbidden) as e:
        reporting.approve(svc, exam["exam_id"], by=actors["senior"])
    assert e.value.code == "self_approval"
    assert "自己书写" in e.value.message
    assert reporting.get(svc, exam["exam_id"], by=actors["senior"])["can"]["approve"] is False
    assert reporting.approve(svc, exam["exam_id"], by=actors["head"])["status"] == "approved"


def test_approval_needs_the_review_permission(svc, actors):
    exam = submitted(svc, actors)
    with pytest.raises(Forbidden):
        reporting.approve(svc, exam["exam_id"], by=actors["doctor2"])


def test_return_requires_a_reason_then_the_author_rewrites(svc, actors):
    exam = submitted(svc, actors)
    eid = exam["exam_id"]
    for reason in ("", "   "):
        with pytest.raises(InvalidInput) as e:
            reporting.return_report(svc, eid, reason=reason, by=actors["senior"])
        assert e.value.code == "reason_required"
    r = reporting.return_report(svc, eid, reason="诊断意见请补充随访建议", by=actors["senior"])
    assert r["status"] == "returned"
    assert r["report"]["return_reason"] == "诊断意见请补充随访建议"
    assert exam_report_status(svc, eid) == "returned"
    assert report_queries.to_write(svc, by=actors["doctor"])[0]["return_reason"] == "诊断意见请补充随访建议"
    r = reporting.save_draft(svc, eid, sections={"impression": IMPRESSION + "建议随访。"}, by=actors["doctor"],
                             expected_lock=r["report"]["lock"])
    assert r["status"] == "draft"
    reporting.submit(svc, eid, by=actors["doctor"])
    reporting.approve(svc, eid, by=actors["senior"])
    # Rewriting after the return is on the timeline as a draft of its own.
    assert kinds(svc, eid) == ["report_drafted", "report_submitted", "report_returned", "report_drafted",
                               "report_submitted", "report_approved"]


def test_amend_creates_a_new_version_and_keeps_the_approved_one(svc, actors):
    exam = approved(svc, actors)
    eid = exam["exam_id"]
    with pytest.raises(InvalidInput):
        reporting.amend(svc, eid, reason="", by=actors["doctor2"])
    r = reporting.amend(svc, eid, reason="补充描述", by=actors["doctor2"])
    assert r["status"] == "amended"
    assert [v["number"] for v in r["versions"]] == [1, 2]
    r = reporting.save_draft(svc, eid, sections={"impression": "已更正。"}, by=actors["doctor2"],
                             expected_lock=r["report"]["lock"])
    v1, v2 = r["versions"]
    assert v1["sections"] == FULL
    assert v1["approved_by"] == "主任医师 赵强"
    assert v2["sections"]["impression"] == "已更正。"
    assert v2["approved_at"] is None
    assert v2["amend_reason"] == "补充描述"
    reporting.submit(svc, eid, by=actors["doctor2"])
    r = reporting.approve(svc, eid, by=actors["senior"])
    assert r["status"] == "approved"
    assert r["versions"][1]["approved_by"] == "主任医师 赵强"
    with transaction(svc, readonly=True) as tx:
        first = tx.session.scalars(select(ReportVersion).where(ReportVersion.number == 1,
                                                               ReportVersion.report_id == r["report"]["id"])).one()
        assert first.sections == FULL
    assert kinds(svc, eid)[-4:] == ["report_approved", "report_amended", "report_submitted", "report_approved"]


def test_the_amender_cannot_approve_the_amended_version(svc, actors):
    exam = approved(svc, actors)
    eid = exam["exam_id"]
    reporting.amend(svc, eid, reason="更正侧别", by=actors["senior"])
    reporting.submit(svc, eid, by=actors["senior"])
    with pytest.raises(Forbidden):
        reporting.approve(svc, eid, by=actors["senior"])


def test_stale_save_is_refused_and_nothing_changes(svc, actors):
    exam = exam_at(svc, actors)
    eid = exam["exam_id"]
    first = reporting.save_draft(svc, eid, sections=FULL, by=actors["doctor"])
    lock = first["report"]["lock"]
    reporting.save_draft(svc, eid, sections={"findings": "第一位医师的修改"}, by=actors["doctor"], expected_lock=lock)
    with pytest.raises(Conflict) as e:
        reporting.save_draft(svc, eid, sections={"findings": "旧页面的修改"}, by=actors["doctor2"], expected_lock=lock)
    assert e.value.code == "stale_report"
    assert "刷新" in e.value.message
    with pytest.raises(Conflict):
        reporting.save_draft(svc, eid, sections={"findings": "没有带 lock"}, by=actors["doctor2"])
    assert reporting.get(svc, eid, by=actors["doctor"])["sections"]["findings"] == "第一位医师的修改"


def test_submit_needs_every_section_and_the_author(svc, actors):
    exam = exam_at(svc, actors)
    eid = exam["exam_id"]
    reporting.save_draft(svc, eid, sections={"findings": FINDINGS}, by=actors["doctor"])
    with pytest.raises(InvalidInput) as e:
        reporting.submit(svc, eid, by=actors["doctor"])
    assert e.value.code == "report_incomplete"
    assert "诊断意见" in e.value.message
    reporting.save_draft(svc, eid, sections={"impression": IMPRESSION}, by=actors["doctor"],
                         expected_lock=reporting.get(svc, eid, by=actors["doctor"])["report"]["lock"])
    with pytest.raises(Forbidden) as e:
        reporting.submit(svc, eid, by=actors["senior"])
    assert e.value.code == "not_author"


def test_unknown_sections_and_non_text_values_are_refused(svc, actors):
    exam = exam_at(svc, actors)
    with pytest.raises(InvalidInput) as e:
        reporting.save_draft(svc, exam["exam_id"], sections={"conclusion": "x"}, by=actors["doctor"])
    assert e.value.code == "unknown_section"
    with pytest.raises(InvalidInput):
        reporting.save_draft(svc, exam["exam_id"], sections={"findings": 12}, by=actors["doctor"])


def test_a_typist_drafts_for_a_radiologist_who_submits(svc, actors):
    exam = exam_at(svc, actors)
    eid = exam["exam_id"]
    with pytest.raises(InvalidInput) as e:
        reporting.save_draft(svc, eid, sections=FULL, by=actors["typist"])
    assert e.value.code == "author_required"
    with pytest.raises(InvalidInput):
        reporting.save_draft(svc, eid, sections=FULL, by=actors["typist"], author_id=actors["clerk"].id)
    r = reporting.save_draft(svc, eid, sections=FULL, by=actors["typist"], author_id=actors["doctor"].id)
    assert r["versions"][0]["author"] == "医师 刘洋"
    assert r["versions"][0]["typed_by"]
    with pytest.raises(Forbidden):
        reporting.submit(svc, eid, by=actors["typist"])
    with pytest.raises(Forbidden) as e:
        reporting.save_draft(svc, eid, sections=FULL, by=actors["doctor2"], author_id=actors["doctor"].id,
                             expected_lock=r["report"]["lock"])
    assert e.value.code == "not_typist"
    reporting.submit(svc, eid, by=actors["doctor"])
    assert reporting.approve(svc, eid, by=actors["senior"])["status"] == "approved"


def test_worklists(svc, actors):
    waiting = exam_at(svc, actors, "completed")
    in_review = submitted(svc, actors)
    done = approved(svc, actors)
    not_started = exam_at(svc, actors, "arrived")
    to_write = {e["id"] for e in report_queries.to_write(svc, by=actors["doctor"])}
    assert waiting["exam_id"] in to_write
    assert not to_write & {in_review["exam_id"], done["exam_id"], not_started["exam_id"]}
    review = report_queries.to_review(svc, by=actors["senior"])
    assert [e["id"] for e in review] == [in_review["exam_id"]]
    assert review[0]["report_author"] == "医师 刘洋"
    with pytest.raises(Forbidden):
        report_queries.to_review(svc, by=actors["doctor"])
