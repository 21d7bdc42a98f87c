"""The reconstruction request's table and the pure rules of the prior list (LN-4..LN-7)."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import pytest

from backend.domain.errors import InvalidTransition
from backend.domain.recon import (
    RECON_MACHINE,
    RECON_TRANSITIONS,
    ReconState,
    ReconTrigger,
    SeriesFacts,
    default_series,
    is_chest_ct,
    merged_priors,
    prior_order,
    undo_keeps_exam_started,
    uses_recon,
)


@pytest.mark.parametrize(("state", "trigger"), list(itertools.product(ReconState, ReconTrigger)))
def test_table_walk(state: ReconState, trigger: ReconTrigger) -> None:
    if (state, trigger) in RECON_TRANSITIONS:
        assert RECON_MACHINE.next(state, trigger) == RECON_TRANSITIONS[(state, trigger)]
    else:
        with pytest.raises(InvalidTransition) as exc:
            RECON_MACHINE.next(state, trigger)
        assert RECON_MACHINE.labels[state] in exc.value.message


def test_undo_only_before_sending_and_docs_are_current() -> None:
    undoable = {s for s in ReconState if ReconTrigger.UNDO in RECON_MACHINE.allowed(s)}
    assert undoable == {ReconState.PENDING, ReconState.FAILED}
    assert RECON_MACHINE.allowed(ReconState.COMPLETED) == []
    page = (Path(__file__).resolve().parents[2] / "docs" / "state-machines.md").read_text(encoding="utf-8")
    assert RECON_MACHINE.as_markdown() in page


def _s(uid: str, thickness: float | None, kernel: str = "", modality: str = "CT", n: int = 100,
       description: str = "") -> SeriesFacts:
    return SeriesFacts(uid, modality, description, n, thickness, kernel)


def test_default_series_is_the_thinnest_lung_kernel() -> None:
    series = [_s("soft-1mm", 1.0, "STANDARD"), _s("lung-5mm", 5.0, "LUNG"), _s("lung-1.25", 1.25, "B70f"),
              _s("scout", None, "", n=1), _s("mr", 0.5, "LUNG", modality="MR")]
    assert default_series(series) == "lung-1.25"
    assert default_series([_s("soft-1mm", 1.0, "STANDARD"), _s("soft-5mm", 5.0, "STANDARD")]) == "soft-1mm"
    assert default_series([_s("by-name", 2.0, "FC13", description="Lung 2 mm"), _s("soft", 1.0)]) == "by-name"
    assert default_series([_s("scout", None, n=2)]) is None


def test_prior_order_puts_ct_chest_first_then_newest() -> None:
    priors = [("mr-new", date(2026, 5, 1), False), ("ct-old", date(2024, 1, 1), True),
              ("ct-new", date(2025, 6, 1), True), ("undated", None, False)]
    ordered = [p[0] for p in sorted(priors, key=lambda p: prior_order(p[1], p[2]))]
    assert ordered == ["ct-new", "ct-old", "mr-new", "undated"]
    assert is_chest_ct("CT", "CHEST", "")
    assert is_chest_ct("CT\\SR", "", "胸部CT平扫")
    assert not is_chest_ct("MR", "CHEST", "")
    assert uses_recon("CT-LN-TR", "CT-LN-TR, CT-LN-X")
    assert not uses_recon("CT-CHEST", "CT-LN-TR")


def test_merged_priors_lists_each_study_once_local_first_in_the_same_order() -> None:
    local = [{"study_uid": "a", "date": "2024-01-01", "chest_ct": True, "source": "local"},
             {"study_uid": "b", "date": "2026-05-01", "chest_ct": False, "source": "local"}]
    remote = [{"study_uid": "a", "date": "2024-01-01", "chest_ct": True, "source": "remote"},
              {"study_uid": "c", "date": "2025-06-01", "chest_ct": True, "source": "remote"},
              {"study_uid": "own", "date": "2026-11-30", "chest_ct": True, "source": "remote"},
              {"study_uid": "d", "date": "", "chest_ct": False, "source": "remote"}]
    merged = merged_priors(local, remote, skip={"own"})
    assert [(p["study_uid"], p["source"]) for p in merged] == [("c", "remote"), ("a", "local"), ("b", "local"),
                                                               ("d", "remote")]
    assert merged_priors([], [], skip=set()) == []


def test_undo_returns_the_exam_only_when_the_link_alone_started_it() -> None:
    assert undo_keeps_exam_started(started_by_link=True, own_images=0, other_links=0) is None
    assert "不是由引用历史图像开始" in str(undo_keeps_exam_started(started_by_link=False, own_images=0,
                                                                    other_links=0))
    assert "3 幅图像" in str(undo_keeps_exam_started(started_by_link=True, own_images=3, other_links=0))
    assert "其他有效的引用" in str(undo_keeps_exam_started(started_by_link=True, own_images=0, other_links=1))
