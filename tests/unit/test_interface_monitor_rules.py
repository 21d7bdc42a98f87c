"""The interface monitor's pure rules (issue 14.12-13): masking a raw HL7 message, the result status and id."""

from __future__ import annotations

import pytest

from backend.domain.interface_monitor import mask_er7, reason_label, result_control_id, result_status

ORDER = ("MSH|^~\\&|TJXT|TJZX|RADOPS|RADIOLOGY|20261127090000||ORM^O01|C1|P|2.3.1\r"
         "PID|1||TJ00000001^^^TJZX^MR~11010519491231002X^^^CHN^ID||欧阳建国^^||19680312|M|||北京市海淀区|"
         "|13800001234\r"
         "ORC|NW|TJD0001\r")


def test_the_pid_names_numbers_and_address_are_masked_and_nothing_else_changes():
    masked = mask_er7(ORDER)
    msh, pid, orc = masked.split("\r")[:3]
    assert (msh, orc) == (ORDER.split("\r")[0], "ORC|NW|TJD0001")
    fields = pid.split("|")
    assert fields[3] == "****0001^^^TJZX^MR~****002X^^^CHN^ID"
    assert fields[5] == "欧**国^^"
    assert fields[7:9] == ["19680312", "M"]
    assert fields[11] == "***"
    assert fields[13] == "****1234"
    for secret in ("欧阳建国", "11010519491231002X", "13800001234", "海淀", "TJ00000001"):
        assert secret not in masked


def test_other_delimiters_and_line_ends_are_honoured():
    text = "MSH#$%\\&#A\nPID#1##X123456$$$Y$MR##张三\n"
    pid = mask_er7(text).split("\r")[1]
    assert pid == "PID#1##****3456$$$Y$MR##张*"


@pytest.mark.parametrize("text", ["", "garbage", "PID", "PID|", "MSH|^~\\&\rPID|1|||"])
def test_broken_messages_are_shown_without_failing(text):
    assert isinstance(mask_er7(text), str)


def test_result_status_and_control_id():
    assert [result_status(v) for v in (1, 2, 3)] == ["F", "C", "C"]
    assert result_control_id(42) == "RADOPS-ORU-42"
    assert reason_label("unknown_exam_item") == "检查项目不存在或已停用"
    assert reason_label("something_new") == "something_new"
