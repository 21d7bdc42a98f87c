"""Health-check order intake (PE-1, PE-2, PE-3): register, idempotency, cancel, change, refusals."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import func, select

from backend.db.models import Exam, ExamEvent, Patient
from backend.db.models.hl7_intake import InboundMessage
from backend.domain.errors import DomainError, Forbidden
from backend.domain.exam_flow import Trigger
from backend.domain.exam_query import ExamFilter
from backend.domain.order_intake import AckCode, rejection
from backend.entrypoints.listeners.mllp import HL7_ACTOR, handle_message
from backend.services import timeline
from backend.services.base import transaction
from backend.services.orders import exam_list
from backend.services.orders import intake as order_intake
from integrations.health_check import er7
from integrations.health_check.ack import read_ack
from integrations.health_check.emulator import HealthCheckOrder, build_message
from integrations.health_check.mapping import to_command


def hc_order(n: int = 1, **kw) -> HealthCheckOrder:
    base = {"control_id": f"SVC{n:04d}", "placer_order_no": f"TJS{n:04d}", "mrn": f"TJS{n:06d}", "name": "王建国",
            "item_code": "DR-CHEST", "sex": "M", "birth_date": "19680312", "requested_at": "202611271000"}
    return HealthCheckOrder(**(base | kw))


def raw(o: HealthCheckOrder, *, kind: str = "ORM", codec: str = "utf-8") -> bytes:
    return build_message(o, at=datetime(2026, 11, 27, 9, 0), kind=kind, codec=codec)


def command(svc, o: HealthCheckOrder, **kw):
    return to_command(er7.decode(raw(o, **kw)), tz=svc.tz)


def receive(svc, o: HealthCheckOrder, **kw):
    return order_intake.receive_order(svc, command(svc, o, **kw), by=HL7_ACTOR)


def refused(svc, o: HealthCheckOrder, **kw):
    with pytest.raises(DomainError) as exc:
        receive(svc, o, **kw)
    return rejection(exc.value)


def counts(svc) -> tuple[int, ...]:
    with transaction(svc, readonly=True) as tx:
        return tuple(tx.session.scalar(select(func.count()).select_from(m)) or 0
                     for m in (Exam, Patient, InboundMessage, ExamEvent))


@pytest.mark.parametrize(("kind", "codec"), [("ORM", "utf-8"), ("OMI", "gb18030")])
def test_new_order_registers_in_the_background_and_doctors_find_it(svc, actors, kind, codec):
    """PE-2, PE-3: no clerk; status registered (已登记); the exam list finds it by placer number and class."""
    out, repeat = receive(svc, hc_order(name="欧阳明"), kind=kind, codec=codec)
    assert (out.ack, out.code, out.status, repeat) == (AckCode.AA, "order_new", "registered", False)
    assert out.accession in out.text
    page = exam_list.search(svc, ExamFilter(placer_order="TJS0001", patient_classes=("health_check",)),
                            by=actors["doctor"])
    [row] = page["items"]
    assert row["status"] == "registered"
    assert row["status_label"] == "已登记"
    assert row["patient_class"] == "health_check"
    kinds = [e["kind"] for e in timeline.events_of(svc, out.exam_id)]
    assert kinds == ["ordered", "registered"]
    log = order_intake.intake_log(svc, by=actors["doctor"], placer_order_no="TJS0001")
    assert [(m["control_id"], m["ack"], m["exam_id"]) for m in log] == [("SVC0001", "AA", out.exam_id)]
    assert log[0]["requested_at"] == "2026-11-27T02:00:00+00:00"  # 10:00 Shanghai, from TQ1-7 / ORC-7


def test_slot_item_registers_without_a_slot_for_health_check(svc):
    out, _ = receive(svc, hc_order(item_code="CT-LDCT"))
    with transaction(svc, readonly=True) as tx:
        exam = tx.session.get(Exam, out.exam_id)
        assert (exam.slot_id, exam.status) == (None, "registered")


def test_same_message_again_changes_nothing_and_gets_the_same_answer(svc):
    first, _ = receive(svc, hc_order())
    before = counts(svc)
    again, repeat = receive(svc, hc_order())
    assert repeat is True
    assert again == first
    assert counts(svc) == before


def test_same_placer_number_with_new_control_id_is_acknowledged_again(svc):
    first, _ = receive(svc, hc_order())
    again, repeat = receive(svc, hc_order(control_id="SVC-RESENT"))
    assert (again.ack, again.code, again.exam_id, repeat) == (AckCode.AA, "order_repeat", first.exam_id, True)
    with transaction(svc, readonly=True) as tx:
        assert tx.session.scalar(select(func.count()).select_from(Exam).where(Exam.source_order_no == "TJS0001")) == 1


def test_placer_number_reused_for_another_item_is_ae(svc):
    receive(svc, hc_order())
    before = counts(svc)
    out = refused(svc, hc_order(control_id="SVC-OTHER", item_code="US-ABD"))
    assert (out.ack, out.code) == (AckCode.AE, "placer_order_conflict")
    assert counts(svc) == before


def test_control_id_reused_for_different_content_is_refused(svc):
    receive(svc, hc_order())
    out = refused(svc, hc_order(placer_order_no="TJS-OTHER"))
    assert (out.ack, out.code, out.hl7_error) == (AckCode.AE, "duplicate_control_id", "205")


def test_cancel_cancels_and_a_second_cancel_changes_nothing(svc):
    new, _ = receive(svc, hc_order())
    out, _ = receive(svc, hc_order(control_id="SVC-CA1", action="CA", reason="客户改期"))
    assert (out.ack, out.code, out.status, out.exam_id) == (AckCode.AA, "order_cancel", "cancelled", new.exam_id)
    events = timeline.events_of(svc, new.exam_id)
    assert events[-1]["kind"] == "cancelled"
    assert events[-1]["details"]["reason"] == "客户改期"
    n_events = len(events)
    again, _ = receive(svc, hc_order(control_id="SVC-CA2", action="CA"))
    assert (again.ack, again.status) == (AckCode.AA, "cancelled")
    assert len(timeline.events_of(svc, new.exam_id)) == n_events


def test_cancel_after_the_exam_started_is_ae(svc, actors):
    new, _ = receive(svc, hc_order())
    timeline.apply(svc, new.exam_id, Trigger.CHECK_IN, by=actors["nurse"])
    timeline.apply(svc, new.exam_id, Trigger.START, by=actors["tech"])
    out = refused(svc, hc_order(control_id="SVC-CA", action="CA"))
    assert (out.ack, out.code) == (AckCode.AE, "exam_started")
    assert "检查中" in out.text


def test_cancel_of_an_unknown_order_is_ae(svc):
    out = refused(svc, hc_order(action="CA"))
    assert (out.ack, out.code, out.hl7_error) == (AckCode.AE, "order_not_found", "204")


def test_change_edits_allowed_fields(svc):
    new, _ = receive(svc, hc_order())
    out, _ = receive(svc, hc_order(control_id="SVC-XO", action="XO", priority="S", clinical_info="复查",
                                   doctor="张医生"))
    assert (out.ack, out.code) == (AckCode.AA, "order_change")
    with transaction(svc, readonly=True) as tx:
        exam = tx.session.get(Exam, new.exam_id)
        assert (exam.priority, exam.clinical_info, exam.ordering_doctor) == ("stat", "复查", "张医生")
    assert timeline.events_of(svc, new.exam_id)[-1]["details"]["fields"] == [
        "clinical_info", "ordering_doctor", "priority"]


def test_change_of_item_is_refused(svc):
    receive(svc, hc_order())
    out = refused(svc, hc_order(control_id="SVC-XO", action="XO", item_code="US-ABD"))
    assert (out.ack, out.code) == (AckCode.AE, "item_change_not_allowed")


def test_patient_matched_by_id_card(svc):
    receive(svc, hc_order(id_card="11010519491231002X"))
    out, _ = receive(svc, hc_order(2, mrn="TJS-NEW-MRN", id_card="11010519491231002X"))
    with transaction(svc, readonly=True) as tx:
        first = tx.session.scalars(select(Exam).where(Exam.source_order_no == "TJS0001")).one()
        second = tx.session.get(Exam, out.exam_id)
        assert first.patient_id == second.patient_id


def test_known_mrn_with_another_name_is_ae_and_writes_nothing(svc):
    receive(svc, hc_order())
    before = counts(svc)
    out = refused(svc, hc_order(2, mrn="TJS000001", name="李秀兰"))
    assert (out.ack, out.code) == (AckCode.AE, "patient_mismatch")
    assert counts(svc) == before


def test_unknown_item_is_ar_and_writes_nothing(svc):
    before = counts(svc)
    ack = read_ack(handle_message(svc, raw(hc_order(item_code="NO-SUCH"))))
    assert (ack.code, ack.control_id, ack.error) == ("AR", "SVC0001", "103")
    assert ack.text.startswith("unknown_exam_item")
    assert counts(svc) == before


def test_missing_patient_id_is_ar_and_writes_nothing(svc):
    before = counts(svc)
    ack = read_ack(handle_message(svc, raw(hc_order(mrn=""))))
    assert (ack.code, ack.error) == ("AR", "101")
    assert ack.text.startswith("missing_patient_id")
    assert counts(svc) == before


def test_wrong_charset_is_ar_and_writes_nothing(svc):
    before = counts(svc)
    bad = raw(hc_order(name="李秀兰"), codec="gb18030").replace(b"GB18030", b"UNICODE UTF-8")
    ack = read_ack(handle_message(svc, bad))
    assert (ack.code, ack.control_id) == ("AR", "SVC0001")
    assert ack.text.startswith("wrong_charset")
    assert counts(svc) == before


def test_accepted_message_ack_through_the_handler(svc):
    ack = read_ack(handle_message(svc, raw(hc_order(), codec="gb18030")))
    assert (ack.code, ack.control_id) == ("AA", "SVC0001")
    assert ack.text.startswith("已登记，检查号 ")


def test_intake_needs_the_register_permission(svc, actors):
    with pytest.raises(Forbidden):
        order_intake.receive_order(svc, command(svc, hc_order()), by=actors["doctor"])


def test_json_channel_shares_the_placer_numbers(svc, actors):
    cmd = command(svc, hc_order())
    receive(svc, hc_order())
    out, repeat = order_intake.receive_order(svc, replace(cmd, channel="json", sender="api:user:1", control_id="J1"),
                                             by=actors["clerk"])
    assert (out.code, repeat) == ("order_repeat", True)
