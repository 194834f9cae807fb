"""imperviousness:changemask: CHM, hysteresis thresholds on RMSD per EEA 100 km tile (ATBD 4.2.5)."""

from ..core.features.changemask import ChangeMaskOptions, run_changemask
from ..steps import catalogue
from .base import Group, ImperviousnessAlgorithm


class ChangeMaskAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.CHANGEMASK
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
