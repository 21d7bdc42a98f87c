"""`python -m backend dicom-echo NODE`, `dicom-send NODE PATH...` and `dicom-import PATH...` (issue 10 item 8):
NODE is a known DICOM node's AE title (the admin page's table); each shows a progress bar on a terminal."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from backend.commands import Command
from backend.config import Settings

CALLING_AE = "RADOPS_CLI"


class Progress:
    """A one-line progress bar on stderr (only on a terminal; a log file gets the summary only)."""

    def __init__(self, label: str, total: int, *, enabled: bool | None = None) -> None:
        self.label, self.total, self.started = label, max(total, 1), time.monotonic()
        self.enabled = sys.stderr.isatty() if enabled is None else enabled

    def __call__(self, done: int, *_: object) -> None:
        if not self.enabled:
            return
        frac = done / self.total
        rate = done / max(time.monotonic() - self.started, 1e-6)
        bar = "#" * int(frac * 30)
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {frac:4.0%} {done}/{self.total} {rate:5.1f}/s")
        if done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _node_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("node", help="a known node's AE title, e.g. RECON")
    p.add_argument("--calling-ae", default=CALLING_AE, help=f"our AE title in the association (default {CALLING_AE})")


def _target(settings: Settings, ae_title: str):  # type: ignore[no-untyped-def]
    from backend.bootstrap import build_services
    from backend.dicom.scu import Target
    from backend.ports import NullNotifier
    from backend.services.imaging import nodes

    node = nodes.node(build_services(settings, notifier=NullNotifier()), ae_title)
    return Target(node.ae_title, node.host, node.port)


def dicom_echo(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.dicom.scu import echo

    target = _target(settings, ns.node)
    started = time.monotonic()
    status = echo(target, calling_ae=ns.calling_ae, timeout=settings.dicom_timeout_s)
    ms = (time.monotonic() - started) * 1000
    if status == 0:
        sys.stdout.write(f"C-ECHO {target.ae_title}@{target.host}:{target.port} 成功 ({ms:.0f} ms)\n")
        return 0
    sys.stderr.write(f"C-ECHO {target.ae_title}@{target.host}:{target.port} 失败（状态 {status}）\n")
    return 1


def _send_args(p: argparse.ArgumentParser) -> None:
    _node_args(p)
    p.add_argument("paths", nargs="+", type=Path, help="files or folders")


def dicom_send(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.dicom.scu import dicom_files, send

    target = _target(settings, ns.node)
    files = dicom_files(ns.paths)
    started = time.monotonic()
    result = send(target, files, calling_ae=ns.calling_ae, timeout=settings.dicom_timeout_s,
                  progress=Progress(f"发送 {target.ae_title}", len(files)))
    seconds = time.monotonic() - started
    sys.stdout.write(f"已发送 {result['sent']} 个，失败 {len(result['failed'])} 个，"
                     f"跳过（非 DICOM）{len(result['skipped'])} 个，{seconds:.1f} 秒\n")
    for path, code in result["failed"]:
        sys.stderr.write(f"  失败 0x{code & 0xFFFF:04X} {path}\n")
    return 0 if not result["failed"] else 1


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", type=Path, help="files or folders (e.g. a CD)")
    p.add_argument("--source", default="IMPORT", help="recorded as the sender of the imported instances")


def dicom_import(settings: Settings, ns: argparse.Namespace) -> int:
    from backend.bootstrap import build_services
    from backend.db.migrate import upgrade
    from backend.dicom.scu import dicom_files, read_file
    from backend.ports import NullNotifier
    from backend.services.imaging import archive

    upgrade(settings.database_url)
    svc = build_services(settings, notifier=NullNotifier())
    files = dicom_files(ns.paths)
    bar = Progress("导入", len(files))
    counts: dict[str, int] = {}
    refused: list[tuple[str, str]] = []
    for n, path in enumerate(files, start=1):
        try:
            header, data = read_file(path)
            outcome = archive.store_instance(svc, header, data, received_from=ns.source[:16]).outcome.value
        except ValueError as exc:
            refused.append((str(path), str(exc)))
            outcome = "refused"
        counts[outcome] = counts.get(outcome, 0) + 1
        bar(n)
    sys.stdout.write((" ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "没有文件") + "\n")
    for name, why in refused:
        sys.stderr.write(f"  未导入 {name}: {why}\n")
    return 0


ECHO = Command("dicom-echo", "C-ECHO a known DICOM node (its AE title)", _node_args, dicom_echo)
SEND = Command("dicom-send", "send DICOM files or folders to a known node (C-STORE, one association)", _send_args,
               dicom_send)
IMPORT = Command("dicom-import", "import DICOM files or folders (e.g. a CD) into the archive", _import_args,
                 dicom_import)
