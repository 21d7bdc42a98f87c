"""Every file in layouts/ is valid, the app refuses to start on a bad one, and the blocks render (QS-1..3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.config import Settings
from backend.domain.screen_layout import LayoutError, parse_layout
from backend.services.patient_flow.screens import validate_layouts
from signage import hall_blocks
from tests.conftest import ROOT

LAYOUT_FILES = sorted((ROOT / "layouts").glob("*.toml"))


def test_the_demo_layouts_exist():
    assert {"hall-main.toml", "hall-missed-bottom.toml", "hall-east.toml"} <= {p.name for p in LAYOUT_FILES}


@pytest.mark.parametrize("path", LAYOUT_FILES, ids=lambda p: p.name)
def test_every_layout_file_is_valid(path: Path):
    layout = parse_layout(path.read_text(encoding="utf-8"), path.name)
    assert layout.block("missed") is not None
    assert layout.block("now_calling") is not None


def test_missed_block_position_differs_per_layout():
    main = parse_layout((ROOT / "layouts/hall-main.toml").read_text(encoding="utf-8"), "hall-main.toml")
    bottom = parse_layout((ROOT / "layouts/hall-missed-bottom.toml").read_text(encoding="utf-8"), "b.toml")
    right, band = main.block("missed"), bottom.block("missed")
    assert right is not None
    assert band is not None
    assert right.col + right.col_span - 1 == main.grid.columns
    assert right.col > 1
    assert band.col == 1
    assert band.col_span == bottom.grid.columns
    assert band.row > bottom.grid.rows // 2


def test_app_start_is_refused_on_an_invalid_layout(tmp_path, db_url):
    from backend.app import create_app

    (tmp_path / "bad.toml").write_text('name = "坏"\n[grid]\ncolumns = 4\nrows = 4\nwidth = 1920\nheight = 1080\n'
                                       '[[blocks]]\ntype = "missed"\nrow = 1\ncol = 5\n', encoding="utf-8")
    with pytest.raises(LayoutError, match=r"^bad\.toml:10: 区块 missed 超出网格"):
        create_app(Settings(database_url=db_url, secret_key="t", testing=True, layouts_dir=tmp_path))
    with pytest.raises(LayoutError):
        validate_layouts(tmp_path)


def _state(n_missed: int) -> dict:
    row = {"ticket_id": 1, "code": "CT001", "name": "张*", "queue_code": "CT", "queue_name": "CT检查",
           "room_code": "CT1", "room_name": "CT1室", "status": "missed"}
    return {"screen": {"notice": "通知"}, "now_calling": [], "waiting": [],
            "missed": [{**row, "ticket_id": i, "code": f"CT{i:03d}"} for i in range(n_missed)]}


def test_missed_block_scrolls_only_when_it_overflows_at_the_configured_speed():
    layout = parse_layout((ROOT / "layouts/hall-main.toml").read_text(encoding="utf-8"), "hall-main.toml")
    block = layout.block("missed")
    assert block is not None
    m = hall_blocks.block_metrics(layout, block)
    few = hall_blocks.missed(_state(3), m)[0]
    assert "hall-scroll" not in few.className
    assert len(few.children) == 3
    many = hall_blocks.missed(_state(20), m)[0]
    assert "hall-scroll" in many.className
    assert len(many.children) == 40
    expected = 20 * m["row_px"] / block.option("scroll_speed")
    assert many.style["animationDuration"] == f"{expected:.1f}s"
