"""DICOM transport and conversion: the pynetdicom services (store, query/retrieve, worklist, MPPS), the
archive's file storage and the tag mapping between datasets and our records (DESIGN.md 4)."""
