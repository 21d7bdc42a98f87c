"""The datasets of the low-code data API (LC-1), declared once: exams, reports, critical values, queue
tickets, ultrasound room load, cockpit figures, and the cloud and cadre upload states."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, TypeVar

from backend.domain.critical_flow import CRITICAL_STATUS_LABELS, NOTIFY_CHANNELS, URGENCY_LABELS
from backend.domain.data_catalog import DatasetDef, FieldDef
from backend.domain.enums import (
    CATEGORY_LABELS,
    MODALITY_LABELS,
    PATIENT_CLASS_LABELS,
    PRIORITY_LABELS,
    SEX_LABELS,
)
from backend.domain.exam_flow import EXAM_STATUS_LABELS
from backend.domain.health_cloud import CLOUD_STATUS_LABELS
from backend.domain.queue_flow import TICKET_STATUS_LABELS
from backend.domain.report_flow import REPORT_STATUS_LABELS

F = FieldDef
T0 = "2026-11-27T01:05:00+00:00"


K = TypeVar("K", bound=str)


def _codes(labels: Mapping[K, str]) -> dict[str, str]:
    return {str(k): v for k, v in labels.items()}


EXAM_STATUS, REPORT_STATUS = _codes(EXAM_STATUS_LABELS), _codes(REPORT_STATUS_LABELS)
PATIENT_CLASS, PRIORITY = _codes(PATIENT_CLASS_LABELS), _codes(PRIORITY_LABELS)
CATEGORY, MODALITY, SEX = _codes(CATEGORY_LABELS), _codes(MODALITY_LABELS), _codes(SEX_LABELS)
UPDATED = F("updated_at", "最近变更时间", "datetime", T0, nullable=False,
            description="该行最近一次变更的时间（取自检查时间线）；增量同步按它推进")


def _exam_ref(*, filter_class: bool = True) -> tuple[FieldDef, ...]:
    """The exam columns that every exam-keyed dataset repeats, so a platform needs no join."""
    return (
        F("exam_id", "检查ID", "integer", 1024, nullable=False, filter="eq"),
        F("accession", "检查号", "string", "CT20261127001", nullable=False, filter="eq"),
        F("modality", "设备类型", "code", "CT", codes=MODALITY, nullable=False, filter="eq"),
        F("patient_class", "患者类别", "code", "outpatient", codes=PATIENT_CLASS, nullable=False,
          filter="eq" if filter_class else ""),
        F("patient_mrn", "病案号", "string", "M0012345", nullable=False, filter="eq"),
        F("patient_name", "患者姓名", "string", "张*明", pii="name", nullable=False,
          description="无 data.pii 权限时按脱敏规则显示"),
    )


EXAMS = DatasetDef(
    "exams", "检查", "每个检查申请一行：状态、各环节时间、患者类别、检查项目、检查室与相关医生。", key="id",
    sync_note="检查时间线上任何事件（状态、修改、报告状态）都会使该行变更；取消的检查另列入 tombstones。",
    fields=(
        F("id", "检查ID", "integer", 1024, nullable=False, sortable=True, filter="eq"),
        F("accession", "检查号", "string", "CT20261127001", nullable=False, sortable=True, filter="eq"),
        F("status", "检查状态", "code", "completed", codes=EXAM_STATUS, nullable=False, filter="eq"),
        F("report_status", "报告状态", "code", "approved", codes=REPORT_STATUS, nullable=False, filter="eq"),
        F("patient_class", "患者类别", "code", "outpatient", codes=PATIENT_CLASS, nullable=False, filter="eq"),
        F("priority", "优先级", "code", "routine", codes=PRIORITY, nullable=False, filter="eq"),
        F("category", "检查类别", "code", "routine", codes=CATEGORY, nullable=False, filter="eq"),
        F("modality", "设备类型", "code", "CT", codes=MODALITY, nullable=False, filter="eq"),
        F("item_code", "检查项目编码", "string", "CT-CHEST", nullable=False, filter="eq"),
        F("item_name", "检查项目", "string", "胸部CT平扫", nullable=False),
        F("body_part", "检查部位", "string", "胸部", nullable=False),
        F("campus_code", "院区编码", "string", "MAIN", nullable=False, filter="eq"),
        F("campus_name", "院区", "string", "本部", nullable=False),
        F("room_code", "检查室编码", "string", "CT-1", filter="eq"),
        F("room_name", "检查室", "string", "CT1室"),
        F("ordering_department", "开单科室", "string", "胸外科", nullable=False, filter="eq"),
        F("ordering_doctor", "开单医生", "string", "王医生", nullable=False),
        F("reporting_doctor", "报告医生", "string", "李医生"),
        F("approving_doctor", "审核医生", "string", "赵主任"),
        F("patient_id", "患者ID", "integer", 88, nullable=False),
        F("patient_mrn", "病案号", "string", "M0012345", nullable=False, filter="eq"),
        F("patient_name", "患者姓名", "string", "张*明", pii="name", nullable=False,
          description="无 data.pii 权限时按脱敏规则显示"),
        F("patient_sex", "性别", "code", "M", codes=SEX, nullable=False),
        F("patient_birth_date", "出生日期", "date", "1965-03-02"),
        F("patient_id_card", "身份证号", "string", "****1234", pii="number"),
        F("patient_phone", "联系电话", "string", "****5678", pii="number"),
        F("cadre_health", "保健对象", "boolean", False, nullable=False, filter="eq"),
        F("placer_order_no", "申请单号", "string", "HIS-778812"),
        F("created_at", "开单时间", "datetime", T0, nullable=False, sortable=True, filter="range"),
        F("scheduled_at", "预约时间", "datetime", "2026-11-27T02:00:00+00:00", filter="range"),
        F("checked_in_at", "签到时间", "datetime", "2026-11-27T01:50:00+00:00"),
        F("started_at", "检查开始时间", "datetime", "2026-11-27T02:10:00+00:00"),
        F("completed_at", "检查完成时间", "datetime", "2026-11-27T02:20:00+00:00"),
        F("report_submitted_at", "报告提交时间", "datetime", "2026-11-27T03:00:00+00:00"),
        F("report_approved_at", "报告审核时间", "datetime", "2026-11-27T03:30:00+00:00", filter="range"),
        F("report_due_at", "报告时限", "datetime", "2026-11-27T06:20:00+00:00"),
        UPDATED,
    ),
)

REPORTS = DatasetDef(
    "reports", "报告", "每份已审核报告一行：最新审核版本的文本与结构化内容。修改中的报告仍给出上一审核版本。",
    key="report_id", change_kinds=("report_approved", "report_amended"),
    sync_note="报告审核通过或开始修改时该行变更。",
    fields=(
        F("report_id", "报告ID", "integer", 2048, nullable=False, sortable=True),
        *_exam_ref(),
        F("item_name", "检查项目", "string", "胸部CT平扫", nullable=False),
        F("status", "报告状态", "code", "approved", codes=REPORT_STATUS, nullable=False, filter="eq",
          description="amended：已开始修改，新版本审核前仍给出上一审核版本"),
        F("version", "报告版本", "integer", 1, nullable=False),
        F("template_code", "报告模板", "string", "CT-CHEST"),
        F("findings", "检查所见", "string", "双肺纹理清晰，未见明确结节。", nullable=False),
        F("impression", "诊断意见", "string", "胸部CT平扫未见明显异常。", nullable=False),
        F("sections", "报告内容（结构化）", "json", {"findings": "……", "impression": "……"}, nullable=False,
          description="模板各段的原始值，结构化段落（如肺结节）为 JSON"),
        F("text", "报告全文", "string", "检查所见：……\n诊断意见：……", nullable=False),
        F("reporting_doctor", "报告医生", "string", "李医生"),
        F("approving_doctor", "审核医生", "string", "赵主任"),
        F("approved_at", "审核时间", "datetime", "2026-11-27T03:30:00+00:00", nullable=False, sortable=True,
          filter="range"),
        UPDATED,
    ),
)

CRITICAL_VALUES = DatasetDef(
    "critical_values", "危急值", "每条危急值一行：发现、上报、通知（对象、方式、复述）与确认，以及通知用时。",
    key="id", change_kinds=("critical_%",), sync_note="危急值上报、通知、确认时该行变更。",
    fields=(
        F("id", "危急值ID", "integer", 31, nullable=False, sortable=True),
        *_exam_ref(),
        F("finding", "危急值内容", "string", "大面积肺栓塞", nullable=False),
        F("urgency", "紧急程度", "code", "high", codes=dict(URGENCY_LABELS), nullable=False, filter="eq"),
        F("status", "处理状态", "code", "notified", codes=_codes(CRITICAL_STATUS_LABELS), nullable=False,
          filter="eq"),
        F("raised_by", "上报人", "string", "李医生", nullable=False),
        F("raised_at", "上报时间", "datetime", T0, nullable=False, sortable=True, filter="range"),
        F("notified_to", "通知对象", "string", "胸外科 王医生"),
        F("notified_via", "通知方式", "code", "phone", codes=dict(NOTIFY_CHANNELS)),
        F("notified_by", "通知人", "string", "李医生"),
        F("notified_at", "通知时间", "datetime", "2026-11-27T01:12:00+00:00"),
        F("read_back", "已复述确认", "boolean", True, nullable=False),
        F("notify_minutes", "通知用时", "number", 7.0, unit="分钟", description="上报至通知临床"),
        F("acknowledged_by", "确认人", "string", "王医生"),
        F("acknowledged_at", "确认时间", "datetime", "2026-11-27T01:20:00+00:00"),
        UPDATED,
    ),
)

QUEUE_TICKETS = DatasetDef(
    "queue_tickets", "排队与候检", "每张排队号一行：队列、号码、状态、签到与叫号时间、候检时长。", key="id",
    change_kinds=("ticket_%", "checked_in", "check_in_undone", "started", "cancelled", "discontinued"),
    sync_note="签到、叫号、过号、分诊、开始检查、取消时该行变更；取消的排队号另列入 tombstones。",
    fields=(
        F("id", "排队号ID", "integer", 501, nullable=False, sortable=True),
        *_exam_ref(),
        F("queue_code", "队列编码", "string", "CT-MAIN", nullable=False, filter="eq"),
        F("queue_name", "队列", "string", "CT检查", nullable=False),
        F("room_code", "检查室编码", "string", "CT-1", filter="eq"),
        F("room_name", "检查室", "string", "CT1室"),
        F("day", "排队日期", "date", "2026-11-27", nullable=False, filter="range"),
        F("number", "序号", "integer", 15, nullable=False),
        F("code", "排队号", "string", "C015", nullable=False),
        F("status", "排队状态", "code", "waiting", codes=_codes(TICKET_STATUS_LABELS), nullable=False, filter="eq"),
        F("priority", "优先级", "code", "routine", codes=PRIORITY, nullable=False, filter="eq"),
        F("checked_in_at", "签到时间", "datetime", T0, nullable=False),
        F("called_at", "最近叫号时间", "datetime", "2026-11-27T01:30:00+00:00"),
        F("call_count", "叫号次数", "integer", 1, nullable=False),
        F("started_at", "检查开始时间", "datetime", "2026-11-27T01:40:00+00:00"),
        F("wait_minutes", "候检时长", "number", 35.0, unit="分钟",
          description="签到至开始检查；尚未开始的为签到至当前时间；取消的为空"),
        UPDATED,
    ),
)

US_ROOM_LOAD = DatasetDef(
    "us_room_load", "超声诊室负荷", "每个超声检查室一行：当前班次、医生、是否配打字员、负荷与上限、候检人数。",
    key="room_code", kind="snapshot", sync_note="当前快照：每次调用给出全部诊室，镜像方整体替换。",
    fields=(
        F("room_code", "检查室编码", "string", "US-3", nullable=False),
        F("room_name", "检查室", "string", "超声3室", nullable=False),
        F("campus_code", "院区编码", "string", "MAIN", nullable=False, filter="eq"),
        F("open", "在班", "boolean", True, nullable=False, filter="eq"),
        F("doctor", "当班医生", "string", "孙医生"),
        F("shift", "班次", "string", "上午浅表"),
        F("with_typist", "配打字员", "boolean", True, nullable=False),
        F("capacity", "负荷上限", "integer", 12, unit="人", nullable=False),
        F("load", "当前负荷", "integer", 7, unit="人", nullable=False, description="已分诊到本室、尚未完成的患者"),
        F("waiting", "候检人数", "integer", 5, unit="人", nullable=False),
        F("full", "已满", "boolean", False, nullable=False),
        UPDATED,
    ),
)

COCKPIT = DatasetDef(
    "cockpit", "驾驶舱指标", "驾驶舱 CP-1…CP-15 的各项数值，逐项展开为长表（指标、序列、维度、数值）。",
    key="id", kind="snapshot", sync_note="当前快照：每次调用按当前时刻重新计算，镜像方整体替换。",
    fields=(
        F("id", "行标识", "string", "CP-1/value/CT", nullable=False),
        F("figure", "指标编号", "string", "CP-1", nullable=False, filter="eq"),
        F("figure_label", "指标名称", "string", "本月CT完成量", nullable=False),
        F("series", "序列", "string", "value", nullable=False),
        F("series_label", "序列名称", "string", "本期", nullable=False),
        F("dimension", "维度", "string", "CT", nullable=False,
          description="类别、设备、月份（2026-06）或日期（2026-11-27）；无维度时为空串"),
        F("dimension_label", "维度名称", "string", "CT", nullable=False),
        F("value", "数值", "number", 1520, description="比例为 0–1 的小数；无基数时为空"),
        F("unit", "单位", "string", "例", nullable=False),
        F("as_of", "计算时刻", "datetime", T0, nullable=False),
        UPDATED,
    ),
)

UPLOAD_STATE = {"pending": "待上传", "running": "上传中", "done": "已完成", "failed": "失败待重试",
                "dead": "已放弃（需人工处理）", "cancelled": "已撤销"}


LEDGER_UPDATED = F("updated_at", "最近变更时间", "datetime", T0, nullable=False,
                   description="台账行最近一次变更的时间（状态、进度、失败原因）；增量同步按它推进")

CLOUD_UPLOADS = DatasetDef(
    "cloud_uploads", "健康云上传", "省健康云台账中已匹配到检查的每个影像检查（Study）一行：状态、进度、失败原因、"
    "下次重试与云端保存期限。", key="id",
    sync_note="增量同步按台账行自身的变更时间（updated_at）推进；已跳过（skipped）的检查——人工移出或不符合上传"
              "规则——以 cancelled 墓碑报告。",
    fields=(
        F("id", "台账ID", "integer", 7, nullable=False, sortable=True),
        *_exam_ref(filter_class=False),
        F("study_uid", "Study Instance UID", "string", "1.2.840.113619.2.55.3.1234", nullable=False, filter="eq"),
        F("state", "上传状态", "code", "uploaded", codes=_codes(CLOUD_STATUS_LABELS), nullable=False, filter="eq",
          description="skipped：人工移出或不符合上传规则，增量同步中另列入 tombstones"),
        F("files_total", "文件总数", "integer", 320, unit="个", nullable=False),
        F("files_done", "已上传文件数", "integer", 320, unit="个", nullable=False),
        F("bytes_total", "数据总量", "integer", 167772160, unit="字节", nullable=False),
        F("bytes_done", "已上传数据量", "integer", 167772160, unit="字节", nullable=False),
        F("registration_id", "云端登记号", "string", "REG-20261127-0001", nullable=False,
          description="省健康云登记检查后给出的编号；尚未登记为空串"),
        F("last_error", "最近失败或跳过原因", "string", ""),
        F("next_try_at", "下次重试时间", "datetime", None),
        F("expires_at", "云端保存截止时间", "datetime", "2027-02-27T16:00:00+00:00",
          description="云端在此时刻后删除该检查（保存期限）"),
        F("uploaded_at", "上传完成时间", "datetime", "2026-11-27T04:10:00+00:00"),
        F("created_at", "入台账时间", "datetime", T0, nullable=False, filter="range"),
        LEDGER_UPDATED,
    ),
)

CADRE_UPLOADS = DatasetDef(
    "cadre_uploads", "干部保健上传", "每个待上传省干部保健管理系统的检查一行：状态、重试次数、原因、进度。", key="id",
    sync_note="增量同步按台账行自身的变更时间（updated_at）推进；管理员移除的检查以 cancelled 墓碑报告。",
    fields=(
        F("id", "台账ID", "integer", 7, nullable=False, sortable=True),
        *_exam_ref(filter_class=False),
        F("state", "上传状态", "code", "done", codes=UPLOAD_STATE, nullable=False, filter="eq"),
        F("attempts", "尝试次数", "integer", 1, nullable=False),
        F("files_total", "文件总数", "integer", 320, unit="个", nullable=False),
        F("files_done", "已上传文件数", "integer", 320, unit="个", nullable=False),
        F("last_error", "最近失败原因", "string", ""),
        F("next_try_at", "下次重试时间", "datetime", None),
        F("created_at", "入队时间", "datetime", T0, nullable=False, filter="range"),
        LEDGER_UPDATED,
    ),
)

DATASETS: Final[Mapping[str, DatasetDef]] = {d.name: d for d in (
    EXAMS, REPORTS, CRITICAL_VALUES, QUEUE_TICKETS, US_ROOM_LOAD, COCKPIT, CLOUD_UPLOADS, CADRE_UPLOADS)}
