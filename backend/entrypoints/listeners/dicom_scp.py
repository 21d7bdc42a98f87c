"""The embedded run's DICOM services (issue 10 item 1): RADOPS on 127.0.0.1:11112 by default
(RADOPS_DICOM_AE_TITLE, RADOPS_DICOM_HOST, RADOPS_DICOM_PORT); the archive is repaired before it listens."""

from __future__ import annotations

from typing import Any

from backend.entrypoints.background import port_failure
from backend.services.base import Services


class DicomServer:
    """The running association server; `port` is the bound port (settings port 0: a free one)."""

    def __init__(self, server: Any) -> None:
        self._server = server

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._server.shutdown()


def start_dicom(svc: Services) -> tuple[DicomServer, str]:
    """Repair the archive, then listen as the RADOPS AE (a taken port stops the run with one Chinese line)."""
    from backend.dicom.scp import build_ae
    from backend.services.imaging.repair import repair_archive

    s = svc.settings
    report = repair_archive(svc)
    ae, handlers = build_ae(svc)
    try:
        server = ae.start_server((s.dicom_host, s.dicom_port), block=False, evt_handlers=handlers)
    except OSError as exc:
        raise port_failure("DICOM 服务", s.dicom_host, s.dicom_port, exc) from exc
    handle = DicomServer(server)
    repaired = sum((report.finished, report.dropped_staged, report.dropped_rows, report.orphan_files))
    note = f"，启动检查修复 {repaired} 处" if repaired else ""
    return handle, f"dicom://{s.dicom_ae_title}@{s.dicom_host}:{handle.port}{note}"
