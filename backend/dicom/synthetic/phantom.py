"""One synthetic patient's chest: anatomy, vessel trees and nodules drawn from (seed, patient id), rendered
slice by slice at any height for the current study or the prior one a year earlier."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

import numpy as np

from backend.dicom.synthetic.anatomy import Anatomy
from backend.dicom.synthetic.canvas import F32, Canvas, Tube
from backend.dicom.synthetic.nodules import NoduleTruth, paint_nodule, place_nodules
from backend.dicom.synthetic.vessels import CoarseLung, grow_trees

TimePoint = Literal["current", "prior"]
VESSEL_HU = 40.0


def seed_sequence(seed: int, *words: str) -> np.random.SeedSequence:
    """A random stream named by the seed and words, the same on every machine."""
    digest = hashlib.sha256("\x1f".join((str(seed), *words)).encode()).digest()
    return np.random.SeedSequence([int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4)])


@dataclass(frozen=True)
class Geometry:
    """An axial slice grid: columns along +x, rows along +y (LPS), centred on the table axis."""

    matrix: int = 512
    fov_mm: float = 360.0

    @property
    def pixel_mm(self) -> float:
        return self.fov_mm / self.matrix

    def axes(self) -> F32:
        half = self.fov_mm / 2 - self.pixel_mm / 2
        return np.linspace(-half, half, self.matrix, dtype=np.float32)


class ChestPhantom:
    """The same (seed, patient id) always gives the same chest, vessels and nodules."""

    def __init__(self, seed: int, patient_id: str) -> None:
        self.seed, self.patient_id = seed, patient_id
        rng = np.random.default_rng(seed_sequence(seed, patient_id, "anatomy"))
        self.anatomy = Anatomy.draw(rng)
        self.z_top = round(self.anatomy.apex_z + 10.0, 1)
        self.z_bottom = self.z_top - 255.0
        self.lung = CoarseLung.build(self.anatomy, self.z_top, self.z_bottom)
        self.vessels: list[Tube] = grow_trees(self.anatomy, self.lung, rng)
        ends = np.array([(t.p0[2], t.p1[2], max(t.r0, t.r1)) for t in self.vessels]).reshape(-1, 3)
        self._vessel_z = (np.minimum(ends[:, 0], ends[:, 1]) - ends[:, 2] - 1.0,
                          np.maximum(ends[:, 0], ends[:, 1]) + ends[:, 2] + 1.0)
        self.current: list[NoduleTruth] = place_nodules(self.lung, self.vessels, rng)

    def nodules(self, when: TimePoint = "current") -> list[NoduleTruth]:
        """The ground truth of the nodules present at that time point."""
        if when == "current":
            return list(self.current)
        return [p for n in self.current if (p := n.prior()) is not None]

    def render(self, z: float, geometry: Geometry, when: TimePoint = "current") -> F32:
        """The noise-free HU of the axial slice at height z (mm), blurred like a sharp kernel."""
        return self.render_many(z, geometry, (when,))[0]

    def render_many(self, z: float, geometry: Geometry, whens: tuple[TimePoint, ...]) -> list[F32]:
        """The slice at z for several time points: the anatomy is painted once, the nodules per time point."""
        axes = geometry.axes()
        c = Canvas(axes, axes, z)
        lungs = self.anatomy.paint(c)
        cov = np.zeros_like(c.hu)
        near = np.nonzero((self._vessel_z[0] <= z) & (self._vessel_z[1] >= z))[0]
        for i in near:
            piece = self.vessels[i].coverage(c)
            if piece is not None:
                np.maximum(cov[piece[0]], piece[1], out=cov[piece[0]])
        c.blend((slice(None), slice(None)), cov, VESSEL_HU, lungs)
        base, out = blur(c.hu), []
        for when in whens:
            # Nodules are painted with soft edges after the blur: one blur serves every time point.
            c.hu = base.copy()
            for n in self.nodules(when):
                paint_nodule(c, n, lungs)
            out.append(c.hu)
        return out


def blur(hu: F32) -> F32:
    """A [1 2 1]/4 smoothing along both axes (the point spread of a sharp kernel, ~0.7 px)."""
    out = hu * np.float32(0.5)
    out[1:] += hu[:-1] * np.float32(0.25)
    out[:-1] += hu[1:] * np.float32(0.25)
    out[0] += hu[0] * np.float32(0.25)
    out[-1] += hu[-1] * np.float32(0.25)
    res = out * np.float32(0.5)
    res[:, 1:] += out[:, :-1] * np.float32(0.25)
    res[:, :-1] += out[:, 1:] * np.float32(0.25)
    res[:, 0] += out[:, 0] * np.float32(0.25)
    res[:, -1] += out[:, -1] * np.float32(0.25)
    return res


class NoisePool:
    """Correlated quantum noise (a CT kernel's grain, ~1.5 px) drawn once; each slice takes a random 2D
    window of it, which costs a view instead of a fresh draw."""

    def __init__(self, rng: np.random.Generator, sigma: float, matrix: int = 512) -> None:
        white = rng.standard_normal((2 * matrix, 2 * matrix), dtype=np.float32)
        grain = blur(blur(white))
        self.pool: F32 = grain * np.float32(sigma / float(grain.std()))
        self.matrix = matrix

    def add(self, hu: F32, rng: np.random.Generator) -> F32:
        """Noise in the body only: the air around the patient stays at its calibrated value."""
        oy, ox = rng.integers(0, self.matrix, size=2)
        noise = self.pool[oy:oy + hu.shape[0], ox:ox + hu.shape[1]]
        return np.where(hu > -990.0, hu + noise, hu).astype(np.float32)
