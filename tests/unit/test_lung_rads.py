"""Lung-RADS v2022 and C-Lung-RADS against every row of their tables, boundaries on both sides."""

from __future__ import annotations

from typing import Any

import pytest

from backend.domain.errors import InvalidInput
from backend.domain.lung_rads import (
    AirwayLevel,
    Change,
    ExamKind,
    Nodule,
    NoduleType,
    System,
    assess,
    assess_nodule,
    mean_diameter,
    nodule_from_dict,
)

B, F = ExamKind.BASELINE, ExamKind.FOLLOW_UP
T = NoduleType


def n(kind: NoduleType, long_mm: float, short_mm: float | None = None, **kw: Any) -> Nodule:
    return Nodule(type=kind, long_mm=long_mm, short_mm=long_mm if short_mm is None else short_mm, **kw)


def ps(total: float, solid: float, **kw: Any) -> Nodule:
    """A part-solid nodule of mean `total` with a solid component of mean `solid`."""
    return n(T.PART_SOLID, total, solid_long_mm=solid, solid_short_mm=solid, **kw)


V2022_ROWS: list[tuple[str, ExamKind, Nodule, str]] = [
    # Category 1: benign calcification or fat, whatever the size.
    ("calcified", B, n(T.CALCIFIED, 25), "1"),
    ("fat", B, n(T.FAT, 12), "1"),
    # Solid, baseline: <6 → 2; 6 to <8 → 3; 8 to <15 → 4A; >=15 → 4B.
    ("solid 5.9", B, n(T.SOLID, 5.9), "2"),
    ("solid 6.0", B, n(T.SOLID, 6.0), "3"),
    ("solid 7.9", B, n(T.SOLID, 7.9), "3"),
    ("solid 8.0", B, n(T.SOLID, 8.0), "4A"),
    ("solid 14.9", B, n(T.SOLID, 14.9), "4A"),
    ("solid 15.0", B, n(T.SOLID, 15.0), "4B"),
    ("solid mean rounds up to 6.0", B, n(T.SOLID, 6.0, 5.9), "3"),  # (6.0 + 5.9) / 2 = 5.95 → 6.0
    ("solid mean 5.9", B, n(T.SOLID, 6.0, 5.8), "2"),
    # Solid, new at follow-up: <4 → 2; 4 to <6 → 3; 6 to <8 → 4A; >=8 → 4B.
    ("new solid 3.9", F, n(T.SOLID, 3.9, change=Change.NEW), "2"),
    ("new solid 4.0", F, n(T.SOLID, 4.0, change=Change.NEW), "3"),
    ("new solid 5.9", F, n(T.SOLID, 5.9, change=Change.NEW), "3"),
    ("new solid 6.0", F, n(T.SOLID, 6.0, change=Change.NEW), "4A"),
    ("new solid 7.9", F, n(T.SOLID, 7.9, change=Change.NEW), "4A"),
    ("new solid 8.0", F, n(T.SOLID, 8.0, change=Change.NEW), "4B"),
    # Solid, growing: <8 → 4A; >=8 → 4B.
    ("growing solid 5.0", F, n(T.SOLID, 5.0, change=Change.GROWING), "4A"),
    ("growing solid 7.9", F, n(T.SOLID, 7.9, change=Change.GROWING), "4A"),
    ("growing solid 8.0", F, n(T.SOLID, 8.0, change=Change.GROWING), "4B"),
    ("growing solid 16", F, n(T.SOLID, 16.0, change=Change.GROWING), "4B"),
    # Growth = mean diameter up by more than 1.5 mm within 12 months (computed from the prior mean).
    ("grew 1.5 mm: stable", F, n(T.SOLID, 7.5, prior_mean_mm=6.0), "3"),
    ("grew 1.5 mm: stable for 12 months steps down", F, n(T.SOLID, 7.5, prior_mean_mm=6.0, interval_months=12), "2"),
    ("grew 1.5 mm to 8.0: crossed, not growing", F, n(T.SOLID, 8.0, prior_mean_mm=6.5, interval_months=12), "4A"),
    ("grew 1.6 mm to 8.0: growing", F, n(T.SOLID, 8.0, prior_mean_mm=6.4, interval_months=12), "4B"),
    ("grew 1.6 mm in 12 months", F, n(T.SOLID, 7.6, prior_mean_mm=6.0, interval_months=12), "4A"),
    ("grew 1.6 mm in 13 months: slow", F, n(T.SOLID, 7.6, prior_mean_mm=6.0, interval_months=13), "3"),
    ("grew 3 mm to 8.0", F, n(T.SOLID, 8.0, prior_mean_mm=5.0, interval_months=6), "4B"),
    ("crossing 8 mm without growth", F, n(T.SOLID, 8.0, prior_mean_mm=7.0, interval_months=12), "4A"),
    # Stepped management: a 3 stable 6 months → 2; a 4A stable 3 months → 3, 9 months → 2; 4B stays.
    ("3 stable 5 months", F, n(T.SOLID, 7.0, change=Change.STABLE, stable_months=5), "3"),
    ("3 stable 6 months", F, n(T.SOLID, 7.0, change=Change.STABLE, stable_months=6), "2"),
    ("3 smaller at 6 months", F, n(T.SOLID, 7.0, change=Change.SMALLER, stable_months=6), "2"),
    ("4A stable 2 months", F, n(T.SOLID, 10.0, change=Change.STABLE, stable_months=2), "4A"),
    ("4A stable 3 months", F, n(T.SOLID, 10.0, change=Change.STABLE, stable_months=3), "3"),
    ("4A stable 9 months", F, n(T.SOLID, 10.0, change=Change.STABLE, stable_months=9), "2"),
    ("4B stable 12 months", F, n(T.SOLID, 16.0, change=Change.STABLE, stable_months=12), "4B"),
    ("stable for unknown time", F, n(T.SOLID, 7.0, change=Change.STABLE), "3"),
    # Part-solid, baseline: total <6 → 2; >=6 with solid <6 → 3; solid 6 to <8 → 4A; solid >=8 → 4B.
    ("part-solid 5.9 total", B, ps(5.9, 3.0), "2"),
    ("part-solid 6.0 total, solid 5.9", B, ps(6.0, 5.9), "3"),
    ("part-solid solid 6.0", B, ps(12.0, 6.0), "4A"),
    ("part-solid solid 7.9", B, ps(12.0, 7.9), "4A"),
    ("part-solid solid 8.0", B, ps(12.0, 8.0), "4B"),
    # Part-solid, new: <6 total → 3; new or growing solid component <4 → 4A, >=4 → 4B.
    ("new part-solid 5.9 total", F, ps(5.9, 3.0, change=Change.NEW), "3"),
    ("new part-solid solid 3.9", F, ps(10.0, 3.9, change=Change.NEW), "4A"),
    ("new part-solid solid 4.0", F, ps(10.0, 4.0, change=Change.NEW), "4B"),
    ("growing part-solid solid 3.9", F, ps(10.0, 3.9, change=Change.GROWING), "4A"),
    ("growing part-solid solid 4.0", F, ps(10.0, 4.0, change=Change.GROWING), "4B"),
    ("stable part-solid solid 5 for 6 months", F, ps(10.0, 5.0, change=Change.STABLE, stable_months=6), "2"),
    # Non-solid (GGN): <30 → 2; >=30 at baseline or new → 3; >=30 stable or slowly growing → 2.
    ("GGN 29.9", B, n(T.NON_SOLID, 29.9), "2"),
    ("GGN 30.0", B, n(T.NON_SOLID, 30.0), "3"),
    ("new GGN 30.0", F, n(T.NON_SOLID, 30.0, change=Change.NEW), "3"),
    ("GGN 30.0 stable", F, n(T.NON_SOLID, 30.0, change=Change.STABLE, stable_months=12), "2"),
    ("GGN 32 growing", F, n(T.NON_SOLID, 32.0, change=Change.GROWING), "2"),
    ("GGN 10 growing", F, n(T.NON_SOLID, 10.0, change=Change.GROWING), "2"),
    # Juxtapleural / perifissural solid nodule <10 mm → 2; >=10 mm sized as solid.
    ("juxtapleural 9.9", B, n(T.JUXTAPLEURAL, 9.9), "2"),
    ("juxtapleural 10.0", B, n(T.JUXTAPLEURAL, 10.0), "4A"),
    ("juxtapleural 15.0", B, n(T.JUXTAPLEURAL, 15.0), "4B"),
    # Airway: subsegmental → 2; segmental or more proximal → 4A; persisting at follow-up → 4B.
    ("subsegmental airway", B, n(T.AIRWAY, 5.0, airway_level=AirwayLevel.SUBSEGMENTAL), "2"),
    ("segmental airway", B, n(T.AIRWAY, 5.0), "4A"),
    ("segmental airway persisting", F, n(T.AIRWAY, 5.0, change=Change.STABLE, stable_months=3), "4B"),
    ("segmental airway gone smaller", F, n(T.AIRWAY, 5.0, change=Change.SMALLER), "4A"),
    # 4X: a 3 or 4 with suspicious features; a 2 stays 2.
    ("3 suspicious", B, n(T.SOLID, 7.0, suspicious_features=True), "4X"),
    ("4A suspicious", B, n(T.SOLID, 9.0, suspicious_features=True), "4X"),
    ("4B suspicious", B, ps(12.0, 9.0, suspicious_features=True), "4X"),
    ("2 suspicious stays 2", B, n(T.SOLID, 5.0, suspicious_features=True), "2"),
]


@pytest.mark.parametrize(("exam", "nodule", "expected"), [r[1:] for r in V2022_ROWS], ids=[r[0] for r in V2022_ROWS])
def test_lung_rads_v2022_table(exam: ExamKind, nodule: Nodule, expected: str) -> None:
    assert assess_nodule(nodule, exam=exam).category == expected


CHINA_ROWS: list[tuple[str, Nodule, str]] = [
    ("calcified → 0", n(T.CALCIFIED, 20), "0"),
    ("fat → 0", n(T.FAT, 9), "0"),
    ("solid 5.9", n(T.SOLID, 5.9), "1"),
    ("solid 6.0", n(T.SOLID, 6.0), "2"),
    ("solid 9.9", n(T.SOLID, 9.9), "2"),
    ("solid 10.0", n(T.SOLID, 10.0), "3"),
    ("solid 17.9", n(T.SOLID, 17.9), "3"),
    ("solid 18.0", n(T.SOLID, 18.0), "4"),
    ("juxtapleural sized as solid", n(T.JUXTAPLEURAL, 8.0), "2"),
    ("airway sized as solid", n(T.AIRWAY, 5.0), "1"),
    ("part-solid 5.9 total", ps(5.9, 5.0), "1"),
    ("part-solid 6.0 total, solid 5.9", ps(6.0, 5.9), "2"),
    ("part-solid solid 6.0", ps(12.0, 6.0), "3"),
    ("part-solid solid 9.9", ps(12.0, 9.9), "3"),
    ("part-solid solid 10.0", ps(12.0, 10.0), "4"),
    ("pGGN 5.9", n(T.NON_SOLID, 5.9), "1"),
    ("pGGN 6.0", n(T.NON_SOLID, 6.0), "2"),
    ("pGGN 19.9", n(T.NON_SOLID, 19.9), "2"),
    ("pGGN 20.0", n(T.NON_SOLID, 20.0), "3"),
    ("2 with suspicious features → 4", n(T.SOLID, 7.0, suspicious_features=True), "4"),
    ("3 with suspicious features → 4", n(T.NON_SOLID, 25.0, suspicious_features=True), "4"),
    ("1 with suspicious features stays 1", n(T.SOLID, 4.0, suspicious_features=True), "1"),
]


@pytest.mark.parametrize(("nodule", "expected"), [r[1:] for r in CHINA_ROWS], ids=[r[0] for r in CHINA_ROWS])
def test_c_lung_rads_table(nodule: Nodule, expected: str) -> None:
    assert assess_nodule(nodule, exam=B, system=System.CHINA).category == expected


@pytest.mark.parametrize(("long_mm", "short_mm", "mean"), [
    (5.0, 6.1, 5.6), (6.0, 5.9, 6.0), (7.25, 7.25, 7.3), (10, 8, 9.0), (0.1, 0.1, 0.1), (300, 300, 300.0),
])
def test_mean_diameter_is_rounded_half_up_to_a_tenth(long_mm: float, short_mm: float, mean: float) -> None:
    assert mean_diameter(long_mm, short_mm) == mean


def test_exam_category_is_the_most_suspicious_nodule_with_s() -> None:
    result = assess(exam=B, nodules=[n(T.SOLID, 5.0), ps(12.0, 7.0), n(T.NON_SOLID, 31.0)],
                    significant_other_findings=True)
    assert [r.category for r in result.nodules] == ["2", "4A", "3"]
    assert (result.category, result.modifiers, result.label) == ("4A", ("S",), "4AS")
    assert result.recommendation.startswith("3个月后复查低剂量CT")
    assert "（S）" in result.recommendation


def test_no_nodule_is_negative_and_4x_outranks_4b() -> None:
    assert assess(exam=B, nodules=[]).category == "1"
    assert assess(exam=B, nodules=[], system=System.CHINA).category == "0"
    assert assess(exam=B, nodules=[n(T.SOLID, 16.0), n(T.SOLID, 7.0, suspicious_features=True)]).category == "4X"


def test_follow_up_without_the_prior_is_incomplete() -> None:
    result = assess(exam=F, nodules=[n(T.SOLID, 7.0, change=Change.STABLE)], prior_available=False)
    assert result.category == "0"
    assert result.nodules[0].category == "3"
    assert "既往" in result.recommendation
    assert assess(exam=F, nodules=[], prior_available=False, system=System.CHINA).category == "0"


def test_c_lung_rads_has_no_s_modifier_but_names_other_findings() -> None:
    result = assess(exam=B, nodules=[n(T.SOLID, 12.0)], significant_other_findings=True, system=System.CHINA)
    assert (result.category, result.modifiers) == ("3", ())
    assert "非肺癌发现" in result.recommendation
    assert result.as_dict()["system"] == "c-lung-rads"


@pytest.mark.parametrize(("nodule", "exam", "code", "words"), [
    (n(T.SOLID, -1.0, -2.0), B, "negative_measurement", "负数"),
    (n(T.SOLID, 5.0, -0.1), B, "negative_measurement", "短径不能为负数"),
    (n(T.SOLID, 0.0), B, "invalid_measurement", "大于 0"),
    (n(T.SOLID, 300.1, 10.0), B, "absurd_measurement", "300"),
    (n(T.SOLID, float("nan"), 1.0), B, "invalid_measurement", "数字"),
    (n(T.SOLID, 6.0, 7.0), B, "short_exceeds_long", "短径"),
    (n(T.PART_SOLID, 10.0, 8.0), B, "missing_solid_component", "实性成分"),
    (n(T.PART_SOLID, 10.0, 8.0, solid_long_mm=6.0), B, "missing_solid_component", "实性成分"),
    (n(T.PART_SOLID, 10.0, 8.0, solid_long_mm=11.0, solid_short_mm=5.0), B, "solid_exceeds_nodule", "大于结节"),
    (n(T.PART_SOLID, 10.0, 8.0, solid_long_mm=5.0, solid_short_mm=6.0), B, "short_exceeds_long", "实性成分"),
    (n(T.SOLID, 6.0, stable_months=-1), F, "invalid_months", "稳定时间"),
    (n(T.SOLID, 6.0, change=Change.NEW), B, "baseline_change", "基线"),
    (n(T.SOLID, 9.0, prior_mean_mm=5.0, interval_months=6, change=Change.STABLE), F, "change_mismatch", "既往"),
    (n(T.SOLID, 9.0, prior_mean_mm=5.0, change=Change.NEW), F, "change_mismatch", "新发"),
])
def test_bad_input_is_refused_in_chinese(nodule: Nodule, exam: ExamKind, code: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        assess(exam=exam, nodules=[nodule])
    assert caught.value.code == code
    assert words in caught.value.message
    assert "结节1" in caught.value.message


def test_too_many_nodules_are_refused() -> None:
    with pytest.raises(InvalidInput, match="50"):
        assess(exam=B, nodules=[n(T.SOLID, 4.0)] * 51)


def test_nodule_from_dict_reads_json_values_and_refuses_unknown_words() -> None:
    nodule = nodule_from_dict({"type": "part_solid", "long_mm": 12, "short_mm": 10.5, "solid_long_mm": 6,
                               "solid_short_mm": 5, "change": "stable", "stable_months": 6,
                               "suspicious_features": False})
    assert nodule.type is T.PART_SOLID
    assert nodule.long_mm == 12.0
    assert nodule.change is Change.STABLE
    with pytest.raises(InvalidInput, match="类型"):
        nodule_from_dict({"type": "cyst", "long_mm": 5, "short_mm": 5})
    with pytest.raises(InvalidInput, match="长径和短径"):
        nodule_from_dict({"type": "solid", "long_mm": 5})
    with pytest.raises(InvalidInput, match="数字"):
        nodule_from_dict({"type": "solid", "long_mm": "5", "short_mm": 5})
