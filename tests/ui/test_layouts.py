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


def test_missed_block_pages_only_when_it_overflows_at_the_configured_speed():
    layout = parse_layout((ROOT / "layouts/hall-main.toml").read_text(encoding="utf-8"), "hall-main.toml")
    block = layout.block("missed")
    assert block is not None
    m = hall_blocks.block_metrics(layout, block)
    few = hall_blocks.missed(_state(3), m)[0]
    assert "hall-paged" not in few.className
    assert len(few.children) == 3
    many = hall_blocks.missed(_state(20), m)[0]
    assert "hall-paged" in many.className
    # Every missed patient is in the block once, keyed by ticket (assets/hall_missed.js pages by ticket).
    assert [r.to_plotly_json()["props"]["data-ticket"] for r in many.children] == [str(i) for i in range(20)]
    expected = block.option("rows") * m["row_px"] / block.option("scroll_speed")
    assert many.to_plotly_json()["props"]["data-seconds"] == f"{expected:.1f}"


def _calling_state(n_waiting: int) -> dict:
    rooms = ["CT1", "CT2", "CT3", "MR1", "MR2", "DR1", "DR2", "MG1", "RF1"]
    ticket = {"code": "CT009", "name": "张*", "called_at": "09:30"}
    return {"screen": {"notice": ""}, "missed": [],
            "now_calling": [{"room_code": r, "room_name": f"{r}室",
                             "ticket": {**ticket, "called_at": f"09:{30 - i}"} if r in ("CT2", "DR1") else None}
                            for i, r in enumerate(rooms)],
            "waiting": [{"ticket_id": i, "code": f"CT{i:03d}", "name": "李*", "queue_code": "CT",
                         "queue_name": "CT检查"} for i in range(n_waiting)]}


def _texts(component) -> list[str]:
    """Every text of a component tree, in document order."""
    if isinstance(component, str):
        return [component]
    if isinstance(component, list):
        return [t for c in component for t in _texts(c)]
    children = getattr(component, "children", None)
    return _texts(children) if children is not None else []


def test_calling_rows_keep_the_room_order_and_every_room():
    """Issue 14.11: a call never reorders the rows; HALL-MAIN's nine rooms all show in its five rows."""
    layout = parse_layout((ROOT / "layouts/hall-main.toml").read_text(encoding="utf-8"), "hall-main.toml")
    m = hall_blocks.block_metrics(layout, layout.block("now_calling"))
    body = hall_blocks.now_calling(_calling_state(0), m)
    rooms = [t for t in _texts(body) if t.endswith("室")]
    assert rooms == ["CT1室", "CT2室", "CT3室", "MR1室", "MR2室", "DR1室", "DR2室", "MG1室", "RF1室"]


def test_the_wide_waiting_block_shows_more_than_three_names():
    """Issue 14.11: 22 waiting on HALL-MAIN showed 3 names and 另有 19 位; two columns show 7 and 另有 15 位."""
    layout = parse_layout((ROOT / "layouts/hall-main.toml").read_text(encoding="utf-8"), "hall-main.toml")
    m = hall_blocks.block_metrics(layout, layout.block("waiting"))
    texts = _texts(hall_blocks.waiting(_calling_state(22), m))
    assert texts.count("李*") == 7
    assert "另有 15 位候检患者" in texts
