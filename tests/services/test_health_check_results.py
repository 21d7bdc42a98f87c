"""Results back to the health-check center (issue 14.13): an approved health-check report (and again an amended one)
is queued in the outbox with its monitor line and sent by the job: AA done, AE retried with back-off, AR
dead until a person sends it again; other exams send nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.db.models import Outbox
from backend.domain.errors import Forbidden
from backend.services import outbox
from backend.services.base import transaction
from backend.services.orders import interface_monitor as monitor
from backend.services.reporting import hc_results
from backend.services.reporting import reports as reporting
from tests.reporting_helpers import FINDINGS, IMPRESSION, approved

HC = {"source_system": "health_check", "patient_class": "health_check"}


def hc_exam(svc, actors, placer: str = "TJR0001"):
    return approved(svc, actors, source_order_no=placer, **HC)


def boxes(svc):
    with transaction(svc, readonly=True) as tx:
        return [(b.kind, b.key, b.state, b.attempts) for b in tx.session.scalars(select(Outbox).order_by(Outbox.id))]


def test_approving_a_health_check_report_queues_one_result_and_the_job_sends_it(svc, actors, ports):
    exam = hc_exam(svc, actors)
    [(kind, key, state, _)] = boxes(svc)
    assert (kind, key, state) == ("hl7_oru", f"hl7_oru:{exam['exam_id']}:1", "pending")
    [line] = monitor.list_messages(svc, by=actors["clerk"], direction="out")
    assert (line["state"], line["placer_order_no"], line["accession"]) == ("queued", "TJR0001", exam["accession"])
    assert hc_results.send_results(svc) == {"sent": 1, "retried": 0, "dead": 0}
    [sent] = ports.health_check.sent
    assert (sent.placer_order_no, sent.accession, sent.result_status, sent.version) == (
        "TJR0001", exam["accession"], "F", 1)
    assert (sent.control_id, sent.item_code) == (line["control_id"], "DR-CHEST")
    texts = dict(sent.sections)
    assert FINDINGS in texts.values()
    assert IMPRESSION in texts.values()
    assert sent.pdf is not None
    assert sent.pdf.startswith(b"%PDF")
    assert sent.approver
    assert sent.author
    assert sent.approved_at is not None
    line = monitor.detail(svc, line["id"], by=actors["clerk"])
    assert (line["state"], line["ack"], line["attempts"]) == ("sent", "AA", 1)
    assert hc_results.send_results(svc) is None  # nothing left: sent once


def test_an_amended_report_approved_again_is_sent_again_as_a_correction(svc, actors, ports):
    exam = hc_exam(svc, actors)
    hc_results.send_results(svc)
    r = reporting.amend(svc, exam["exam_id"], reason="补充诊断", by=actors["doctor"])
    r = reporting.save_draft(svc, exam["exam_id"], sections={"findings": FINDINGS, "impression": "更正：良性结节"},
                             by=actors["doctor"], expected_lock=r["report"]["lock"])
    reporting.submit(svc, exam["exam_id"], by=actors["doctor"], expected_lock=r["report"]["lock"])
    assert hc_results.send_results(svc) is None  # amending alone sends nothing: the text is not approved yet
    reporting.approve(svc, exam["exam_id"], by=actors["senior"])
    hc_results.send_results(svc)
    first, second = ports.health_check.sent
    assert (first.result_status, second.result_status, second.version) == ("F", "C", 2)
    assert "更正：良性结节" in dict(second.sections).values()
    assert first.control_id != second.control_id
    assert len(monitor.list_messages(svc, by=actors["clerk"], direction="out")) == 2


def test_other_exams_send_nothing(svc, actors, ports):
    approved(svc, actors)
    assert boxes(svc) == []
    assert hc_results.send_results(svc) is None
    assert ports.health_check.sent == []


def test_ae_is_retried_after_the_back_off_and_ar_goes_dead_until_sent_again(svc, actors, ports, clock):
    hc_exam(svc, actors)
    ports.health_check.answers = ["AE", "AR"]
    assert hc_results.send_results(svc) == {"sent": 0, "retried": 1, "dead": 0}
    [line] = monitor.list_messages(svc, by=actors["clerk"], direction="out")
    assert (line["state"], line["ack"], line["reason"], line["next_try_at"] != "") == (
        "queued", "AE", "result_refused", True)
    assert hc_results.send_results(svc) is None  # not due yet
    clock.advance(minutes=2)
    assert hc_results.send_results(svc) == {"sent": 0, "retried": 0, "dead": 1}
    line = monitor.detail(svc, line["id"], by=actors["clerk"])
    assert (line["state"], line["ack"], line["attempts"]) == ("dead", "AR", 2)
    with pytest.raises(Forbidden):  # sending again is the outbox's retry: admins only
        monitor.resend(svc, line["id"], by=actors["clerk"])
    again = monitor.resend(svc, line["id"], by=actors["admin"])
    assert again["state"] == "queued"
    assert hc_results.send_results(svc) == {"sent": 1, "retried": 0, "dead": 0}
    assert len(ports.health_check.sent) == 3


def test_an_unreachable_center_is_retried_and_noted_on_the_monitor(svc, actors, ports, clock):
    from integrations.errors import PartnerUnavailable

    hc_exam(svc, actors)
    ports.health_check.fail_with = PartnerUnavailable("体检系统结果接口无法连接")
    assert hc_results.send_results(svc)["retried"] == 1
    [line] = monitor.list_messages(svc, by=actors["clerk"], direction="out")
    assert (line["state"], line["reason"]) == ("queued", "partner_unavailable")
    assert line["reason_label"] == "体检系统无法连接"
    ports.health_check.fail_with = None
    clock.advance(minutes=2)
    assert hc_results.send_results(svc)["sent"] == 1
    assert [b[2:] for b in boxes(svc)] == [("done", 2)]


def test_a_result_queued_before_an_amendment_is_not_sent_as_the_newer_one(svc, actors, ports):
    """Version 1 unsent when version 2 is approved: only version 2 goes (version 1 is superseded)."""
    exam = hc_exam(svc, actors)
    r = reporting.amend(svc, exam["exam_id"], reason="补充", by=actors["doctor"])
    reporting.submit(svc, exam["exam_id"], by=actors["doctor"], expected_lock=r["report"]["lock"])
    reporting.approve(svc, exam["exam_id"], by=actors["senior"])
    hc_results.send_results(svc)
    assert [s.version for s in ports.health_check.sent] == [2]
    assert [b[2] for b in boxes(svc)] == ["done", "done"]


def test_the_job_is_listed_and_does_nothing_without_a_receiver(svc, actors):
    from dataclasses import replace

    from backend.jobs import scheduled_jobs

    assert "health_check_results" in {j.name for j in scheduled_jobs()}
    hc_exam(svc, actors)
    svc.ports = replace(svc.ports, health_check=None)
    assert hc_results.send_results(svc) is None
    assert [b[2] for b in boxes(svc)] == ["pending"]
    assert outbox.counts(svc, by=actors["admin"], kind="hl7_oru")["pending"] == 1
    assert timedelta(0) < hc_results.POLICY.delay(1)
