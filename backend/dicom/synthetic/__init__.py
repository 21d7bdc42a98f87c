"""Synthetic DICOM images for the demo and the tests: chest CT with known nodules and a prior a year earlier,
chest radiographs and mammograms, all generated deterministically from a seed (issue 10 item 7).

`demo_studies(seed, patients)` is the entry point; `nodule_truth(seed, patient_id)` gives the ground truth.
"""

from backend.dicom.synthetic.demo import DemoPatient, demo_studies, example_patients, nodule_truth
from backend.dicom.synthetic.headers import UID_ROOT, PatientKey, StudyKey
from backend.dicom.synthetic.nodules import NoduleTruth

__all__ = ["UID_ROOT", "DemoPatient", "NoduleTruth", "PatientKey", "StudyKey", "demo_studies", "example_patients",
           "nodule_truth"]
