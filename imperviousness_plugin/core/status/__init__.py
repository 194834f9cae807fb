"""ATBD 4.3.2, 4.4.2: sealing mask, IMD calibration, built-up thresholding."""
