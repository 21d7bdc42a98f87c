"""Chest CT studies of a phantom: a thin lung-kernel series and a thick mediastinal series, for the current
study and the prior one a year earlier, with the geometry of a real axial acquisition (head first supine)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from pydicom import Dataset
from pydicom.uid import CTImageStorage

from backend.dicom.synthetic.canvas import F32
from backend.dicom.synthetic.headers import (
    PatientKey,
    StudyKey,
    add_patient_study,
    add_pixel_module,
    add_series,
    instance_of,
    make_uid,
    new_instance,
    set_pixels,
    study_uid,
)
from backend.dicom.synthetic.phantom import ChestPhantom, Geometry, NoisePool, TimePoint, blur, seed_sequence

INTERCEPT = -1024.0
THICK_GROUP = 4  # thin slices averaged into one thick slice


@dataclass(frozen=True)
class SeriesPlan:
    """One reconstructed series: kernel, slice spacing (= thickness), noise and description."""

    number: int
    description: str
    kernel: str
    spacing_mm: float
    noise_hu: float
    smooth: bool  # soft kernel
    window: tuple[float, float]  # centre, width shown first


LUNG = SeriesPlan(2, "Lung 1.25 mm", "LUNG", 1.25, 10.0, False, (-600.0, 1500.0))
MEDIASTINUM = SeriesPlan(3, "Mediastinum 5 mm", "STANDARD", 5.0, 5.0, True, (40.0, 400.0))


@dataclass(frozen=True)
class CtStudy:
    patient: PatientKey
    study: StudyKey
    when: TimePoint


def chest_ct_studies(phantom: ChestPhantom, studies: list[CtStudy], *, uid_root: str,
                     geometry: Geometry | None = None, z_range: tuple[float, float] | None = None,
                     ) -> Iterator[list[Dataset]]:
    """Each study's instances (thin lung series, then thick mediastinal), one list per study.

    The anatomy of a slice is painted once for all the studies; each study gets its own nodules and noise.
    `z_range` (top, bottom) and a coarser `geometry` make small series for tests."""
    geometry = geometry or Geometry()
    whens = tuple(s.when for s in studies)
    builders = [_StudyBuilder(phantom, s, uid_root, geometry) for s in studies]
    top, bottom = z_range or (phantom.z_top, phantom.z_bottom)
    zs = top - LUNG.spacing_mm * np.arange(int((top - bottom) / LUNG.spacing_mm) + 1)
    zs = zs[: len(zs) - len(zs) % THICK_GROUP]
    sums: list[F32] = [np.zeros((geometry.matrix,) * 2, np.float32) for _ in studies]
    for k, z in enumerate(zs):
        for b, total, hu in zip(builders, sums, phantom.render_many(float(z), geometry, whens), strict=True):
            b.add(LUNG, k, float(z), hu)
            total += hu
        if k % THICK_GROUP == THICK_GROUP - 1:
            z_thick = float(np.mean(zs[k - THICK_GROUP + 1: k + 1]))
            for b, total in zip(builders, sums, strict=True):
                b.add(MEDIASTINUM, k // THICK_GROUP, z_thick, total / np.float32(THICK_GROUP))
                total[:] = 0.0
    for b in builders:
        yield b.instances


class _StudyBuilder:
    def __init__(self, phantom: ChestPhantom, spec: CtStudy, root: str, geometry: Geometry) -> None:
        self.spec, self.root, self.geometry, self.seed = spec, root, geometry, phantom.seed
        self.study_uid = study_uid(root, phantom.seed, spec.patient, spec.study)
        self.frame_uid = make_uid(root, phantom.seed, self.study_uid, "frame")
        self.rng = np.random.default_rng(seed_sequence(phantom.seed, spec.patient.patient_id, spec.when, "noise"))
        self.noise = {plan.number: NoisePool(self.rng, plan.noise_hu, geometry.matrix) for plan in (LUNG, MEDIASTINUM)}
        self.templates: dict[int, Dataset] = {}
        self.instances: list[Dataset] = []

    def add(self, plan: SeriesPlan, index: int, z: float, hu: F32) -> None:
        if plan.smooth:
            hu = blur(blur(hu))
        hu = self.noise[plan.number].add(hu, self.rng)
        stored = np.clip(np.rint(hu) - INTERCEPT, 0, 4095).astype(np.int16)
        template = self.templates.get(plan.number) or self._template(plan)
        series_uid = template.SeriesInstanceUID
        ds = instance_of(template, make_uid(self.root, self.seed, series_uid, str(index)))
        ds.add_new(0x00200013, "IS", index + 1)
        ds.add_new(0x00200032, "DS", [template.ImagePositionPatient[0], template.ImagePositionPatient[1], f"{z:.10g}"])
        ds.add_new(0x00201041, "DS", f"{z:.10g}")
        set_pixels(ds, stored)
        self.instances.append(ds)

    def _template(self, plan: SeriesPlan) -> Dataset:
        spec, g = self.spec, self.geometry
        series_uid = make_uid(self.root, self.seed, self.study_uid, str(plan.number))
        at = spec.study.at + timedelta(seconds=30)
        ds = new_instance(CTImageStorage, series_uid, at)
        add_patient_study(ds, spec.patient, spec.study, self.study_uid)
        add_series(ds, modality="CT", uid=series_uid, number=plan.number, description=plan.description, at=at,
                   station="CT01")
        _ct_modules(ds, plan, g, at)
        ds.FrameOfReferenceUID = self.frame_uid
        add_pixel_module(ds, g.matrix, g.matrix, bits_stored=16, signed=True)
        self.templates[plan.number] = ds
        return ds


def _ct_modules(ds: Dataset, plan: SeriesPlan, g: Geometry, at: datetime) -> None:
    """Frame of Reference, Image Plane, CT Image and VOI LUT modules of an axial series (z set per slice)."""
    half = g.fov_mm / 2 - g.pixel_mm / 2
    ds.BodyPartExamined = "CHEST"
    ds.PatientPosition = "HFS"
    ds.ProtocolName = "Chest routine"
    ds.PositionReferenceIndicator = ""
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.AcquisitionNumber = 1
    ds.ImagePositionPatient = [f"{-half:.10g}", f"{-half:.10g}", "0"]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [f"{g.pixel_mm:.10g}", f"{g.pixel_mm:.10g}"]
    ds.SliceThickness = plan.spacing_mm
    ds.SpacingBetweenSlices = plan.spacing_mm
    ds.KVP = 120
    ds.XRayTubeCurrent = 180
    ds.ExposureTime = 500
    ds.ConvolutionKernel = plan.kernel
    ds.ReconstructionDiameter = g.fov_mm
    ds.GantryDetectorTilt = 0
    ds.TableHeight = 150
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = INTERCEPT, 1, "HU"
    ds.WindowCenter = [plan.window[0], 40.0 if plan.window[0] < 0 else -600.0]
    ds.WindowWidth = [plan.window[1], 400.0 if plan.window[0] < 0 else 1500.0]
    ds.WindowCenterWidthExplanation = ["LUNG", "MEDIASTINUM"] if plan.window[0] < 0 else ["MEDIASTINUM", "LUNG"]
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
