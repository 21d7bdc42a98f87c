"""The lung-nodule reconstruction system (LN-7), emulated: a DICOM node (AE title RECON) that receives a CT
series by C-STORE and returns one targeted small-field-of-view series per nodule it finds, by C-STORE, in one
association that it releases when all are sent (docs/recon_interface.md). `emulator.py` is the node,
`reconstruction.py` the maths (volume, nodule finding, resampling), `results.py` the derived instances."""
