"""An emulator of the health-check center's system: builds real ORM^O01 / OMI^O23 orders (UTF-8 or
GB18030, Chinese names) and sends them over MLLP, reading each ACK. Used by the demo, the
`health-check-send` command, the tests and the benchmark."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from integrations.health_check.ack import Ack, read_ack
from integrations.health_check.er7 import encode, msh, repeated, segment
from integrations.health_check.mllp import FrameDecoder, frame

SENDER = ("TJXT", "TJZX")  # MSH-3 / MSH-4: 体检系统 / 体检中心
CHARSET_FIELD = {"utf-8": "UNICODE UTF-8", "gb18030": "GB18030", "iso8859-1": "8859/1", "ascii": "ASCII"}


@dataclass(frozen=True, slots=True)
class HealthCheckOrder:
    """One order as the health-check system knows it."""

    control_id: str
    placer_order_no: str
    mrn: str
    name: str
    item_code: str
    sex: str = "U"
    birth_date: str = ""  # YYYYMMDD
    id_card: str = ""
    phone: str = ""
    action: str = "NW"  # NW / CA / XO
    requested_at: str = ""  # YYYYMMDDHHMM, site time
    priority: str = "R"
    clinical_info: str = ""
    doctor: str = "体检医生"
    reason: str = ""  # ORC-16 for CA


def build_message(o: HealthCheckOrder, *, at: datetime, kind: str = "ORM", codec: str = "utf-8",
                  charset: str | None = None) -> bytes:
    """ORM^O01 (v2.3.1, timing in ORC-7) or OMI^O23 (v2.5.1, timing in TQ1, DICOM keys in IPC).

    MSH-18 is the usual spelling for `codec` unless `charset` gives another (e.g. "GB 18030-2000").
    """
    ts = at.strftime("%Y%m%d%H%M%S")
    omi = kind == "OMI"
    ids = [(o.mrn, "", "", "TJZX", "MR")] + ([(o.id_card, "", "", "CHN", "ID")] if o.id_card else [])
    lines = [
        msh(*SENDER, "RADOPS", "RADIOLOGY", ts, "", ("OMI", "O23", "OMI_O23") if omi else ("ORM", "O01"),
            o.control_id, "P", "2.5.1" if omi else "2.3.1", "", "", "AL", "NE", "CHN",
            CHARSET_FIELD[codec] if charset is None else charset),
        segment("PID", "1", "", repeated(*ids), "", o.name, "", o.birth_date, o.sex, "", "", "", "", o.phone),
        segment("PV1", "1", "O", ("TJZX", "", "", "体检中心")),
        segment("ORC", o.action, o.placer_order_no, "", "", "CA" if o.action == "CA" else "SC", "",
                "" if omi else ("", "", "", o.requested_at, "", o.priority), "", ts, "", "", ("D001", o.doctor), "",
                "", "", ("", o.reason) if o.reason else "", ("TJZX", "体检中心")),
    ]
    if omi:
        lines.append(segment("TQ1", "1", "", "", "", "", "", o.requested_at, "", o.priority))
    lines.append(segment("OBR", "1", o.placer_order_no, "", (o.item_code, "", "TJXM"), "", "", "", "", "", "", "",
                         "", o.clinical_info, "", "", ("D001", o.doctor)))
    if omi:
        lines.append(segment("IPC", "", "", "", "", ""))
    return encode(lines, codec)


class MllpClient:
    """A blocking MLLP client: send one message, wait for its ACK (several messages per connection)."""

    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.decoder = FrameDecoder()
        self._ready: list[bytes] = []

    def send(self, raw: bytes) -> bytes:
        self.sock.sendall(frame(raw))
        return self.receive()

    def receive(self) -> bytes:
        while not self._ready:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("MLLP peer closed the connection")
            self._ready.extend(self.decoder.feed(data))
        return self._ready.pop(0)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> MllpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


DEMO_PEOPLE = [  # name, sex, birth date, item, charset, message kind
    ("王建国", "M", "19680312", "CT-LDCT", "utf-8", "ORM"),
    ("李秀兰", "F", "19750821", "MG-BILAT", "gb18030", "ORM"),
    ("张伟", "M", "19820105", "DR-CHEST", "utf-8", "OMI"),
    ("刘芳", "F", "19900630", "US-THYROID", "gb18030", "OMI"),
    ("陈志强", "M", "19610918", "US-ABD", "utf-8", "ORM"),
    ("赵丽娟", "F", "19730214", "US-BREAST", "gb18030", "ORM"),
    ("欧阳明", "M", "19581127", "CT-LDCT", "gb18030", "OMI"),
    ("孙晓燕", "F", "19860402", "DR-CHEST", "utf-8", "ORM"),
]


def demo_orders(day: date, count: int = 6) -> Iterator[tuple[HealthCheckOrder, str, str]]:
    """Deterministic demo orders for `day` (same control ids every time, so sending twice is harmless)."""
    stamp = day.strftime("%Y%m%d")
    for n in range(1, count + 1):
        name, sex, born, item, codec, kind = DEMO_PEOPLE[(n - 1) % len(DEMO_PEOPLE)]
        if n > len(DEMO_PEOPLE):
            name = name + "甲乙丙丁戊己庚辛"[(n - 1) // len(DEMO_PEOPLE) % 8]
        yield (HealthCheckOrder(control_id=f"TJ{stamp}{n:04d}", placer_order_no=f"TJD{stamp}{n:04d}",
                                mrn=f"TJ{n:08d}", name=name, sex=sex, birth_date=born, item_code=item,
                                requested_at=f"{stamp}{8 + n % 8:02d}00", phone=f"1380000{n:04d}",
                                clinical_info="年度健康体检"), kind, codec)


def split_file(data: bytes) -> list[bytes]:
    """The messages of an ER7 file: segments on CR, LF or CRLF lines, each message starting at MSH."""
    text = data.replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    out: list[bytes] = []
    for line in text.split(b"\r"):
        if not line.strip():
            continue
        if line.startswith(b"MSH") or not out:
            out.append(line + b"\r")
        else:
            out[-1] += line + b"\r"
    return out


def send_file(path: Path, host: str, port: int) -> list[Ack]:
    """Send every message of a file over one connection; return their ACKs."""
    with MllpClient(host, port) as client:
        return [read_ack(client.send(raw)) for raw in split_file(path.read_bytes())]
