"""The page parts both upload ledgers share (issue 13 CD-1: the cadre-health ledger "like the health cloud's,
sharing its page parts"): the counts per state and a row's file progress, on both pages."""

from __future__ import annotations

from sqlalchemy import update

from backend.db.models import CadreUpload
from backend.services.base import transaction
from panels.admin import cadre_uploads, upload_ledger
from tests.cadre_helpers import covered_exam
from tests.ui.test_admin_pages import signed_in, text


def test_progress_reads_files_sent_and_says_nothing_without_files():
    assert text(upload_ledger.progress(3, 12, running=True)) == "3/12 个文件"
    assert text(upload_ledger.progress(0, 0, running=False)) == "—"
    counts = upload_ledger.state_counts([("待上传", 2, "light"), ("失败", 1, "danger")], "x-counts")
    assert text(counts) == "待上传 2 失败 1"


def test_the_cadre_ledger_shows_a_rows_file_progress(app, actors):
    svc = app.extensions["radops"]
    exam = covered_exam(svc, actors, id_card=None, files=0)
    with signed_in(app, actors["admin"]):
        cadre_uploads.run("cadre-uploads-add", None, None, exam["accession"], None)
        with transaction(svc) as tx:
            tx.session.execute(update(CadreUpload).values(files_done=4, files_total=12))
        _msg, table, _options, counts = cadre_uploads.run("cadre-uploads-search", None, None, None, None)
    assert "进度" in text(table)
    assert "4/12 个文件" in text(table)
    assert "待上传 1" in text(counts)
