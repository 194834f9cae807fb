"""imperviousness:aligngrid: pad a raster outward onto the kilometre grid (SPEC 11, EEA origin check)."""

from ..core.products.align import run_align_grid
from ..steps import catalogue
from .base import Group, ImperviousnessAlgorithm


class AlignGridAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.ALIGNGRID
    DISPLAY_NAME = "Align to the kilometre grid"
    GROUP = Group.FEATURES
    ATBD = "-"
    SUMMARY = "pads a raster outward with nodata so that its edges lie on whole kilometres (no resampling)"
    DESCRIPTION = (
        "Pads a raster outward with nodata so that all four of its edges lie on whole multiples "
        "of ALIGNMENT metres (default 1000: the EEA's 1 km grid, whose corners the QC tool's "
        "origin check wants). The shipped models start with this step on IMD_A, IBU_A and the "
        "CLCplus layers, so that the PP stacks and every product share a grid whose origin and "
        "extent are on whole kilometres.\n\n"
        "The pixels inside are copied unchanged (no resampling); the padding is the band's "
        "declared nodata. A raster that declares none is padded with NODATA, which then becomes "
        "its declared nodata (e.g. 255 for an HRL layer whose 255 means outside the area); without "
        "NODATA a floating-point raster is padded with NaN and an integer one is refused, so that "
        "real values (a real 255) never silently become nodata. Band descriptions, the colour table, the metadata and a "
        "QML style beside the input are kept. Refused: a rotated raster, pixels that do not "
        "divide ALIGNMENT, and an origin that is not on whole multiples of the pixel size (such "
        "a raster cannot be padded without resampling).\n\n"
        "With GRID (optional), the output takes the extent of that raster instead, which must be "
        "on the same pixels and cover the input: the models pad the PP stacks onto the aligned "
        "IMD_A this way (preprocess keeps only the part of the extent the scenes cover).")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        grid = self.raster_path(parameters, self.GRID, context) if parameters.get(self.GRID) else None
        nodata = None
        if parameters.get(self.NODATA) not in (None, ""):
            nodata = self.parameterAsDouble(parameters, self.NODATA, context)
        self.run_core(run_align_grid, self.raster_path(parameters, self.INPUT, context), output,
                      self.parameterAsDouble(parameters, self.ALIGNMENT, context), grid,
                      feedback=feedback, nodata=nodata)
        return {self.OUTPUT: output}
