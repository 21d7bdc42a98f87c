"""Imaging: the archive index of received DICOM studies, matching studies to exams, and serving images.

DICOM transport and conversion live in `backend/dicom/`; this package owns the index rows and the rules
that tie a study to an exam.
"""
