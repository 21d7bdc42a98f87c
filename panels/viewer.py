"""Web viewer (影像浏览, issue 10 item 6): the series of an exam's study and of the patient's prior studies,
frames rendered on the server (/dicomweb .../rendered, cached, each one an audited read).

The page gives the studies as data; `assets/viewer.js` (the project's own file, no CDN) draws the series
list with thumbnails, two panes with stack scroll (wheel, keys, slider), window presets and drag, zoom and
pan, a length measurement in mm from PixelSpacing, linked scrolling and the DICOM header of the shown
image. It publishes the image it shows (study/series/instance UIDs, series and instance numbers, window) in
the browser's localStorage under `radops.viewer.<accession>`, and 标记关键图像 adds it to
`radops.viewer.keys.<accession>`: the report editor of the same exam, open in another tab or window of the
same browser, reads them there (取当前图像, 导入关键图像; LN-9). Opening the page is an audited read
(`image_viewer`); every route it calls checks `image.read`."""

from __future__ import annotations

import json
from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import html

from backend.domain.actor import Actor
from backend.domain.errors import DomainError
from backend.domain.permissions import Perm
from backend.services.imaging import recon_results, web
from backend.web.callback_guard import staff
from backend.web.context import services
from panels.shell import staff_page

ACCESS = staff(Perm.IMAGE_READ)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/panels/viewer/<accession>"
# Window presets (centre, width in HU) the toolbar offers; the JS reads them from the page.
PRESETS = [("肺窗", -600, 1500), ("纵隔窗", 40, 400), ("骨窗", 400, 1800)]


def _body(actor: Actor, accession: str) -> Any:
    try:
        studies = web.viewer_studies(services(), accession, by=actor)
    except DomainError as exc:
        return dbc.Alert(exc.message, color="warning", id="viewer-error", className="m-3")
    current = next((s for s in studies if s["current"]), studies[0])
    title = f"影像浏览 · 检查号 {accession} · {current['date']} {current['description']}"
    return html.Div([
        html.H5(title, className="m-2", id="viewer-title"),
        html.Div(id="viewer-root", className="viewer-root", **{
            "data-studies": json.dumps(studies, ensure_ascii=False),
            "data-presets": json.dumps([{"name": n, "c": c, "w": w} for n, c, w in PRESETS], ensure_ascii=False),
            "data-pairing": json.dumps(_pairing(accession)),
            "data-base": "/dicomweb", "data-accession": accession}),
    ])


def _pairing(accession: str) -> dict[str, Any] | None:
    """LN-8: a reconstruction exam opens its first result series beside the source series it was made from
    (same frame of reference: the panes link); None for other exams (the viewer's usual start)."""
    link = recon_results.result_series_of(services(), accession)
    if link is None or not link["result_series"]:
        return None
    return {"left": {"study": link["target_study_uid"], "series": link["result_series"][0]},
            "right": {"study": link["source_study_uid"], "series": link["source_series_uid"]}}


def layout(accession: str | None = None, **_query: Any) -> Any:
    return staff_page(Perm.IMAGE_READ, "/panels/exams", lambda actor: _body(actor, accession or ""))


def register(app: dash.Dash) -> None:
    dash.register_page(__name__, path_template=PATH, title="影像浏览 - RadOps", name="影像浏览", layout=layout)
