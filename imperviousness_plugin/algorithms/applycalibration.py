"""imperviousness:applycalibration: IMD of year B from the calibration (ATBD 4.3.2, SPEC 9)."""

from ..core.status.calibration import run_apply_calibration
from ..steps import catalogue
from .base import Group, ImperviousnessAlgorithm
from .calibrate import CALIBRATION_METHOD_HELP


class ApplyCalibrationAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.APPLYCALIBRATION
    DISPLAY_NAME = "Apply the IMD calibration (IMD of year B)"
    GROUP = Group.STATUS
    ATBD = "4.3.2"
    SUMMARY = "IMD_B from NDVI_P0_B inside the year-B mask"
    DESCRIPTION = (
        "Applies a calibration file from imperviousness:calibrate to NDVI_P0 of year B inside the "
        "year-B sealing mask (ATBD 4.3.2, IMD_B).\n\n"
        "Inputs, all on one grid: RAW_IMD (the raw prediction RIMD_B, Byte 0..100, 255 "
        "nodata; it defines where the product has data, and its outline entered the year-B mask), "
        "SEALING_MASK_B (imperviousness:sealingmask with RIMD_B and CLCplus of year B), PP_B (the PP "
        "stack of year B; band NDVI_P0) and CALIBRATION (the JSON file).\n\n"
        "Output IMD_B, Byte: inside the mask IMD = clip(m + (M - m) clip((a + b NDVI_P0) / f_hd, "
        "0, 1), 0, 100) rounded half to even (the calibration's coefficients); 0 outside the mask; "
        "255 where RAW_IMD or the mask is nodata or NDVI_P0 is NaN (no observation that year), also "
        "outside the mask. Official IMD colour table and QML style.\n\n" + CALIBRATION_METHOD_HELP)

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        self.run_core(
            run_apply_calibration, *(self.raster_path(parameters, name, context)
                                     for name in (self.RAW_IMD, self.SEALING_MASK_B, self.PP_B)),
            self.parameterAsFile(parameters, self.CALIBRATION, context), output, feedback=feedback)
        return {self.OUTPUT: output}
