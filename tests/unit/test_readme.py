"""The README stays true: every environment variable the settings read has a row in its settings table."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def settings_variables() -> set[str]:
    """Names read by backend/config.py and by the command line: every quoted RADOPS_*, DATABASE_URL, REDIS_URL."""
    sources = (ROOT / "backend" / "config.py").read_text() + (ROOT / "backend" / "cli.py").read_text()
    names = re.findall(r"""["']((?:RADOPS_[A-Z0-9_]*|DATABASE_URL|REDIS_URL))["']""", sources)
    return {n for n in names if not n.endswith("_")}  # RADOPS_X_ is a prefix, not a variable


def readme_table_variables() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for row in table.splitlines():
        if row.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1]))
    return names


def test_every_setting_has_a_readme_row():
    read = settings_variables()
    assert {"DATABASE_URL", "RADOPS_PORT", "RADOPS_TIMEZONE"} <= read  # the scan itself works
    missing = read - readme_table_variables()
    assert not missing, f"README settings table lacks: {sorted(missing)}"


def test_readme_lists_no_setting_that_does_not_exist():
    extra = readme_table_variables() - settings_variables()
    assert not extra, f"README lists settings nobody reads: {sorted(extra)}"
