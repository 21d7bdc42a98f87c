"""The chest of one synthetic patient: body wall, ribs, spine, heart, mediastinum and lungs, in patient
coordinates (LPS, mm; z grows toward the head). Shapes only; vessels and nodules are painted on top."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.dicom.synthetic.canvas import Canvas, Mask, Tube, paint_tube

AIR, FAT, MUSCLE, BLOOD, MYOCARDIUM, LIVER, SPLEEN = -1000.0, -95.0, 45.0, 40.0, 52.0, 58.0, 44.0
LUNG, BONE, MARROW, CARTILAGE, DISC, CSF = -865.0, 720.0, 230.0, 120.0, 80.0, 15.0


@dataclass(frozen=True)
class Anatomy:
    """Sizes drawn once per patient; `paint` renders one axial slice and returns its lung mask."""

    body_a: float  # half-width of the body outline (left-right)
    body_b: float  # half-depth (front-back)
    apex_z: float  # top of the lungs
    lung_len: float  # apex to the deepest costophrenic recess
    heart_scale: float
    rib_phase: float

    @classmethod
    def draw(cls, rng: np.random.Generator) -> Anatomy:
        return cls(body_a=float(rng.uniform(150, 168)), body_b=float(rng.uniform(102, 114)),
                   apex_z=float(rng.uniform(-70, -50)), lung_len=float(rng.uniform(225, 240)),
                   heart_scale=float(rng.uniform(0.92, 1.08)), rib_phase=float(rng.uniform(0, 25)))

    # -- derived sizes -------------------------------------------------------------------------
    @property
    def cavity(self) -> tuple[float, float, float]:
        """Inner thoracic cavity: centre y, semi-axes a, b."""
        return -4.0, self.body_a - 24.0, self.body_b - 22.0

    @property
    def spine_y(self) -> float:
        return self.body_b - 50.0

    def level(self, fraction: float) -> float:
        """The z of a fraction of the lung length below the apex."""
        return self.apex_z - fraction * self.lung_len

    def dome_z(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Height of the diaphragm under (x, y): the right dome sits higher than the left."""
        top = np.where(x < 0, self.level(0.70), self.level(0.76))
        cx = np.where(x < 0, -45.0, 50.0)
        return top - 0.0085 * ((x - cx) ** 2 + (y + 5.0) ** 2)

    def heart(self) -> tuple[float, float, float, float, float, float]:
        s = self.heart_scale
        return 18.0, -30.0, self.level(0.70), 62.0 * s, 47.0 * s, 50.0 * s

    def mediastinal_tubes(self) -> list[tuple[Tube, float, float]]:
        """(tube, HU, wall thickness) of the great vessels, airways and oesophagus."""
        top, lv = self.apex_z + 40.0, self.level
        hz = self.heart()[2] + 38.0
        carina = (0.0, 12.0, lv(0.36))
        arch_a, arch_b = (9.0, -26.0, lv(0.25)), (22.0, 36.0, lv(0.25))
        trunk_top = (4.0, -18.0, lv(0.44))
        return [
            (Tube((0.0, 8.0, top), carina, 9.0, 8.5), AIR, 2.0),
            (Tube(carina, (-36.0, 14.0, lv(0.44)), 6.5, 5.5), AIR, 1.5),
            (Tube(carina, (38.0, 18.0, lv(0.47)), 6.0, 5.0), AIR, 1.5),
            (Tube((12.0, -32.0, hz), arch_a, 15.0, 14.0), BLOOD, 0.0),
            (Tube(arch_a, (13.0, 6.0, lv(0.20)), 13.5, 13.0), BLOOD, 0.0),
            (Tube((13.0, 6.0, lv(0.20)), arch_b, 13.0, 12.5), BLOOD, 0.0),
            (Tube(arch_b, (16.0, 46.0, lv(1.1)), 12.5, 11.5), BLOOD, 0.0),
            (Tube((-27.0, -16.0, top), (-25.0, -20.0, lv(0.62)), 9.0, 10.0), BLOOD, 0.0),
            (Tube((8.0, -42.0, lv(0.62)), trunk_top, 13.0, 12.0), BLOOD, 0.0),
            (Tube(trunk_top, (-44.0, 2.0, lv(0.45)), 10.0, 9.0), BLOOD, 0.0),
            (Tube(trunk_top, (44.0, 10.0, lv(0.42)), 10.0, 9.0), BLOOD, 0.0),
            (Tube((3.0, 30.0, top), (12.0, 30.0, lv(1.1)), 7.0, 7.0), MUSCLE, 0.0),
        ]

    def hila(self) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        """Where the right and left pulmonary arteries enter the lungs."""
        return (-44.0, 2.0, self.level(0.45)), (44.0, 10.0, self.level(0.42))

    # -- painting --------------------------------------------------------------------------------
    def paint(self, c: Canvas) -> Mask:
        """Paint the anatomy of slice z = c.z and return where the lungs are."""
        t = (self.apex_z - c.z) / self.lung_len
        taper = float(np.clip(0.86 + 0.6 * (t + 0.05), 0.86, 1.0))
        cy, ca, cb = self.cavity
        ca *= taper
        self._paint_table(c)
        c.fill_ellipse(0.0, 0.0, self.body_a * taper, self.body_b, FAT)
        c.fill_ellipse(0.0, -1.0, self.body_a * taper - 10.0, self.body_b - 9.0, MUSCLE)
        cav = c.ellipse(0.0, cy, ca, cb)
        assert cav is not None
        win, inside = cav
        x, y = c.grid(win)
        below = c.z < self.dome_z(x, y) if c.z < self.level(0.70) else np.zeros(inside.shape, bool)
        view = c.hu[win]
        view[inside] = FAT
        view[inside & below] = np.broadcast_to(np.where(x < 15, LIVER, SPLEEN), below.shape)[inside & below]
        for sx in (-1.0, 1.0):
            c.fill_ellipse(sx * 30.0, self.spine_y + 30.0, 22.0, 27.0, MUSCLE)
        self._paint_ribs(c, t, ca, cb, cy)
        lungs = self._lung_mask(c, t, ca, cb, cy)
        grad = (LUNG + 40.0 * (c.ys[:, None] / cb)).astype(np.float32)
        np.copyto(c.hu, np.broadcast_to(grad, c.hu.shape), where=lungs)
        self._paint_heart(c)
        for tube, hu, wall in self.mediastinal_tubes():
            if wall:
                paint_tube(c, tube, MUSCLE, grow=wall)
            paint_tube(c, tube, hu)
        self._paint_spine(c, t)
        return lungs

    def _paint_table(self, c: Canvas) -> None:
        win = c.window(-200.0, 200.0, self.body_b + 4.0, self.body_b + 40.0)
        if win is None:
            return
        x, y = c.grid(win)
        top = self.body_b + 6.0 + 0.0012 * x**2
        c.hu[win][(y > top) & (y < top + 5.0)] = 180.0
        c.hu[win][(y > top + 5.0) & (y < top + 22.0)] = -850.0
        c.hu[win][(y > top + 22.0) & (y < top + 25.0)] = 180.0

    def _paint_ribs(self, c: Canvas, t: float, ca: float, cb: float, cy: float) -> None:
        if not -0.08 < t < 1.02:
            return
        win = c.window(-ca * 1.09, ca * 1.09, cy - cb * 1.09, cy + cb * 1.09)
        assert win is not None
        x, y = c.grid(win)
        rho = np.sqrt((x / ca) ** 2 + ((y - cy) / cb) ** 2)
        ring = (rho > 1.0) & (rho < 1.055)
        # Ribs run down and forward: a posterior rib sits ~120 mm above its anterior end.
        phase = (c.z - self.apex_z + self.rib_phase - 62.0 * ((y - cy) / cb)) / 26.0
        band = np.abs(phase - np.round(phase)) < 0.17
        rib = ring & band & (np.abs(x) > 14.0)
        core = rib & (np.abs(rho - 1.0275) < 0.012)
        view = c.hu[win]
        view[rib] = np.broadcast_to(np.where(y < cy - 0.45 * cb, CARTILAGE, BONE), rib.shape)[rib]
        view[core & (y >= cy - 0.45 * cb)] = MARROW
        if t < 0.82:
            c.fill_ellipse(0.0, cy - cb - 5.0, 17.0, 6.5, 320.0)

    def _lung_mask(self, c: Canvas, t: float, ca: float, cb: float, cy: float) -> Mask:
        lungs = np.zeros(c.hu.shape, bool)
        if t < -0.03:
            return lungs
        g = float(np.sqrt(np.clip((t + 0.03) / 0.30, 0.0, 1.0)))
        for sx in (-1.0, 1.0):
            shape = c.ellipse(sx * ca * 0.5, cy + 4.0, ca * 0.5 * g, cb * 0.94 * g)
            if shape is not None:
                lungs[shape[0]] |= shape[1]
        x, y = c.xs[None, :], c.ys[:, None]
        lungs &= ((x / (ca * 0.97)) ** 2 + ((y - cy) / (cb * 0.96)) ** 2) < 1.0
        if c.z < self.level(0.70):
            lungs &= c.z > self.dome_z(x, y)
        lungs &= np.abs(x) > 2.0
        hx, hy, hz, ha, hb, hc = self.heart()
        s2 = 1.0 - ((c.z - hz) / hc) ** 2
        if s2 > 0:
            heart = c.ellipse(hx, hy, ha * np.sqrt(s2) + 6.0, hb * np.sqrt(s2) + 6.0)
            if heart is not None:
                lungs[heart[0]] &= ~heart[1]
        for tube, _hu, wall in self.mediastinal_tubes():
            cov = tube.coverage(c, grow=wall + 3.0)
            if cov is not None:
                lungs[cov[0]] &= cov[1] < 0.01
        spine = c.ellipse(0.0, self.spine_y + 12.0, 34.0, 38.0)
        if spine is not None:
            lungs[spine[0]] &= ~spine[1]
        return lungs

    def _paint_heart(self, c: Canvas) -> None:
        hx, hy, hz, ha, hb, hc = self.heart()
        s2 = 1.0 - ((c.z - hz) / hc) ** 2
        if s2 <= 0:
            return
        s = float(np.sqrt(s2))
        c.fill_ellipse(hx, hy, ha * s + 4.0, hb * s + 4.0, -80.0)
        c.fill_ellipse(hx, hy, ha * s, hb * s, MYOCARDIUM)
        c.fill_ellipse(hx - 4.0, hy + 2.0, ha * s - 11.0, hb * s - 10.0, BLOOD)

    def _paint_spine(self, c: Canvas, t: float) -> None:
        sy = self.spine_y
        disc = abs(((c.z - self.apex_z) / 27.0) % 1.0 - 0.5) < 0.09
        c.fill_ellipse(0.0, sy, 18.0, 16.0, DISC if disc else BONE)
        if not disc:
            c.fill_ellipse(0.0, sy, 15.5, 13.5, MARROW)
        c.fill_ellipse(0.0, sy + 34.0, 25.0, 8.0, BONE)
        c.fill_ellipse(0.0, sy + 48.0, 5.0, 12.0, BONE)
        c.fill_ellipse(0.0, sy + 25.0, 8.5, 8.0, CSF)
