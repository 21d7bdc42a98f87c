"""A slice's pixel grid in patient millimetres and the shapes painted on it (ellipses, tubes, ellipsoids).

Every shape is painted inside its bounding box only, so a 512 x 512 slice costs a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]
Window = tuple[slice, slice]


class Canvas:
    """HU values on the grid `ys` (rows, patient y) x `xs` (columns, patient x) at height z."""

    def __init__(self, xs: F32, ys: F32, z: float, fill: float = -1000.0) -> None:
        self.xs, self.ys, self.z = xs, ys, z
        self.hu: F32 = np.full((ys.size, xs.size), fill, np.float32)
        self.step = float(xs[1] - xs[0])

    def window(self, x0: float, x1: float, y0: float, y1: float) -> Window | None:
        i0, i1 = np.searchsorted(self.xs, x0), np.searchsorted(self.xs, x1, side="right")
        j0, j1 = np.searchsorted(self.ys, y0), np.searchsorted(self.ys, y1, side="right")
        if i0 >= i1 or j0 >= j1:
            return None
        return slice(int(j0), int(j1)), slice(int(i0), int(i1))

    def grid(self, win: Window) -> tuple[F32, F32]:
        """The x (1, w) and y (h, 1) coordinates of a window, for broadcasting."""
        return self.xs[win[1]][None, :], self.ys[win[0]][:, None]

    def ellipse(self, cx: float, cy: float, a: float, b: float) -> tuple[Window, Mask] | None:
        """The window and mask of the axis-aligned ellipse with semi-axes a (x) and b (y)."""
        if a <= 0 or b <= 0:
            return None
        win = self.window(cx - a, cx + a, cy - b, cy + b)
        if win is None:
            return None
        x, y = self.grid(win)
        return win, ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 < 1.0

    def fill_ellipse(self, cx: float, cy: float, a: float, b: float, hu: float) -> None:
        shape = self.ellipse(cx, cy, a, b)
        if shape is not None:
            self.hu[shape[0]][shape[1]] = hu

    def blend(self, win: Window, coverage: F32, hu: float | F32, where: Mask | None = None) -> None:
        """Mix `hu` into the window by a 0..1 coverage (partial volume at the edges)."""
        if where is not None:
            coverage = coverage * where[win]
        view = self.hu[win]
        view += coverage * (hu - view)


@dataclass(frozen=True)
class Tube:
    """A straight vessel or airway piece: centre line p0 -> p1 (mm), radius r0 -> r1 (mm)."""

    p0: tuple[float, float, float]
    p1: tuple[float, float, float]
    r0: float
    r1: float

    def distance(self, x: F32, y: F32, z: float | F32) -> tuple[F32, F32]:
        """Distance from points to the centre line and the tube's radius at the nearest centre point."""
        (x0, y0, z0), (x1, y1, z1) = self.p0, self.p1
        vx, vy, vz = x1 - x0, y1 - y0, z1 - z0
        t = ((x - x0) * vx + (y - y0) * vy + (z - z0) * vz) / max(vx * vx + vy * vy + vz * vz, 1e-9)
        t = np.clip(t, 0.0, 1.0)
        d = np.sqrt((x - x0 - t * vx) ** 2 + (y - y0 - t * vy) ** 2 + (z - z0 - t * vz) ** 2)
        return d.astype(np.float32), (self.r0 + t * (self.r1 - self.r0)).astype(np.float32)

    def slice_window(self, canvas: Canvas, grow: float = 0.0) -> Window | None:
        """The window of the canvas this tube (radius + grow) touches, or None."""
        (x0, y0, z0), (x1, y1, z1) = self.p0, self.p1
        r = max(self.r0, self.r1) + grow + canvas.step
        z = canvas.z
        if z < min(z0, z1) - r or z > max(z0, z1) + r:
            return None
        dz = z1 - z0
        if abs(dz) < 1e-6:
            ta, tb = 0.0, 1.0
        else:
            ta, tb = sorted(((z - r - z0) / dz, (z + r - z0) / dz))
            ta, tb = max(ta, 0.0), min(tb, 1.0)
        xa, xb = x0 + ta * (x1 - x0), x0 + tb * (x1 - x0)
        ya, yb = y0 + ta * (y1 - y0), y0 + tb * (y1 - y0)
        return canvas.window(min(xa, xb) - r, max(xa, xb) + r, min(ya, yb) - r, max(ya, yb) + r)

    def coverage(self, canvas: Canvas, grow: float = 0.0) -> tuple[Window, F32] | None:
        """Soft 0..1 coverage of the tube (radius + grow) on the canvas, edge half a pixel wide."""
        win = self.slice_window(canvas, grow)
        if win is None:
            return None
        x, y = canvas.grid(win)
        d, r = self.distance(x, y, canvas.z)
        return win, np.clip(0.5 + (r + grow - d) / canvas.step, 0.0, 1.0).astype(np.float32)

    def length(self) -> float:
        return float(np.linalg.norm(np.subtract(self.p1, self.p0)))


def paint_tube(canvas: Canvas, tube: Tube, hu: float, *, grow: float = 0.0, where: Mask | None = None) -> None:
    cov = tube.coverage(canvas, grow)
    if cov is not None:
        canvas.blend(cov[0], cov[1], hu, where)
