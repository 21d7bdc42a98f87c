"""Cockpit view functions called directly: every chart and tile renders from the service's figures,
including an empty month (no data, no rates)."""

from __future__ import annotations

from typing import Any

import pytest

from backend.services.cockpit import board as cockpit
from dashboards import cockpit_view
from dashboards.cockpit_charts import CHARTS


@pytest.mark.parametrize("mode", ["screen", "desk"])
def test_every_chart_and_tile_renders_on_an_empty_month(svc: Any, actors: Any, mode: str) -> None:
    f = cockpit.figures(svc, by=actors["head"])
    for fig, _title, _span in cockpit_view.CHARTS:
        figure = CHARTS[fig](f[fig], mode)
        assert figure.data, fig
    tiles = cockpit_view.tiles(f)
    assert len(tiles) == len(cockpit_view.TILES) == 6
    assert "暂无候检" in str(cockpit_view.waits(f["CP-15"]))


def test_click_keys_come_from_customdata() -> None:
    assert cockpit_view._key_of({"points": [{"customdata": ["subspecialty"], "curveNumber": 0}]}) == (
        "subspecialty", 0)
    assert cockpit_view._key_of({"points": [{"customdata": "ordered:2026-11-27", "curveNumber": 2}]}) == (
        "ordered:2026-11-27", 2)
