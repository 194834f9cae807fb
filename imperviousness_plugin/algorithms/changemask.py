"""imperviousness:changemask: CHM, hysteresis thresholds on RMSD per EEA 100 km tile (ATBD 4.2.5)."""

from qgis.core import (QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer)

from ..core.features.changemask import (DEFAULT_LOWER_PERCENTILE, DEFAULT_MIN_SIZE, DEFAULT_UPPER_PERCENTILE,
                               ChangeMaskOptions, run_changemask)
from .base import ImperviousnessAlgorithm


class ChangeMaskAlgorithm(ImperviousnessAlgorithm):
    NAME = "changemask"
    DISPLAY_NAME = "Change mask (CHM)"
    GROUP_ID = "features"
    GROUP = "1 Features and change mask"
    HELP = (
        "The change mask CHM from RMSD_A_B (ATBD 4.2.5): pixels whose NDVI behaviour changed "
        "markedly between the two years.\n\n"
        "<b>Thresholds per tile</b>: within each EEA 100 km tile (cells of 100 km aligned to "
        "multiples of 100 000 m in the raster's CRS; in EPSG:3035 these are the EEA reference grid "
        "cells, e.g. 100kmE44N29; a geographic CRS is refused), the lower threshold is the "
        "LOWER_PERCENTILE (97.5) and the upper the UPPER_PERCENTILE (99) percentile of the tile's "
        "valid RMSD values (linear interpolation, as numpy.percentile). LOWER_THRESHOLD and "
        "UPPER_THRESHOLD, when given, replace the respective percentile by an absolute RMSD value "
        "in every tile.\n\n"
        "<b>Patches</b>: 8-connected groups of pixels with RMSD >= lower (and > 0: identical curves "
        "are never change). A patch is kept when one of its pixels reaches the upper threshold "
        "(hysteresis), then kept patches smaller than MIN_SIZE pixels are removed. Each tile is "
        "processed on its own, so memory is bounded by one tile, and a patch crossing a tile "
        "border is judged separately on each side.\n\n"
        "<b>Output</b>: Byte, 1 = change, 0 = no change, 255 = no data (RMSD missing, or a tile "
        "without any valid pixel). The thresholds of every tile are reported in the log and, "
        "optionally, in a JSON or CSV file (tile id and bounds, valid pixels, lower, upper, "
        "patches kept, pixels flagged).")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", self.tr("RMSD raster")))
        for name, label, default in (
                ("LOWER_PERCENTILE", "Lower threshold percentile", DEFAULT_LOWER_PERCENTILE),
                ("UPPER_PERCENTILE", "Upper threshold percentile", DEFAULT_UPPER_PERCENTILE)):
            self.addParameter(QgsProcessingParameterNumber(
                name, self.tr(label), QgsProcessingParameterNumber.Double, default,
                minValue=0.0, maxValue=100.0))
        self.addParameter(QgsProcessingParameterNumber(
            "MIN_SIZE", self.tr("Minimum patch size (pixels)"), QgsProcessingParameterNumber.Integer,
            DEFAULT_MIN_SIZE, minValue=1))
        for name, label in (("LOWER_THRESHOLD", "Absolute lower threshold (replaces the percentile)"),
                            ("UPPER_THRESHOLD", "Absolute upper threshold (replaces the percentile)")):
            self.addParameter(QgsProcessingParameterNumber(
                name, self.tr(label), QgsProcessingParameterNumber.Double, optional=True))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", self.tr("Change mask")))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_THRESHOLDS", self.tr("Thresholds per tile"), self.tr("JSON (*.json);;CSV (*.csv)"),
            optional=True, createByDefault=False))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        options = ChangeMaskOptions(
            lower_percentile=self.parameterAsDouble(parameters, "LOWER_PERCENTILE", context),
            upper_percentile=self.parameterAsDouble(parameters, "UPPER_PERCENTILE", context),
            min_size=self.parameterAsInt(parameters, "MIN_SIZE", context),
            lower_threshold=self._optional_number(parameters, "LOWER_THRESHOLD", context),
            upper_threshold=self._optional_number(parameters, "UPPER_THRESHOLD", context))
        source = self.raster_path(parameters, "INPUT", context)
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        thresholds = None
        if parameters.get("OUTPUT_THRESHOLDS") not in (None, ""):
            thresholds = self.parameterAsFileOutput(parameters, "OUTPUT_THRESHOLDS", context) or None
        self.run_core(run_changemask, source, output, options, thresholds, feedback)
        results = {"OUTPUT": output}
        if thresholds:
            results["OUTPUT_THRESHOLDS"] = thresholds
        return results

    def _optional_number(self, parameters, name, context):
        if parameters.get(name) in (None, ""):
            return None
        return self.parameterAsDouble(parameters, name, context)
