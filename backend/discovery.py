"""Import every module of a package: how jobs, listeners, commands, models and pages declare themselves."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def import_all(package: str) -> list[ModuleType]:
    """Import each direct submodule of `package` (sorted by name, so the order is stable)."""
    pkg = importlib.import_module(package)
    names = sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))
    return [importlib.import_module(f"{package}.{name}") for name in names]
