"""The embedded run starts the reconstruction system's emulator (LN-7) as its own DICOM node, loopback only."""

from __future__ import annotations

from backend.config import Settings
from backend.entrypoints.background import NotStarted, Stoppable, port_failure
from backend.services.base import Services
from integrations.recon.emulator import FAULTS, ReconConfig, RECONEmulator

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def recon_config(settings: Settings) -> ReconConfig:
    """The emulator's node, destination and fault switch from the settings (RADOPS_RECON_*)."""
    fault = settings.recon_fault if settings.recon_fault in FAULTS else "none"
    return ReconConfig(ae_title=settings.recon_ae_title, host=settings.recon_host, port=settings.recon_port,
                       destination_ae=settings.recon_destination_ae,
                       destination_host=settings.recon_destination_host,
                       destination_port=settings.recon_destination_port,
                       fault=fault, delay_s=settings.recon_delay_s)


def start_recon_emulator(svc: Services) -> tuple[Stoppable, str]:
    """Listen as RECON where the settings put the reconstruction system, when that is this machine."""
    cfg = recon_config(svc.settings)
    if cfg.host not in LOOPBACK:
        return NotStarted(), f"未启动（使用真实重建系统 {cfg.host}）"
    try:
        emulator = RECONEmulator(cfg).start()
    except OSError as exc:
        raise port_failure("靶重建系统模拟", cfg.host, cfg.port, exc) from exc
    fault = "" if cfg.fault == "none" else f"，故障模式 {cfg.fault}"
    return emulator, (f"dicom://{cfg.ae_title}@{cfg.host}:{emulator.port} 结果发往 "
                      f"{cfg.destination_ae}@{cfg.destination_host}:{cfg.destination_port}{fault}")
