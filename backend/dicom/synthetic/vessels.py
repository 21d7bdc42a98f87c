"""Pulmonary vessel trees grown from the hila inside a coarse lung mask, and the mask itself."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from backend.dicom.synthetic.anatomy import Anatomy
from backend.dicom.synthetic.canvas import Canvas, Tube

COARSE_MM = 2.0
MIN_RADIUS = 0.55
MAX_SEGMENTS = 4000
ROOTS = 9


@dataclass(frozen=True)
class CoarseLung:
    """The lungs on a 2 mm grid with each voxel's distance to the lung edge (mm)."""

    origin: tuple[float, float, float]  # x, y, z of voxel [0, 0, 0]
    depth: npt.NDArray[np.float32]  # [z, y, x]; 0 outside the lungs

    @classmethod
    def build(cls, anatomy: Anatomy, z_top: float, z_bottom: float) -> CoarseLung:
        xs = np.arange(-180.0, 180.0, COARSE_MM, dtype=np.float32)
        zs = np.arange(z_bottom, z_top + COARSE_MM, COARSE_MM)
        mask = np.stack([anatomy.paint(Canvas(xs, xs, float(z))) for z in zs])
        depth = ndimage.distance_transform_edt(mask, sampling=COARSE_MM).astype(np.float32)
        return cls((float(xs[0]), float(xs[0]), float(zs[0])), depth)

    def depth_at(self, points: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
        """Distance to the lung edge at (n, 3) points (x, y, z); 0 outside the lungs or the grid."""
        idx = np.rint((points[:, ::-1] - np.array(self.origin[::-1])) / COARSE_MM).astype(int)
        ok = np.all((idx >= 0) & (idx < np.array(self.depth.shape)), axis=1)
        out = np.zeros(len(points), np.float32)
        out[ok] = self.depth[idx[ok, 0], idx[ok, 1], idx[ok, 2]]
        return out


def _rotate(v: npt.NDArray[np.float64], axis: npt.NDArray[np.float64], angle: float) -> npt.NDArray[np.float64]:
    """Rodrigues' rotation of v about a unit axis."""
    return np.asarray(v * np.cos(angle) + np.cross(axis, v) * np.sin(angle)
                      + axis * np.dot(axis, v) * (1 - np.cos(angle)))


def _perpendicular(v: npt.NDArray[np.float64], rng: np.random.Generator) -> npt.NDArray[np.float64]:
    w = np.cross(v, rng.normal(size=3))
    return np.asarray(w / np.linalg.norm(w))


def grow_trees(anatomy: Anatomy, lung: CoarseLung, rng: np.random.Generator) -> list[Tube]:
    """Branch from each hilum toward the lobes until the vessels are thinner than MIN_RADIUS."""
    right, left = anatomy.hila()
    stack: list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float, bool]] = []
    for hilum, side in ((right, -1.0), (left, 1.0)):
        for k in range(ROOTS):
            # Spread the roots over the lung: up, out and down, a little forward or back.
            elevation = np.pi * (0.42 - 0.84 * k / (ROOTS - 1)) + rng.normal(scale=0.08)
            sweep = rng.uniform(-0.7, 0.7)
            v = np.array([side * np.cos(elevation) * np.cos(sweep), np.sin(sweep), np.sin(elevation)])
            stack.append((np.array(hilum, float), v / np.linalg.norm(v), 4.5, True))
    tubes: list[Tube] = []
    while stack and len(tubes) < MAX_SEGMENTS:
        start, direction, r, root = stack.pop(0)
        end = _extend(lung, start, direction, r, rng, root=root)
        if end is None:
            continue
        r_end = r * 0.93
        tubes.append(Tube((start[0], start[1], start[2]), (end[0], end[1], end[2]), r, r_end))
        child_r = r_end * 0.79
        if child_r < MIN_RADIUS:
            continue
        axis = _perpendicular(direction, rng)
        for sign in (1.0, -1.0):
            angle = sign * float(rng.uniform(0.35, 0.7))
            stack.append((end, _rotate(direction, axis, angle), child_r, False))
    return tubes


def _extend(lung: CoarseLung, start: npt.NDArray[np.float64], direction: npt.NDArray[np.float64], r: float,
            rng: np.random.Generator, *, root: bool) -> npt.NDArray[np.float64] | None:
    """The end of a new segment that stays inside the lungs, or None where no room is left. A root leaves
    the hilum, outside the lung mask: only its far end is checked."""
    length = 34.0 if root else float(np.clip(r * rng.uniform(5.0, 8.0), 5.0, 32.0))
    for _ in range(2):
        end = start + direction * length
        samples = start + np.linspace(0.8 if root else 0.5, 1.0, 4)[:, None] * (end - start)
        if np.all(lung.depth_at(samples) > r + 1.0):
            return np.asarray(end)
        length *= 0.5
    return None


def clearance(tubes: list[Tube], point: npt.NDArray[np.float64]) -> float:
    """The smallest gap between a point and the surface of any tube (mm; negative inside one)."""
    p0 = np.array([t.p0 for t in tubes])
    p1 = np.array([t.p1 for t in tubes])
    r = np.array([max(t.r0, t.r1) for t in tubes])
    v = p1 - p0
    t = np.clip(np.einsum("ij,ij->i", point - p0, v) / np.maximum(np.einsum("ij,ij->i", v, v), 1e-9), 0, 1)
    d = np.linalg.norm(point - (p0 + t[:, None] * v), axis=1)
    return float(np.min(d - r))
