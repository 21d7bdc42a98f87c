"""The cadre-health upload ledger page: rows with state and progress, filters, add by accession, remove,
retry refused unless the upload stopped retrying; refused to other roles."""

from __future__ import annotations

from panels.admin import cadre_uploads as page
from panels.admin import nav
from tests.cadre_helpers import covered_exam
from tests.ui.test_admin_pages import ids, signed_in, text


def test_an_admin_adds_filters_and_removes_on_the_ledger_page(app, actors):
    svc = app.extensions["radops"]
    exam = covered_exam(svc, actors, id_card=None, files=0)  # not covered: not on the ledger by itself
    with signed_in(app, actors["admin"]):
        tree = page.layout()
        assert {"cadre-uploads-rows", "cadre-uploads-state", "cadre-uploads-add", "admin-nav-cadre-uploads"} <= ids(
            tree)
        assert exam["accession"] not in text(tree)
        msg, table, options, _counts = page.run("cadre-uploads-add", None, None, exam["accession"], None)
        assert "已添加" in text(msg)
        assert exam["accession"] in text(table)
        assert "人工添加" in text(table)
        assert "待上传" in text(table)
        [choice] = options
        msg, *_ = page.run("cadre-uploads-retry", None, None, None, choice["value"])
        assert "cadre_upload_not_dead" in text(msg)
        _msg, table, *_ = page.run("cadre-uploads-search", "done", None, None, None)
        assert exam["accession"] not in text(table)
        msg, table, _options, counts = page.run("cadre-uploads-remove", None, exam["accession"], None,
                                                choice["value"])
        assert "已从台账移除" in text(msg)
        assert "已移除" in text(table)
        assert "已移除 1" in text(counts)
        msg, *_ = page.run("cadre-uploads-add", None, None, "NOSUCH", None)
        assert "exam_not_found" in text(msg)
    assert (page.PATH, "干部保健上传") in nav.ADMIN_NAV


def test_other_roles_are_refused(app, actors):
    with signed_in(app, actors["head"]):
        tree = page.layout()
    assert "shell-refusal" in ids(tree)
    assert "cadre-uploads-rows" not in ids(tree)
