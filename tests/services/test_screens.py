"""Hall screen state (QS-1..3): calls per room, waiting in queue order, missed list, masking, layouts."""

from __future__ import annotations

import pytest

from backend.db.models.screens import Screen
from backend.domain.errors import Forbidden, NotFound
from backend.domain.screen_layout import LayoutError
from backend.services import settings_store
from backend.services.base import transaction
from backend.services.patient_flow import screens
from tests.screen_helpers import call, checked_in, miss


def _set_masking(svc, code: str, value: bool | None) -> None:
    with transaction(svc) as tx:
        screen = tx.session.query(Screen).filter_by(code=code).one()
        screen.masking = value


def test_state_shows_call_waiting_and_missed_masked_by_default(svc, actors, clock):
    first = checked_in(svc, actors, "张小明")
    clock.advance(minutes=1)
    second = checked_in(svc, actors, "欧阳娜娜")
    clock.advance(minutes=1)
    third = checked_in(svc, actors, "John Smith")
    called = call(svc, actors, "DR1")
    assert called == first
    state = screens.screen_state(svc, "HALL-MAIN")
    assert state["screen"]["masked"] is True
    dr1 = next(r for r in state["now_calling"] if r["room_code"] == "DR1")
    assert dr1["ticket"]["name"] == "张*明"
    assert [t["ticket_id"] for t in state["waiting"]] == [second, third]
    assert [t["name"] for t in state["waiting"]] == ["欧**娜", "J***"]
    miss(svc, actors, first)
    state = screens.screen_state(svc, "HALL-MAIN")
    assert [(t["ticket_id"], t["name"], t["room_code"]) for t in state["missed"]] == [(first, "张*明", "DR1")]
    assert all(r["ticket"] is None for r in state["now_calling"] if r["room_code"] == "DR1")


def test_masking_follows_setting_unless_the_screen_overrides(svc, actors):
    checked_in(svc, actors, "张小明")
    settings_store.put(svc, "masking.enabled", False, by=actors["admin"])
    assert screens.screen_state(svc, "HALL-MAIN")["waiting"][0]["name"] == "张小明"
    _set_masking(svc, "HALL-MAIN", True)
    assert screens.screen_state(svc, "HALL-MAIN")["waiting"][0]["name"] == "张*明"
    settings_store.put(svc, "masking.enabled", True, by=actors["admin"])
    _set_masking(svc, "HALL-MAIN", False)
    assert screens.screen_state(svc, "HALL-MAIN")["waiting"][0]["name"] == "张小明"


def test_waiting_follows_the_queue_rule_priority_first(svc, actors, clock):
    routine = checked_in(svc, actors, "李四")
    clock.advance(minutes=5)
    urgent = checked_in(svc, actors, "王五", priority="urgent")
    ids = [t["ticket_id"] for t in screens.screen_state(svc, "HALL-MAIN")["waiting"]]
    assert ids.index(urgent) < ids.index(routine)


def test_screen_shows_only_its_campus_and_queues(svc, actors):
    main = checked_in(svc, actors, "张三")
    east = checked_in(svc, actors, "赵六", item="E-DR-CHEST", campus_code="EAST")
    main_ids = {t["ticket_id"] for t in screens.screen_state(svc, "HALL-MAIN")["waiting"]}
    east_state = screens.screen_state(svc, "HALL-EAST")
    assert main in main_ids
    assert east not in main_ids
    assert [t["ticket_id"] for t in east_state["waiting"]] == [east]
    assert {r["room_code"] for r in east_state["now_calling"]} == {"ECT1", "EMR1", "EDR1", "EUS1"}


def test_announcement_is_masked_and_repeated(svc, actors):
    checked_in(svc, actors, "张小明")
    ticket = call(svc, actors, "DR1")
    said = screens.announcement(svc, "HALL-MAIN", ticket)
    assert said is not None
    assert said["text"].startswith("请 DR")
    assert "张*明 到 DR1室 检查" in said["text"]
    assert "张某明" in said["speech"]
    assert said["repeat"] == 2
    assert screens.announcement(svc, "HALL-EAST", ticket) is None  # another campus stays silent


def test_unknown_screen_is_not_found(svc):
    with pytest.raises(NotFound):
        screens.screen_state(svc, "NOPE")


def test_assign_layout_accepts_valid_refuses_invalid(svc, actors, tmp_path):
    listed = {row["file"]: row for row in screens.list_layouts(svc)}
    assert {"hall-main.toml", "hall-missed-bottom.toml", "hall-east.toml"} <= set(listed)
    assert all(row["ok"] for row in listed.values())
    sid = screens.screen_view(svc, "HALL-MAIN")[0]["id"]
    out = screens.assign_layout(svc, sid, "hall-missed-bottom.toml", by=actors["admin"])
    assert out["layout"] == "hall-missed-bottom.toml"
    with pytest.raises(Forbidden):
        screens.assign_layout(svc, sid, "hall-main.toml", by=actors["nurse"])
    bad = tmp_path / "layouts"
    bad.mkdir()
    (bad / "broken.toml").write_text('name = "x"\n[grid]\ncolumns = 12\nrows = 0\nwidth = 1920\nheight = 1080\n',
                                     encoding="utf-8")
    svc.settings = svc.settings.__class__(**{**svc.settings.__dict__, "layouts_dir": bad})
    with pytest.raises(LayoutError, match=r"broken\.toml:4: grid\.rows"):
        screens.assign_layout(svc, sid, "broken.toml", by=actors["admin"])
    assert screens.list_layouts(svc)[0]["ok"] is False


def test_a_one_character_name_is_never_shown_in_full(svc, actors, clock):
    """Issue 14.7: 王 is the whole name; the screen, the voice call, the slip and the kiosk hide it alike."""
    from backend.services.patient_flow import checkin, kiosks
    from tests.services.kiosk_helpers import exam_for, new_patient

    p = new_patient(name="王")
    exam = exam_for(svc, actors["clerk"], p, "DR-CHEST", hour=None)
    ticket = checkin.check_in_exam(svc, exam["exam_id"], None, by=actors["nurse"])["ticket"]
    state = screens.screen_state(svc, "HALL-MAIN")
    assert [t["name"] for t in state["waiting"] if t["ticket_id"] == ticket["ticket_id"]] == ["*"]
    call(svc, actors, "DR1")
    said = screens.announcement(svc, "HALL-MAIN", ticket["ticket_id"])
    assert said is not None
    assert "王" not in said["text"]
    assert "王" not in said["speech"]
    assert said["speech"] == f"请 {ticket['code']} 号 某 到 DR1室 检查"
    assert kiosks.ticket_slip(svc, ticket["ticket_id"])["masked_name"] == "*"
    assert checkin.lookup(svc, "K1", "mrn", p.mrn, by=kiosks.kiosk_actor(svc, "K1"))["masked_name"] == "*"


def test_one_missed_instruction_everywhere(svc):
    """Issue 14.8: the screens tell missed patients what the kiosk does (re-check-in), not the triage desk."""
    from backend.domain.queue_flow import MISSED_INSTRUCTION

    notice = screens.screen_state(svc, "HALL-MAIN")["screen"]["notice"]
    assert MISSED_INSTRUCTION in notice
    assert "分诊台" not in notice
