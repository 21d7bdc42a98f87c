"""Lung nodules with known ground truth: placed inside the lungs clear of vessels, painted as soft ellipsoids,
and how each one looked a year earlier (smaller, unchanged or absent)."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from backend.dicom.synthetic.canvas import Canvas, Mask, Tube
from backend.dicom.synthetic.vessels import CoarseLung, clearance

NoduleKind = Literal["solid", "part_solid", "ground_glass", "calcified"]
Course = Literal["growing", "stable", "new", "solid_part_new"]
SOLID, GROUND_GLASS, CALCIFIED = 38.0, -610.0, 650.0


@dataclass(frozen=True)
class NoduleTruth:
    """One nodule as painted: centre (x, y, z) in patient mm, axial long/short axes, solid core."""

    label: str
    kind: NoduleKind
    center: tuple[float, float, float]
    long_mm: float
    short_mm: float
    angle: float  # direction of the long axis in the axial plane (radians from +x)
    solid_mm: float | None = None  # diameter of the solid core of a part-solid nodule
    course: Course = "stable"

    @property
    def mean_mm(self) -> float:
        return round((self.long_mm + self.short_mm) / 2, 1)

    @property
    def volume_mm3(self) -> float:
        return 4 / 3 * math.pi * (self.long_mm / 2) * (self.short_mm / 2) ** 2

    @property
    def hu(self) -> float:
        return {"solid": SOLID, "part_solid": GROUND_GLASS, "ground_glass": GROUND_GLASS,
                "calcified": CALCIFIED}[self.kind]

    def prior(self) -> NoduleTruth | None:
        """How this nodule looked one year earlier."""
        if self.course == "new":
            return None
        if self.course == "growing":
            return replace(self, long_mm=round(self.long_mm * 0.72, 1), short_mm=round(self.short_mm * 0.72, 1),
                           solid_mm=round(self.solid_mm * 0.6, 1) if self.solid_mm else None)
        if self.course == "solid_part_new":
            return replace(self, kind="ground_glass", solid_mm=None)
        return self


# (kind, diameter range mm, course); the first solid one's size differs from patient to patient.
PLAN: tuple[tuple[NoduleKind, tuple[float, float], Course], ...] = (
    ("solid", (6.0, 20.0), "growing"),
    ("part_solid", (12.0, 22.0), "solid_part_new"),
    ("ground_glass", (9.0, 20.0), "stable"),
    ("calcified", (4.0, 8.0), "stable"),
    ("solid", (4.0, 6.0), "new"),
)


def place_nodules(lung: CoarseLung, vessels: list[Tube], rng: np.random.Generator) -> list[NoduleTruth]:
    """Put each nodule of PLAN at a random spot deep enough in a lung and clear of every vessel."""
    nodules: list[NoduleTruth] = []
    inside = np.argwhere(lung.depth > 8.0)
    for i, (kind, (lo, hi), course) in enumerate(PLAN):
        long_mm = round(float(rng.uniform(lo, hi)), 1)
        short_mm = round(long_mm * float(rng.uniform(0.78, 0.95)), 1)
        solid = round(float(np.clip(long_mm * rng.uniform(0.35, 0.5), 4.0, 9.0)), 1) if kind == "part_solid" else None
        for _ in range(400):
            zyx = inside[rng.integers(len(inside))]
            p = np.array(lung.origin) + zyx[::-1] * 2.0 + rng.uniform(-1, 1, size=3)
            radius = long_mm / 2
            far = all(np.linalg.norm(p - np.array(n.center)) > radius + n.long_mm / 2 + 15 for n in nodules)
            if far and lung.depth_at(p[None, :])[0] > radius + 6 and clearance(vessels, p) > radius + 2.5:
                nodules.append(NoduleTruth(f"N{i + 1}", kind, (round(float(p[0]), 2), round(float(p[1]), 2),
                               round(float(p[2]), 2)), long_mm, short_mm, float(rng.uniform(0, math.pi)),
                               solid, course))
                break
    return nodules


def paint_nodule(c: Canvas, n: NoduleTruth, lungs: Mask) -> None:
    """Blend the nodule into the slice: a soft ellipsoid (long axis in-plane), a solid core if part-solid."""
    a, b = n.long_mm / 2, n.short_mm / 2
    _ellipsoid(c, n, a, b, n.hu, lungs)
    if n.kind == "part_solid" and n.solid_mm:
        _ellipsoid(c, n, n.solid_mm / 2, n.solid_mm / 2, SOLID, lungs)


def _ellipsoid(c: Canvas, n: NoduleTruth, a: float, b: float, hu: float, lungs: Mask) -> None:
    cx, cy, cz = n.center
    dz = (c.z - cz) / b
    if abs(dz) >= 1.0 + c.step / b:
        return
    win = c.window(cx - a - 2, cx + a + 2, cy - a - 2, cy + a + 2)
    if win is None:
        return
    x, y = c.grid(win)
    u = ((x - cx) * math.cos(n.angle) + (y - cy) * math.sin(n.angle)) / a
    v = (-(x - cx) * math.sin(n.angle) + (y - cy) * math.cos(n.angle)) / b
    rho = np.sqrt(u * u + v * v + dz * dz)
    cov = np.clip(0.5 + (1.0 - rho) * b / c.step, 0.0, 1.0).astype(np.float32)
    c.blend(win, cov, hu, lungs)
