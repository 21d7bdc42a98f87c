"""Reference data of the demo hospital: campuses, departments, modalities, rooms, queues, items,
report templates, slots and staff accounts. Idempotent: running it twice adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.db.models import (
    Campus,
    Department,
    ExamItem,
    Modality,
    Queue,
    QueueRoom,
    ReportTemplate,
    Room,
    Slot,
    User,
    UserRole,
)
from backend.db.session import make_engine, make_session_factory
from backend.domain.enums import MODALITY_LABELS
from backend.seed.kiosks import seed_kiosks
from backend.seed.screens import seed_screens
from backend.seed.shifts import seed_shifts

CAMPUSES = [("MAIN", "本部院区"), ("EAST", "东院区")]
IMAGING_DEPTS = [("RAD", "放射科", "MAIN"), ("USD", "超声科", "MAIN")]
CLINICAL_DEPTS = ["呼吸内科", "胸外科", "乳腺外科", "肝胆外科", "胃肠外科", "消化内科", "神经内科", "急诊科",
                  "体检中心", "妇科", "头颈外科", "放疗科", "泌尿外科", "肿瘤内科", "骨科"]

# code, name, campus, modality
ROOMS = [
    ("CT1", "CT1室", "MAIN", "CT"), ("CT2", "CT2室", "MAIN", "CT"), ("CT3", "CT3室（急诊）", "MAIN", "CT"),
    ("MR1", "MR1室", "MAIN", "MR"), ("MR2", "MR2室", "MAIN", "MR"),
    ("DR1", "DR1室", "MAIN", "DX"), ("DR2", "DR2室", "MAIN", "DX"),
    ("MG1", "钼靶室", "MAIN", "MG"), ("RF1", "胃肠造影室", "MAIN", "RF"),
    *[(f"US{i}", f"超声{i}诊室", "MAIN", "US") for i in range(1, 9)],
    ("ECT1", "东院CT室", "EAST", "CT"), ("EMR1", "东院MR室", "EAST", "MR"), ("EDR1", "东院DR室", "EAST", "DX"),
    ("EUS1", "东院超声室", "EAST", "US"),
]
# code, name, prefix, campus, modality, rooms
QUEUES = [
    ("CT", "CT检查", "CT", "MAIN", "CT", ["CT1", "CT2", "CT3"]),
    ("MR", "磁共振检查", "MR", "MAIN", "MR", ["MR1", "MR2"]),
    ("DR", "DR摄片", "DR", "MAIN", "DX", ["DR1", "DR2"]),
    ("MG", "钼靶检查", "MG", "MAIN", "MG", ["MG1"]),
    ("RF", "胃肠造影", "RF", "MAIN", "RF", ["RF1"]),
    ("US-BREAST", "乳腺超声", "RX", "MAIN", "US", ["US1", "US2", "US3"]),
    ("US-THYROID", "甲状腺超声", "JZ", "MAIN", "US", ["US3", "US4"]),
    ("US-VASC", "血管超声", "XG", "MAIN", "US", ["US5"]),
    ("US-OB", "妇产超声", "FC", "MAIN", "US", ["US6"]),
    ("US-ABD", "腹部超声", "FB", "MAIN", "US", ["US7", "US8"]),
    ("E-CT", "东院CT", "DC", "EAST", "CT", ["ECT1"]),
    ("E-MR", "东院磁共振", "DM", "EAST", "MR", ["EMR1"]),
    ("E-DR", "东院DR", "DD", "EAST", "DX", ["EDR1"]),
    ("E-US", "东院超声", "DU", "EAST", "US", ["EUS1"]),
]
LUNG_NODULE_ITEM = "CT-LN-TR"
# code, name, modality, body part, category, queue, needs_slot, needs_room, template
ITEMS: list[tuple[str, str, str, str, str, str | None, bool, bool, str]] = [
    ("CT-CHEST", "胸部CT平扫", "CT", "胸部", "routine", "CT", True, True, "CT"),
    ("CT-CHEST-E", "胸部CT增强", "CT", "胸部", "routine", "CT", True, True, "CT"),
    ("CT-HEAD", "头颅CT平扫", "CT", "头颅", "routine", "CT", True, True, "CT"),
    ("CT-ABD-E", "上腹部CT增强", "CT", "腹部", "routine", "CT", True, True, "CT"),
    ("CT-LDCT", "低剂量肺癌筛查CT", "CT", "胸部", "subspecialty", "CT", True, True, "CT"),
    ("CT-CTA", "冠状动脉CTA", "CT", "心脏", "subspecialty", "CT", True, True, "CT"),
    ("CT-GCP", "临床试验CT疗效评估", "CT", "全身", "gcp", "CT", True, True, "CT"),
    (LUNG_NODULE_ITEM, "肺结节CT靶重建及结构化报告", "CT", "胸部", "subspecialty", None, False, False, "CT-LN"),
    ("MR-BRAIN", "头颅MR平扫+增强", "MR", "头颅", "routine", "MR", True, True, "MR"),
    ("MR-LIVER", "肝脏MR增强", "MR", "腹部", "routine", "MR", True, True, "MR"),
    ("MR-BREAST", "乳腺MR增强", "MR", "乳腺", "subspecialty", "MR", True, True, "MR"),
    ("MR-PROSTATE", "前列腺多参数MR", "MR", "盆腔", "subspecialty", "MR", True, True, "MR"),
    ("MR-GCP", "临床试验MR疗效评估", "MR", "全身", "gcp", "MR", True, True, "MR"),
    ("DR-CHEST", "胸部正位片", "DX", "胸部", "routine", "DR", False, True, "DX"),
    ("DR-BONE", "骨骼摄片", "DX", "四肢", "routine", "DR", False, True, "DX"),
    ("MG-BILAT", "双侧乳腺钼靶", "MG", "乳腺", "subspecialty", "MG", True, True, "MG"),
    ("RF-UGI", "上消化道钡餐造影", "RF", "上消化道", "routine", "RF", True, True, "RF"),
    ("US-BREAST", "乳腺超声", "US", "乳腺", "subspecialty", "US-BREAST", False, True, "US"),
    ("US-THYROID", "甲状腺超声", "US", "甲状腺", "subspecialty", "US-THYROID", False, True, "US"),
    ("US-VASC", "颈部血管超声", "US", "血管", "subspecialty", "US-VASC", False, True, "US"),
    ("US-OB", "妇科超声", "US", "盆腔", "subspecialty", "US-OB", False, True, "US"),
    ("US-ABD", "腹部超声", "US", "腹部", "routine", "US-ABD", False, True, "US"),
    ("E-CT-CHEST", "胸部CT平扫（东院）", "CT", "胸部", "routine", "E-CT", True, True, "CT"),
    ("E-MR-BRAIN", "头颅MR（东院）", "MR", "头颅", "routine", "E-MR", True, True, "MR"),
    ("E-DR-CHEST", "胸部正位片（东院）", "DX", "胸部", "routine", "E-DR", False, True, "DX"),
    ("E-US-ABD", "腹部超声（东院）", "US", "腹部", "routine", "E-US", False, True, "US"),
]
FREE_SECTIONS = [
    {"key": "findings", "title": "检查所见", "default": ""},
    {"key": "impression", "title": "诊断意见", "default": ""},
]
TEMPLATES = [(m, f"{MODALITY_LABELS[m]}通用报告") for m in ("CT", "MR", "DX", "MG", "RF", "US")]
# The lung-nodule item's structured report (LN-9): free text around the "lung_nodules" section kind
# (backend/domain/lung_nodule_section.py); the Lung-RADS system is the setting lung_rads.system.
LUNG_NODULE_TEMPLATE = ("CT-LN", "肺结节CT结构化报告", [
    {"key": "findings", "title": "检查所见", "default": "", "optional": True},
    {"key": "lung_nodules", "title": "肺结节", "kind": "lung_nodules", "default": None},
    {"key": "impression", "title": "诊断意见", "default": ""},
])
# Hourly slots per queue and day: capacity per hour.
SLOT_CAPACITY = {"CT": 10, "MR": 4, "MG": 6, "RF": 3, "E-CT": 6, "E-MR": 3}
SLOT_HOURS = [(8, "am"), (9, "am"), (10, "am"), (11, "am"), (13, "pm"), (14, "pm"), (15, "pm"), (16, "pm")]
# username, display name, roles, department code
STAFF = [
    ("admin", "系统管理员", ["admin"], "RAD"),
    ("clerk", "登记员 王芳", ["clerk"], "RAD"),
    ("nurse", "护士 李娜", ["nurse"], "RAD"),
    ("tech", "技师 张伟", ["technologist"], "RAD"),
    ("doctor", "医师 刘洋", ["radiologist"], "RAD"),
    ("doctor2", "医师 陈静", ["radiologist"], "RAD"),
    ("senior", "主任医师 赵强", ["senior_radiologist", "radiologist"], "RAD"),
    ("typist", "打字员 孙丽", ["typist"], "USD"),
    ("head", "科主任 周明", ["department_head", "senior_radiologist"], "RAD"),
    ("sono", "超声医师 吴敏", ["radiologist", "technologist"], "USD"),
]


def _get_or_add(s: Session, model: Any, key: dict[str, Any], **values: Any) -> Any:
    row = s.scalars(select(model).filter_by(**key)).first()
    if row is None:
        row = model(**key, **values)
        s.add(row)
        s.flush()
    return row


def seed_reference(settings: Settings, *, seed: int, now: datetime | None = None,
                   slot_days: tuple[int, int] = (-7, 14)) -> dict[str, int]:
    """Write the hospital's structure and staff; slots from `slot_days[0]` to `slot_days[1]` days from today."""
    from backend.seed import DEMO_LOGINS
    from backend.services.auth import hash_password

    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    now = now or datetime.now(UTC)
    tz = ZoneInfo(settings.site_timezone)
    passwords = {u: p for u, p, _ in DEMO_LOGINS}
    with factory.begin() as s:
        campus = {c: _get_or_add(s, Campus, {"code": c}, name=n).id for c, n in CAMPUSES}
        dept = {c: _get_or_add(s, Department, {"code": c}, name=n, campus_id=campus[cc], kind="imaging").id
                for c, n, cc in IMAGING_DEPTS}
        for i, name in enumerate(CLINICAL_DEPTS, 1):
            _get_or_add(s, Department, {"code": f"C{i:02d}"}, name=name, campus_id=campus["MAIN"], kind="clinical")
        for code, label in MODALITY_LABELS.items():
            _get_or_add(s, Modality, {"code": code}, name=label)
        room = {c: _get_or_add(s, Room, {"code": c}, name=n, campus_id=campus[cc], modality_code=m,
                               department_id=dept["USD" if m == "US" else "RAD"], location="").id
                for c, n, cc, m in ROOMS}
        queue = {}
        for code, name, prefix, cc, m, rooms in QUEUES:
            q = _get_or_add(s, Queue, {"code": code}, name=name, prefix=prefix, campus_id=campus[cc],
                            modality_code=m, department_id=dept["USD" if m == "US" else "RAD"])
            queue[code] = q.id
            for r in rooms:
                _get_or_add(s, QueueRoom, {"queue_id": q.id, "room_id": room[r]})
        for m, name in TEMPLATES:
            _get_or_add(s, ReportTemplate, {"code": m}, name=name, modality_code=m, kind="free",
                        sections=FREE_SECTIONS)
        code, name, lung_sections = LUNG_NODULE_TEMPLATE
        _get_or_add(s, ReportTemplate, {"code": code}, name=name, modality_code="CT", kind="structured",
                    sections=lung_sections)
        for code, name, m, part, cat, qcode, slot, needs_room, tpl in ITEMS:
            _get_or_add(s, ExamItem, {"code": code}, name=name, modality_code=m, body_part=part, category=cat,
                        queue_id=queue[qcode] if qcode else None, needs_slot=slot, needs_room=needs_room,
                        report_template_code=tpl)
        slots = _seed_slots(s, queue, now=now, tz=tz, days=slot_days)
        seed_screens(s, campus)
        seed_kiosks(s, campus)
        seed_shifts(s, campus, dept, queue)
        for username, display, roles, dcode in STAFF:
            if s.scalars(select(User).where(User.username == username)).first() is None:
                u = User(username=username, display_name=display, password_hash=hash_password(passwords[username]),
                         department_id=dept[dcode], active=True, created_at=now,
                         must_change_password=True)  # a demo password: changed at first sign-in outside the demo
                u.roles = [UserRole(role=r) for r in roles]
                s.add(u)
    engine.dispose()
    return {"campuses": len(campus), "rooms": len(room), "queues": len(queue), "items": len(ITEMS),
            "slots_added": slots, "users": len(STAFF)}


def _seed_slots(s: Session, queue: dict[str, int], *, now: datetime, tz: ZoneInfo, days: tuple[int, int]) -> int:
    today = now.astimezone(tz).date()
    added = 0
    for qcode, cap in SLOT_CAPACITY.items():
        existing = set(s.scalars(select(Slot.starts_at).where(Slot.queue_id == queue[qcode])))
        for offset in range(days[0], days[1] + 1):
            day = today + timedelta(days=offset)
            for hour, band in SLOT_HOURS:
                start = datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)
                if start in existing:
                    continue
                s.add(Slot(queue_id=queue[qcode], day=day, band=band, starts_at=start,
                           ends_at=start + timedelta(hours=1), capacity=cap, booked=0, active=True))
                added += 1
    return added


