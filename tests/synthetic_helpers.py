"""Small synthetic CT series for tests: a 40 mm slab of the phantom's chest around its largest nodule."""

from __future__ import annotations

from functools import cache

from pydicom import Dataset

from backend.dicom.synthetic import UID_ROOT, NoduleTruth, example_patients
from backend.dicom.synthetic.ct import CtStudy, chest_ct_studies
from backend.dicom.synthetic.phantom import ChestPhantom

SEED = 3
HALF_SLAB_MM = 20.0


@cache
def slab(seed: int = SEED) -> tuple[tuple[Dataset, ...], tuple[NoduleTruth, ...]]:
    """The thin lung series of the slab and the nodules lying wholly inside it."""
    patient = example_patients(1)[0]
    phantom = ChestPhantom(seed, patient.key.patient_id)
    z = max(phantom.current, key=lambda n: n.long_mm).center[2]
    top, bottom = z + HALF_SLAB_MM, z - HALF_SLAB_MM
    study = CtStudy(patient.key, patient.study, "current")
    (instances,) = chest_ct_studies(phantom, [study], uid_root=UID_ROOT, z_range=(top, bottom))
    inside = tuple(n for n in phantom.current if bottom + n.long_mm / 2 + 2 < n.center[2] < top - n.long_mm / 2 - 2)
    return tuple(d for d in instances if d.SeriesNumber == 2), inside
