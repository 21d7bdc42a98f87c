"""Pages use the printed report's font stack (issue 16.5): radops.css names it, and the rare-character
fallbacks are served by the app itself (no CDN), only the two Hanazono files."""

from __future__ import annotations

import pytest

from backend.services.reporting.fonts import HANAZONO


def test_pages_share_the_font_stack_and_the_fallbacks_are_served_locally(client):
    css = client.get("/static/radops.css").get_data(as_text=True)
    assert '"Noto Sans CJK SC"' in css
    assert "RadOps Rare" in css
    assert "U+20000-2FFFF" in css  # Extension B and beyond come from the fallback
    if not HANAZONO[1].is_file():
        pytest.skip("fonts-hanazono is not installed")
    r = client.get("/fonts/HanaMinB.ttf")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "font/ttf"
    r.close()
    escape = client.get("/fonts/..%2F..%2Fetc%2Fpasswd")  # not this route: the pages' catch-all answers
    assert escape.headers["Content-Type"] != "font/ttf"
    assert "root:" not in escape.get_data(as_text=True)
    assert client.get("/fonts/other.ttf").status_code == 404
