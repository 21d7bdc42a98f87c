"""Admin page /admin/dicom-nodes: the known DICOM nodes (AE title, address, what each may do); an AE title
not listed here is rejected at association (issue 10 item 2)."""

from __future__ import annotations

from typing import Any

import dash

from backend.domain.imaging import RIGHT_LABELS
from backend.domain.permissions import Perm
from backend.services.base import Services
from backend.services.imaging import nodes
from backend.web.callback_guard import staff
from panels.admin.crud import CrudSpec, FormField, bind, crud_body
from panels.admin.nav import add_admin_link, admin_page, register_admin_page

ACCESS = staff(Perm.ADMIN)  # who may call this page's callbacks (backend/web/callback_guard.py)

PATH = "/admin/dicom-nodes"
TITLE = "DICOM 节点"
add_admin_link(PATH, TITLE)


def right_options(_svc: Services) -> list[dict[str, Any]]:
    return [{"label": label, "value": right.value} for right, label in RIGHT_LABELS.items()]


SPEC = CrudSpec(
    prefix="dicom-nodes", noun="DICOM 节点",
    fields=[
        FormField("ae_title", "AE 标题", create_only=True, required=True, placeholder="如 CT01"),
        FormField("host", "主机地址", required=True, placeholder="如 10.1.2.3"),
        FormField("port", "端口", "number", required=True, placeholder="104"),
        FormField("description", "说明", placeholder="如 2号CT机", md=6),
        FormField("rights", "允许", "checklist", right_options, md=6),
    ],
    columns=[("ae_title", "AE 标题"), ("host", "主机"), ("port", "端口"), ("rights_label", "允许"),
             ("description", "说明"), ("active", "启用")],
    rows=nodes.node_rows,
    create=lambda svc, by, v: nodes.save_node(svc, v, by=by),
    update=lambda svc, by, id_, v: nodes.update_node(svc, id_, v, by=by),
    set_active=lambda svc, by, id_, on: nodes.update_node(svc, id_, {"enabled": on}, by=by),
    delete=lambda svc, by, id_: nodes.delete_node_by_id(svc, id_, by=by),
)


def layout(**_query: Any) -> Any:
    return admin_page(PATH, TITLE, lambda actor: crud_body(SPEC, actor))


def register(app: dash.Dash) -> None:
    register_admin_page(app, __name__, PATH, TITLE, layout, lambda app: bind(app, SPEC))
