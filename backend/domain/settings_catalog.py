"""Every runtime setting an admin may change: key, default, Chinese label and type, in one table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from backend.domain.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class SettingDef:
    key: str
    default: Any
    label: str
    kind: str  # int / bool / str / json
    minimum: int | None = None
    maximum: int | None = None
    group: str = "通用"


# Default report turnaround targets in minutes (exam end to approval), from reference/standards.md 6.4:
# emergency X-ray 30 min, emergency CT/MR 60 min; routine X-ray 2 h; outpatient CT/MR 4 h; inpatient 6 h.
DEFAULT_TAT: Final[Mapping[str, Mapping[str, int]]] = {
    "emergency": {"CT": 60, "MR": 60, "DX": 30, "MG": 60, "RF": 60, "US": 30},
    "outpatient": {"CT": 240, "MR": 240, "DX": 120, "MG": 240, "RF": 240, "US": 60},
    "inpatient": {"CT": 360, "MR": 360, "DX": 120, "MG": 360, "RF": 360, "US": 120},
    "health_check": {"CT": 1440, "MR": 1440, "DX": 1440, "MG": 1440, "RF": 1440, "US": 1440},
}

DEFS: list[SettingDef] = [
    SettingDef("critical.notify_limit_min", 10, "危急值通知时限（分钟）", "int", 1, 240, "危急值"),
    SettingDef("cockpit.long_wait_min", 90, "候检超时阈值（分钟）", "int", 10, 600, "驾驶舱"),
    SettingDef("er.reminder_lead_min", 10, "急诊报告超时提醒提前量（分钟）", "int", 1, 240, "急诊提醒"),
    SettingDef("tat.targets", DEFAULT_TAT, "报告时限（分钟，按患者类别与设备）", "json", group="急诊提醒"),
    SettingDef("er.escalate_to_senior", True, "超时后升级提醒值班审核医师", "bool", group="急诊提醒"),
    SettingDef("er.escalate_after_min", 0, "超过时限多久升级提醒（分钟）", "int", 0, 240, "急诊提醒"),
    SettingDef("masking.enabled", True, "公共屏幕姓名脱敏", "bool", group="叫号"),
    SettingDef("health_check.demo_orders", True, "演示：启动时由体检系统模拟器发送当日体检申请单（生产环境请关闭）",
               "bool", group="体检接口"),
    SettingDef("kiosk.early_window_min", 60, "自助签到最早提前（分钟）", "int", 0, 720, "自助签到"),
    SettingDef("kiosk.late_after_min", 60, "超过预约时间多久不能自助签到（分钟）", "int", 0, 720, "自助签到"),
    SettingDef("kiosk.idle_seconds", 60, "自助机无操作返回首页（秒）", "int", 10, 600, "自助签到"),
    SettingDef("queue.requeue_rule", "after_n", "过号重新签到的排队规则（after_n 或 end）", "str", group="叫号"),
    SettingDef("queue.requeue_after_n", 2, "过号重新签到排在几位候检者之后", "int", 0, 50, "叫号"),
    SettingDef("us.shift_required", True, "超声医师须先选择班次才能使用检查列表等页面", "bool", group="超声分诊"),
    SettingDef("us.shift_grace_min", 30, "班次结束后保留多久再自动结班（分钟）", "int", 0, 240, "超声分诊"),
    SettingDef("us.priority_pass_cap", True, "优先患者（急诊、危重等）可超过自动分诊上限", "bool", group="超声分诊"),
    SettingDef("us.priority_elderly_age", 0, "老人优先的年龄（岁，0 为不启用）", "int", 0, 120, "超声分诊"),
    SettingDef("us.priority_pregnant_items", [], "孕妇优先的检查项目编码（JSON 列表，空为不启用）", "json",
               group="超声分诊"),
    SettingDef("us.priority_military", False, "军人优先（登记时勾选“军人”的患者优先分诊）", "bool", group="超声分诊"),
    SettingDef("data_api.rate_per_minute", 120, "数据接口每个密钥每分钟调用上限", "int", 1, 6000, "数据接口"),
    SettingDef("auth.idle_timeout_min", 0, "员工工作站无操作自动退出（分钟，0 为不限；12 小时上限不变）", "int", 0, 720,
               "安全"),
    SettingDef("kiosk.rate_per_min", 60, "每台自助机每分钟查询与签到次数上限", "int", 5, 600, "自助签到"),
    SettingDef("lung_rads.system", "lung-rads-v2022",
               "肺结节分类体系（lung-rads-v2022：ACR Lung-RADS v2022；c-lung-rads：中国 C-Lung-RADS）", "str",
               group="报告"),
    SettingDef("cadre.roster_refresh_min", 60, "干部保健对象名单刷新周期（分钟）", "int", 5, 1440, "干部保健上传"),
    # The provincial health cloud (HC-1..HC-9); its address, app id and secret are RADOPS_HEALTH_CLOUD_* settings.
    SettingDef("health_cloud.enabled", True, "向省健康云登记并上传影像", "bool", group="省健康云"),
    SettingDef("health_cloud.parallel", 2, "同时上传的文件数", "int", 1, 16, "省健康云"),
    SettingDef("health_cloud.window_start", "", "上传时段开始（HH:MM，空为全天；如 22:00）", "str", group="省健康云"),
    SettingDef("health_cloud.window_end", "", "上传时段结束（HH:MM，可跨午夜；如 06:00）", "str", group="省健康云"),
    SettingDef("health_cloud.modalities", [], "上传的设备类型（JSON 列表，如 [\"CT\",\"MR\"]；空为全部）", "json",
               group="省健康云"),
    SettingDef("health_cloud.patient_classes", [], "上传的患者类别（JSON 列表；空为全部）", "json", group="省健康云"),
    SettingDef("health_cloud.max_age_days", 30, "只上传多少天内的检查", "int", 0, 3650, "省健康云"),
    SettingDef("health_cloud.window_months", 3, "云端保存期限（月）", "int", 1, 120, "省健康云"),
    SettingDef("health_cloud.retention_basis", "study_date", "云端保存期限的起算日（study_date 或 upload_date）", "str",
               group="省健康云"),
    SettingDef("health_cloud.watch_folders", {},
               "工作站导出目录（JSON：{\"US01\": \"/data/us01/export\"}；文件名以检查号开头）", "json",
               group="省健康云"),
]


def catalog() -> dict[str, SettingDef]:
    return {d.key: d for d in DEFS}


def add(defn: SettingDef) -> None:
    """Modules declare their own settings here (once, at import)."""
    if defn.key not in catalog():
        DEFS.append(defn)


def coerce(defn: SettingDef, value: Any) -> Any:
    """Validate and convert an admin's input for one setting; refuse out-of-range values."""
    try:
        if defn.kind == "int":
            v: Any = int(value)
            if (defn.minimum is not None and v < defn.minimum) or (defn.maximum is not None and v > defn.maximum):
                raise InvalidInput(f"“{defn.label}”须在 {defn.minimum} 到 {defn.maximum} 之间",
                                   code="setting_out_of_range")
            return v
        if defn.kind == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in {"true", "1", "yes", "on"}:
                return True
            if str(value).lower() in {"false", "0", "no", "off"}:
                return False
            raise ValueError(value)
        if defn.kind == "json":
            if not isinstance(value, dict | list):
                raise ValueError(value)
            return value
        return str(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"“{defn.label}”的值无效", code="invalid_setting") from exc
