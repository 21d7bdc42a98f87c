"""The known DICOM nodes (issue 10 item 2): who may associate with us and do what, and where we send.
Edited on the admin page, seeded by the demo (CT01, and RECON from the RADOPS_RECON_* settings)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from backend.db.models import DicomNode
from backend.domain.actor import Actor
from backend.domain.errors import InvalidInput, NotFound
from backend.domain.imaging import NodeRight, valid_ae_title
from backend.domain.permissions import Perm
from backend.services import audit
from backend.services.base import Services, transaction

CACHE_S = 5.0  # an admin edit reaches the DICOM listener within this many seconds


@dataclass(frozen=True, slots=True)
class Node:
    ae_title: str
    host: str
    port: int
    description: str
    rights: frozenset[NodeRight]
    enabled: bool
    id: int = 0

    def may(self, right: NodeRight) -> bool:
        return self.enabled and right in self.rights


def _node(row: DicomNode) -> Node:
    rights = {r for r, flag in ((NodeRight.STORE, row.can_store), (NodeRight.QUERY, row.can_query),
                                (NodeRight.RETRIEVE, row.can_retrieve), (NodeRight.WORKLIST, row.can_worklist))
              if flag}
    return Node(row.ae_title, row.host, row.port, row.description, frozenset(rights), row.enabled, row.id)


def all_nodes(svc: Services) -> list[Node]:
    with transaction(svc, readonly=True) as tx:
        return [_node(r) for r in tx.session.scalars(select(DicomNode).order_by(DicomNode.ae_title))]


def known_nodes(svc: Services) -> dict[str, Node]:
    """The enabled nodes by AE title, re-read at most every CACHE_S seconds (the DICOM listener asks per
    association)."""
    lock = svc.cache.setdefault("imaging.nodes.lock", threading.Lock())
    with lock:
        cached = svc.cache.get("imaging.nodes")
        if cached is not None and time.monotonic() - cached[0] < CACHE_S:
            return dict(cached[1])
        nodes = {n.ae_title: n for n in all_nodes(svc) if n.enabled}
        svc.cache["imaging.nodes"] = (time.monotonic(), nodes)
        return dict(nodes)


def forget_cache(svc: Services) -> None:
    svc.cache.pop("imaging.nodes", None)


def node(svc: Services, ae_title: str) -> Node:
    """A known node by AE title (NotFound when unknown or disabled)."""
    found = known_nodes(svc).get(ae_title.strip())
    if found is None:
        raise NotFound(f"未知的 DICOM 节点：{ae_title}", code="node_not_found")
    return found


def save_node(svc: Services, data: dict[str, Any], *, by: Actor) -> dict[str, Any]:
    """Create or update a node by AE title (admin only; audited)."""
    by.require(Perm.ADMIN)
    ae = str(data.get("ae_title", "")).strip()
    if not valid_ae_title(ae):
        raise InvalidInput("AE 标题须为 1-16 个可见 ASCII 字符", code="bad_ae_title")
    try:
        port = int(data.get("port", 0))
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise InvalidInput("端口须在 1-65535 之间", code="bad_port")
    host = str(data.get("host", "")).strip()
    if not host or len(host) > 255:
        raise InvalidInput("请填写主机地址", code="bad_host")
    rights = {NodeRight(r) for r in data.get("rights", []) if r in NodeRight.__members__.values()}
    with transaction(svc) as tx:
        row = tx.session.scalars(select(DicomNode).where(DicomNode.ae_title == ae)).first()
        created = row is None
        if row is None:
            row = DicomNode(ae_title=ae)
            tx.session.add(row)
        row.host, row.port = host, port
        row.description = str(data.get("description", ""))[:128]
        row.can_store, row.can_query = NodeRight.STORE in rights, NodeRight.QUERY in rights
        row.can_retrieve, row.can_worklist = NodeRight.RETRIEVE in rights, NodeRight.WORKLIST in rights
        row.enabled = bool(data.get("enabled", True))
        row.updated_at = tx.now
        tx.session.flush()
        audit.record(tx, by, "dicom_node_created" if created else "dicom_node_updated", "dicom_node", row.id,
                     ae_title=ae, rights=sorted(r.value for r in rights), enabled=row.enabled)
        out = {"id": row.id, "ae_title": ae, "created": created}
    forget_cache(svc)
    return out


def delete_node(svc: Services, ae_title: str, *, by: Actor) -> None:
    by.require(Perm.ADMIN)
    with transaction(svc) as tx:
        row = tx.session.scalars(select(DicomNode).where(DicomNode.ae_title == ae_title)).first()
        if row is None:
            raise NotFound(f"未知的 DICOM 节点：{ae_title}", code="node_not_found")
        audit.record(tx, by, "dicom_node_deleted", "dicom_node", row.id, ae_title=ae_title)
        tx.session.delete(row)
    forget_cache(svc)


def record_refused(svc: Services, *, calling_ae: str, address: str, reason: str) -> None:
    """Audit an association or request that was refused (unknown AE, or a right the node lacks)."""
    with transaction(svc) as tx:
        audit.record(tx, _dicom_actor(calling_ae, address), "dicom_refused", "dicom_node", calling_ae[:16],
                     reason=reason)


def _dicom_actor(calling_ae: str, address: str) -> Actor:
    return Actor(kind="dicom", id=None, name=calling_ae[:16], perms=frozenset(), ip=address[:64])


def demo_nodes(svc: Services) -> list[dict[str, Any]]:
    """The demo's nodes: a CT scanner, the reconstruction system from its settings, and the local tools."""
    s = svc.settings
    return [
        {"ae_title": "CT01", "host": "127.0.0.1", "port": 11114, "description": "CT 扫描仪（演示）",
         "rights": [NodeRight.STORE, NodeRight.QUERY, NodeRight.WORKLIST]},
        {"ae_title": s.recon_ae_title, "host": s.recon_host, "port": s.recon_port,
         "description": "肺结节靶重建系统", "rights": [NodeRight.STORE, NodeRight.QUERY, NodeRight.RETRIEVE]},
        {"ae_title": "RADOPS_CLI", "host": "127.0.0.1", "port": 11115, "description": "命令行工具（dicom-echo/send）",
         "rights": [NodeRight.STORE, NodeRight.QUERY, NodeRight.RETRIEVE]},
    ]


def seed_nodes(svc: Services, by: Actor) -> int:
    """Add the demo nodes that are not there yet (an operator's edits stay)."""
    have = {n.ae_title for n in all_nodes(svc)}
    added = 0
    for data in demo_nodes(svc):
        if data["ae_title"] not in have:
            save_node(svc, data, by=by)
            added += 1
    return added


def node_rows(svc: Services, by: Actor) -> list[dict[str, Any]]:
    """The nodes for the admin page (rights as codes and as Chinese labels)."""
    by.require(Perm.ADMIN)
    from backend.domain.imaging import RIGHT_LABELS

    return [{"id": n.id, "ae_title": n.ae_title, "host": n.host, "port": n.port, "description": n.description,
             "rights": sorted(r.value for r in n.rights),
             "rights_label": "、".join(RIGHT_LABELS[r] for r in NodeRight if r in n.rights), "active": n.enabled}
            for n in all_nodes(svc)]


def _by_id(svc: Services, node_id: int) -> Node:
    found = next((n for n in all_nodes(svc) if n.id == node_id), None)
    if found is None:
        raise NotFound(f"DICOM 节点不存在：{node_id}", code="node_not_found")
    return found


def update_node(svc: Services, node_id: int, data: dict[str, Any], *, by: Actor) -> dict[str, Any]:
    """Edit a node by id (its AE title stays; a new AE title is a new node)."""
    old = _by_id(svc, node_id)
    merged = {"host": old.host, "port": old.port, "description": old.description,
              "rights": [r.value for r in old.rights], "enabled": old.enabled, **data, "ae_title": old.ae_title}
    return save_node(svc, merged, by=by)


def delete_node_by_id(svc: Services, node_id: int, *, by: Actor) -> None:
    delete_node(svc, _by_id(svc, node_id).ae_title, by=by)
