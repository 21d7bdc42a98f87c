"""Admin upkeep of exam items, rooms and queues: unique codes, prefixes, references, audit, permissions."""

from __future__ import annotations

import pytest

from backend.domain.errors import Conflict, Forbidden, InvalidInput
from backend.services.admin import items as admin_catalog
from backend.services.admin import org as admin_org
from backend.services.admin import system as admin_system
from backend.services.orders import catalog
from tests.helpers import register


def _ids(svc, actor):
    campuses = {c["code"]: c["id"] for c in catalog.campuses(svc)}
    queues = {q["code"]: q["id"] for q in admin_org.list_queues(svc, by=actor)}
    rooms = {r["code"]: r["id"] for r in admin_org.list_rooms(svc, by=actor)}
    return campuses, queues, rooms


def _audit(svc, actor, entity, entity_id):
    return [e["action"] for e in admin_system.search_audit(svc, by=actor, entity=entity, entity_id=str(entity_id))]


def test_create_and_edit_item_is_audited(svc, actors):
    admin = actors["admin"]
    _, queues, _ = _ids(svc, admin)
    item = admin_catalog.create_item(svc, code="ct-neck", name="颈部CT平扫", modality="CT", body_part="颈部",
                                     category="subspecialty", queue_id=queues["CT"], needs_slot=True,
                                     needs_room=True, report_template_code="CT", tat_routine_min=240,
                                     tat_emergency_min=60, by=admin)
    assert item["code"] == "CT-NECK"
    assert item["category_label"] == "亚专科"
    edited = admin_catalog.update_item(svc, item["id"], name="颈部CT增强", tat_routine_min=180, by=admin)
    assert edited["name"] == "颈部CT增强"
    assert edited["tat_routine_min"] == 180
    assert _audit(svc, admin, "exam_item", item["id"]) == ["update", "create"]
    # The new item is orderable at once through the shared catalog.
    assert "CT-NECK" in {i["code"] for i in catalog.exam_items(svc, by=actors["clerk"])}


def test_duplicate_item_code_is_refused(svc, actors):
    with pytest.raises(Conflict) as exc:
        admin_catalog.create_item(svc, code="CT-CHEST", name="重复", modality="CT", by=actors["admin"])
    assert exc.value.code == "duplicate_code"


@pytest.mark.parametrize(("values", "code"), [
    ({"code": "bad code!", "name": "x", "modality": "CT"}, "invalid_code"),
    ({"code": "X1", "name": "", "modality": "CT"}, "invalid_name"),
    ({"code": "X1", "name": "x", "modality": "PET"}, "unknown_modality"),
    ({"code": "X1", "name": "x", "modality": "CT", "category": "other"}, "invalid_category"),
    ({"code": "X1", "name": "x", "modality": "CT", "needs_slot": True}, "slot_needs_queue"),
    ({"code": "X1", "name": "x", "modality": "CT", "report_template_code": "NOPE"}, "unknown_template"),
    ({"code": "X1", "name": "x", "modality": "CT", "tat_routine_min": 0}, "invalid_tat"),
])
def test_item_input_is_validated(svc, actors, values, code):
    values = dict(values)
    with pytest.raises(InvalidInput) as exc:
        admin_catalog.create_item(svc, code=values.pop("code"), by=actors["admin"], **values)
    assert exc.value.code == code


def test_item_queue_must_match_its_modality(svc, actors):
    _, queues, _ = _ids(svc, actors["admin"])
    with pytest.raises(InvalidInput) as exc:
        admin_catalog.create_item(svc, code="X2", name="x", modality="CT", queue_id=queues["MR"], by=actors["admin"])
    assert exc.value.code == "queue_modality_mismatch"


def test_item_used_by_exams_cannot_be_deleted_only_deactivated(svc, actors):
    admin = actors["admin"]
    register(svc, actors["clerk"], "DR-BONE")
    item = next(i for i in admin_catalog.list_items(svc, by=admin) if i["code"] == "DR-BONE")
    with pytest.raises(Conflict) as exc:
        admin_catalog.delete_item(svc, item["id"], by=admin)
    assert exc.value.code == "item_in_use"
    assert admin_catalog.set_item_active(svc, item["id"], False, by=admin)["active"] is False
    assert "DR-BONE" not in {i["code"] for i in catalog.exam_items(svc, by=actors["clerk"])}


def test_unused_item_can_be_deleted(svc, actors):
    admin = actors["admin"]
    item = admin_catalog.create_item(svc, code="TMP-1", name="临时项目", modality="DX", by=admin)
    admin_catalog.delete_item(svc, item["id"], by=admin)
    assert "TMP-1" not in {i["code"] for i in admin_catalog.list_items(svc, by=admin)}
    assert _audit(svc, admin, "exam_item", item["id"]) == ["delete", "create"]


def test_room_codes_are_unique_and_rooms_can_be_edited(svc, actors):
    admin = actors["admin"]
    campuses, _, _ = _ids(svc, admin)
    room = admin_org.create_room(svc, code="CT9", name="CT9室", campus_id=campuses["MAIN"], modality="CT",
                                 location="门诊楼一层", by=admin)
    with pytest.raises(Conflict) as exc:
        admin_org.create_room(svc, code="ct9", name="重复", campus_id=campuses["MAIN"], modality="CT", by=admin)
    assert exc.value.code == "duplicate_code"
    out = admin_org.update_room(svc, room["id"], location="门诊楼二层", active=False, by=admin)
    assert out["location"] == "门诊楼二层"
    assert out["active"] is False
    admin_org.delete_room(svc, room["id"], by=admin)


@pytest.mark.parametrize("prefix", ["", "ABCDE", "ct", "C1", "甲"])
def test_queue_prefix_must_be_one_to_four_capitals(svc, actors, prefix):
    campuses, _, _ = _ids(svc, actors["admin"])
    with pytest.raises(InvalidInput) as exc:
        admin_org.create_queue(svc, code="Q-NEW", name="新队列", prefix=prefix, campus_id=campuses["MAIN"],
                               modality="CT", by=actors["admin"])
    assert exc.value.code == "invalid_prefix"


def test_queue_prefix_is_unique_per_campus_only(svc, actors):
    admin = actors["admin"]
    campuses, _, rooms = _ids(svc, admin)
    with pytest.raises(Conflict) as exc:
        admin_org.create_queue(svc, code="CT-B", name="CT二队", prefix="CT", campus_id=campuses["MAIN"],
                               modality="CT", by=admin)
    assert exc.value.code == "duplicate_prefix"
    east = admin_org.create_queue(svc, code="E-CT2", name="东院CT二队", prefix="CT", campus_id=campuses["EAST"],
                                  modality="CT", room_ids=[rooms["ECT1"]], by=admin)
    assert east["prefix"] == "CT"
    assert east["room_ids"] == [rooms["ECT1"]]


def test_queue_rooms_must_be_on_its_campus_and_can_be_replaced(svc, actors):
    admin = actors["admin"]
    _campuses, queues, rooms = _ids(svc, admin)
    with pytest.raises(InvalidInput) as exc:
        admin_org.update_queue(svc, queues["CT"], room_ids=[rooms["ECT1"]], by=admin)
    assert exc.value.code == "room_wrong_campus"
    out = admin_org.update_queue(svc, queues["CT"], room_ids=[rooms["CT1"]], name="CT检查（单机）", by=admin)
    assert out["room_ids"] == [rooms["CT1"]]
    assert out["name"] == "CT检查（单机）"


def test_queue_in_use_cannot_be_deleted(svc, actors):
    _, queues, _ = _ids(svc, actors["admin"])
    with pytest.raises(Conflict) as exc:
        admin_org.delete_queue(svc, queues["CT"], by=actors["admin"])
    assert exc.value.code == "queue_in_use"


@pytest.mark.parametrize("who", ["clerk", "nurse", "head"])
def test_catalog_changes_need_the_admin_role(svc, actors, who):
    campuses, _, _ = _ids(svc, actors["admin"])
    with pytest.raises(Forbidden):
        admin_catalog.create_item(svc, code="X9", name="x", modality="CT", by=actors[who])
    with pytest.raises(Forbidden):
        admin_org.create_room(svc, code="R9", name="x", campus_id=campuses["MAIN"], modality="CT", by=actors[who])
    with pytest.raises(Forbidden):
        admin_org.list_queues(svc, by=actors[who])
