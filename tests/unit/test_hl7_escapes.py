"""HL7 escape sequences (the full set of v2.5 section 2.7) and MSH-18 as table 0211 spells it, without sockets."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.domain.order_intake import IntakeRejected
from integrations.health_check import er7
from integrations.health_check.emulator import HealthCheckOrder, build_message
from integrations.health_check.escapes import escape, unescape
from integrations.health_check.mapping import to_command
from integrations.health_check.message import charset_codec

AT = datetime(2026, 11, 27, 9, 0)
TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("written", "text"), [
    ("a\\F\\b", "a|b"), ("a\\S\\b", "a^b"), ("a\\R\\b", "a~b"), ("a\\E\\b", "a\\b"), ("a\\T\\b", "a&b"),
    ("\\E\\F\\E\\", "\\F\\"),  # an escaped escape character starts no sequence
    ("\\X41\\\\X0D0A\\", "A\r\n"), ("\\X\\", ""), ("\\Xe69d8e\\", "李"),
    ("line 1\\.br\\line 2", "line 1\nline 2"), ("a\\.sp\\b", "a\nb"), ("a\\.sp 2\\b", "a\n\nb"),
    ("a\\.sp2\\b", "a\n\nb"), ("\\.ce\\TITLE", "\nTITLE"), ("a\\.sk 3\\b", "a   b"), ("a\\.sk\\b", "a b"),
    ("\\.in+4\\\\.ti-4\\1. 无异常", "1. 无异常"), ("\\.fi\\a\\.nf\\b", "ab"),
    ("\\H\\重要\\N\\", "重要"),
    ("C:\\temp\\x", "C:\\temp\\x"), ("a\\Q\\b", "a\\Q\\b"), ("tail\\", "tail\\"), ("\\Xzz\\", "\\Xzz\\"),
    ("\\Z01AB\\local", "\\Z01AB\\local"),  # locally defined: we define none, so it stays as written
], ids=lambda v: repr(v)[:24])
def test_every_escape_sequence(written, text):
    assert unescape(written) == text


def test_hex_is_octets_in_the_messages_charset():
    gb = "李".encode("gb18030").hex().upper()  # C0EE
    assert unescape(f"\\X{gb}\\秀兰", codec="gb18030") == "李秀兰"
    with pytest.raises(IntakeRejected) as exc:
        unescape(f"\\X{gb}\\", codec="utf-8", where="PID^1^5")
    assert (exc.value.code, exc.value.hl7_error, exc.value.location) == ("invalid_escape", "102", "PID^1^5")


@pytest.mark.parametrize("seq", ["\\C2842\\", "\\M2442\\", "\\M242842\\"])
def test_switching_charsets_inside_the_text_is_refused(seq):
    with pytest.raises(IntakeRejected) as exc:
        unescape(f"abc{seq}def")
    assert exc.value.code == "unsupported_escape"


def test_other_encoding_characters_are_honoured():
    assert unescape("a#F#b#S#c#E#", enc="!$#%") == "a|b!c#"


def test_writer_escapes_delimiters_line_breaks_and_control_characters():
    assert escape("a|b^c~d\\e&f") == "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f"
    assert escape("一\r\n二\n三\r四") == "一\\.br\\二\\.br\\三\\.br\\四"
    assert escape("tab\there\x0b\x1c") == "tab\\X09\\here\\X0B\\\\X1C\\"


TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(TEXT)
def test_what_the_writer_escapes_reads_back_the_same(value):
    assert unescape(escape(value)) == value.replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize(("msh18", "codec"), [
    ("GB 18030-2000", "gb18030"), ("gb 18030-2000", "gb18030"), ("GB  18030-2000", "gb18030"),
    ("GB18030", "gb18030"), ("GBK", "gb18030"), ("UNICODE UTF-8", "utf-8"), ("UNICODE", "utf-8"),
    ("UTF-8", "utf-8"), ("", "utf-8"), ("ASCII", "ascii"), ("8859/1", "iso8859-1"), ("8859/15", "iso8859-15"),
    ("BIG-5", "big5"),
])
def test_table_0211_spellings(msh18, codec):
    assert charset_codec(msh18) == codec


@pytest.mark.parametrize("msh18", ["UNICODE UTF-16", "UNICODE UTF-32", "ISO IR87", "CNS 11643-1992", "EBCDIC"])
def test_charsets_this_interface_refuses(msh18):
    assert charset_codec(msh18) is None


@pytest.mark.parametrize(("msh18", "codec", "name"), [
    ("GB 18030-2000", "gb18030", "欧阳秀兰"), ("UNICODE", "utf-8", "欧阳秀兰"), ("8859/1", "iso8859-1", "Zoë Müller"),
    ("ASCII", "ascii", "WANG JIANGUO"),
])
def test_an_order_in_each_spelling_maps(msh18, codec, name):
    o = HealthCheckOrder(control_id="C1", placer_order_no="P1", mrn="M1", name=name, item_code="CT-LDCT")
    text = build_message(o, at=AT, charset=msh18).decode("utf-8")
    if codec not in ("utf-8", "gb18030"):  # the emulator's department and doctor are Chinese: not in 8859/1
        text = text.replace("体检中心", "PE Center").replace("体检医生", "PE Doctor")
    raw = text.encode(codec)
    cmd = to_command(er7.decode(raw), tz=TZ)
    assert cmd.order.patient.name == name
    assert er7.parse_header(raw).charset == msh18


def test_chinese_in_msh_reads_as_chinese_whatever_its_bytes():
    """東 in GB18030 is 0x96 0x7C: its second byte is "|", which an ASCII view would take for a separator."""
    o = HealthCheckOrder(control_id="C7", placer_order_no="P7", mrn="M7", name="李秀兰", item_code="CT-LDCT")
    raw = build_message(o, at=AT, codec="gb18030", charset="GB 18030-2000").replace(b"|TJZX|", "|東院体检|".encode(
        "gb18030"), 1)
    header = er7.parse_header(raw)
    assert (header.sending_facility, header.control_id, header.charset) == ("東院体检", "C7", "GB 18030-2000")
    assert to_command(er7.decode(raw), tz=TZ).sender == "hl7:TJXT/東院体检"


def test_clinical_text_with_line_breaks_and_hex_maps():
    o = HealthCheckOrder(control_id="C8", placer_order_no="P8", mrn="M8", name="张伟", item_code="CT-LDCT",
                         clinical_info="咳嗽两周\n吸烟史 30 年|复查")
    cmd = to_command(er7.decode(build_message(o, at=AT, codec="gb18030")), tz=TZ)
    assert cmd.order.clinical_info == "咳嗽两周\n吸烟史 30 年|复查"
