"""imperviousness:changemask: CHM, hysteresis thresholds on RMSD per EEA 100 km tile (ATBD 4.2.5)."""

from qgis.core import (QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer)

from .. import compat
from ..core.features.changemask import (DEFAULT_LOWER_PERCENTILE, DEFAULT_MIN_SIZE, DEFAULT_UPPER_PERCENTILE,
                               ChangeMaskOptions, run_changemask)
from .base import Group, ImperviousnessAlgorithm


class ChangeMaskAlgorithm(ImperviousnessAlgorithm):
    NAME = "changemask"
    REQUIRES = ("cv2",)
    DISPLAY_NAME = "Change mask (CHM)"
    GROUP = Group.FEATURES
    ATBD = "4.2.5"
    SUMMARY = ("CHM: per EEA 100 km tile, 97.5 / 99 percentile hysteresis on 8-connected patches, "
               "sieve below 8 px; optional per-tile thresholds file")
    DESCRIPTION = (
        "The change mask CHM from RMSD_A_B (ATBD 4.2.5): pixels whose NDVI behaviour changed "
        "markedly between the two years.\n\n"
        "Thresholds per tile: within each EEA 100 km tile (cells of 100 km aligned to "
        "multiples of 100 000 m in the raster's CRS; in EPSG:3035 these are the EEA reference grid "
        "cells, e.g. 100kmE44N29; a geographic CRS is refused), the lower threshold is the "
        "LOWER_PERCENTILE (97.5) and the upper the UPPER_PERCENTILE (99) percentile of the tile's "
        "valid RMSD values (linear interpolation, as numpy.percentile). LOWER_THRESHOLD and "
        "UPPER_THRESHOLD, when given, replace the respective percentile by an absolute RMSD value "
        "in every tile.\n\n"
        "Patches: 8-connected groups of pixels with RMSD >= lower (and > 0: identical curves "
        "are never change). A patch is kept when one of its pixels reaches the upper threshold "
        "(hysteresis), then kept patches smaller than MIN_SIZE pixels are removed. Each tile is "
        "processed on its own, so memory is bounded by one tile, and a patch crossing a tile "
        "border is judged separately on each side.\n\n"
        "Output: Byte, 1 = change, 0 = no change, 255 = no data (RMSD missing, or a tile "
        "without any valid pixel). The thresholds of every tile are reported in the log and, "
        "optionally, in a JSON or CSV file (tile id and bounds, valid pixels, lower, upper, "
        "patches kept, pixels flagged).")

    INPUT = "INPUT"
    LOWER_PERCENTILE = "LOWER_PERCENTILE"
    UPPER_PERCENTILE = "UPPER_PERCENTILE"
    MIN_SIZE = "MIN_SIZE"
    LOWER_THRESHOLD = "LOWER_THRESHOLD"
    UPPER_THRESHOLD = "UPPER_THRESHOLD"
    ADVANCED = (LOWER_PERCENTILE, UPPER_PERCENTILE, MIN_SIZE, LOWER_THRESHOLD, UPPER_THRESHOLD)
    OUTPUT = "OUTPUT"
    OUTPUT_THRESHOLDS = "OUTPUT_THRESHOLDS"

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.add_parameter(
            QgsProcessingParameterRasterLayer(self.INPUT, self.tr("RMSD raster")),
            self.tr("RMSD_A_B written by imperviousness:rmsd."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.LOWER_PERCENTILE, self.tr("Lower threshold (percentile of the RMSD, %)"),
                compat.ProcessingNumberParameterType.Double, DEFAULT_LOWER_PERCENTILE, minValue=0.0, maxValue=100.0),
            self.tr("The percentile of a tile's RMSD that starts a patch."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.UPPER_PERCENTILE, self.tr("Upper threshold (percentile of the RMSD, %)"),
                compat.ProcessingNumberParameterType.Double, DEFAULT_UPPER_PERCENTILE, minValue=0.0, maxValue=100.0),
            self.tr("The percentile of a tile's RMSD that one pixel of a kept patch must reach."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.MIN_SIZE, self.tr("Minimum patch size (pixels)"), compat.ProcessingNumberParameterType.Integer,
                DEFAULT_MIN_SIZE, minValue=1),
            self.tr("Kept patches smaller than this many pixels are removed."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.LOWER_THRESHOLD, self.tr("Absolute lower threshold (RMSD, NDVI units; replaces the percentile)"),
                compat.ProcessingNumberParameterType.Double, optional=True),
            self.tr("An RMSD value used as the lower threshold in every tile instead of the percentile."))
        self.add_parameter(
            QgsProcessingParameterNumber(
                self.UPPER_THRESHOLD, self.tr("Absolute upper threshold (RMSD, NDVI units; replaces the percentile)"),
                compat.ProcessingNumberParameterType.Double, optional=True),
            self.tr("An RMSD value used as the upper threshold in every tile instead of the percentile."))
        self.add_parameter(
            QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Change mask")),
            self.tr("The CHM GeoTIFF."))
        self.add_parameter(
            QgsProcessingParameterFileDestination(
                self.OUTPUT_THRESHOLDS, self.tr("Thresholds per tile"), self.tr("JSON (*.json);;CSV (*.csv)"),
                optional=True, createByDefault=False),
            self.tr("The thresholds of every tile as a JSON or CSV file (by its extension)."))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        options = ChangeMaskOptions(
            lower_percentile=self.parameterAsDouble(parameters, self.LOWER_PERCENTILE, context),
            upper_percentile=self.parameterAsDouble(parameters, self.UPPER_PERCENTILE, context),
            min_size=self.parameterAsInt(parameters, self.MIN_SIZE, context),
            lower_threshold=self._optional_number(parameters, self.LOWER_THRESHOLD, context),
            upper_threshold=self._optional_number(parameters, self.UPPER_THRESHOLD, context))
        source = self.raster_path(parameters, self.INPUT, context)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        thresholds = None
        if parameters.get(self.OUTPUT_THRESHOLDS) not in (None, ""):
            thresholds = self.parameterAsFileOutput(parameters, self.OUTPUT_THRESHOLDS, context) or None
        self.run_core(run_changemask, source, output, options, thresholds, feedback)
        results = {self.OUTPUT: output}
        if thresholds:
            results[self.OUTPUT_THRESHOLDS] = thresholds
        return results

    def _optional_number(self, parameters, name, context):
        if parameters.get(name) in (None, ""):
            return None
        return self.parameterAsDouble(parameters, name, context)
