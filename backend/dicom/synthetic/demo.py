"""The demo's images: for each patient the caller registered, a chest CT with its prior a year earlier,
a chest radiograph or a mammography screening, generated deterministically from one seed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import numpy as np
from pydicom import Dataset

from backend.dicom.synthetic.ct import CtStudy, chest_ct_studies
from backend.dicom.synthetic.headers import (
    UID_ROOT,
    PatientKey,
    StudyKey,
    add_patient_study,
    add_series,
    make_uid,
    study_uid,
)
from backend.dicom.synthetic.nodules import NoduleTruth
from backend.dicom.synthetic.phantom import ChestPhantom, TimePoint, seed_sequence
from backend.dicom.synthetic.radiographs import (
    DX_STORAGE,
    MG_STORAGE,
    add_dx_modules,
    add_mg_modules,
    chest_pa_pixels,
    mammogram_pixels,
    projection_instance,
)

StudyKind = Literal["chest_ct", "dx", "mg"]
SITE = ZoneInfo("Asia/Shanghai")
MG_VIEWS = (("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO"))


@dataclass(frozen=True)
class DemoPatient:
    """What the caller asks for one patient: its identity, the study kind and the study (accession, time).

    A chest CT also gets its prior study: `prior` if given, else the same time one year earlier (365 days)
    with an empty accession number."""

    key: PatientKey
    kind: StudyKind
    study: StudyKey
    prior: StudyKey | None = None

    def prior_study(self) -> StudyKey:
        if self.prior is not None:
            return self.prior
        return StudyKey(accession="", at=self.study.at - timedelta(days=365), description=self.study.description)


def demo_studies(seed: int, patients: Sequence[DemoPatient], *,
                 uid_root: str = UID_ROOT) -> Iterator[tuple[PatientKey, list[Dataset]]]:
    """Every study of the demo patients, one (patient, instances) pair per study; a chest CT patient yields
    the current study, then the prior. The same seed and patients give the same bytes."""
    for p in patients:
        if p.kind == "chest_ct":
            phantom = ChestPhantom(seed, p.key.patient_id)
            specs = [CtStudy(p.key, p.study, "current"), CtStudy(p.key, p.prior_study(), "prior")]
            for instances in chest_ct_studies(phantom, specs, uid_root=uid_root):
                yield p.key, instances
        elif p.kind == "dx":
            yield p.key, [_dx(seed, p, uid_root)]
        else:
            yield p.key, _mg(seed, p, uid_root)


def nodule_truth(seed: int, patient_id: str, when: TimePoint = "current") -> list[NoduleTruth]:
    """The ground truth of a chest CT patient's nodules (see NoduleTruth), for tests and checks."""
    return ChestPhantom(seed, patient_id).nodules(when)


def _dx(seed: int, p: DemoPatient, root: str) -> Dataset:
    rng = np.random.default_rng(seed_sequence(seed, p.key.patient_id, p.study.accession, "dx"))
    uid = study_uid(root, seed, p.key, p.study)
    series = make_uid(root, seed, uid, "1")
    ds = projection_instance(DX_STORAGE, make_uid(root, seed, series, "1"), p.study.at, chest_pa_pixels(rng))
    _common(ds, p, uid, series, modality="DX", description="Chest PA", number=1)
    add_dx_modules(ds)
    return ds


def _mg(seed: int, p: DemoPatient, root: str) -> list[Dataset]:
    rng = np.random.default_rng(seed_sequence(seed, p.key.patient_id, p.study.accession, "mg"))
    uid = study_uid(root, seed, p.key, p.study)
    series = make_uid(root, seed, uid, "1")
    out = []
    for n, (side, view) in enumerate(MG_VIEWS, start=1):
        pixels = mammogram_pixels(rng, laterality=side, view=view)
        ds = projection_instance(MG_STORAGE, make_uid(root, seed, series, str(n)), p.study.at, pixels)
        _common(ds, p, uid, series, modality="MG", description="Screening mammography", number=1)
        ds.InstanceNumber = n
        add_mg_modules(ds, laterality=side, view=view)
        out.append(ds)
    return out


def _common(ds: Dataset, p: DemoPatient, uid: str, series: str, *, modality: str, description: str,
            number: int) -> None:
    add_patient_study(ds, p.key, p.study, uid)
    add_series(ds, modality=modality, uid=series, number=number, description=description, at=p.study.at,
               station=f"{modality}01")
    ds.ManufacturerModelName = f"{modality} phantom"
    ds.InstanceNumber = 1


def example_patients(count: int, *, kinds: Sequence[StudyKind] = ("chest_ct",)) -> list[DemoPatient]:
    """Made-up patients for benches and tests (the demo seed passes its own registered patients)."""
    out = []
    for i in range(count):
        key = PatientKey(f"SYN{i + 1:05d}", f"测试^患者{i + 1}", "MF"[i % 2], date(1958 + i, 3 + i % 9, 10 + i))
        at = datetime(2026, 11, 20, 9, 30, tzinfo=SITE) + timedelta(hours=i)
        study = StudyKey(f"SYNACC{i + 1:06d}", at, "CT Chest")
        out.append(DemoPatient(key, kinds[i % len(kinds)], study))
    return out
