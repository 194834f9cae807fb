"""Numeric core of the HRL Imperviousness plugin.

Nothing in this package imports QGIS: it runs on numpy, GDAL, SciPy, OpenCV and ONNX Runtime only,
so it can be tested, profiled and scripted outside QGIS.
"""
