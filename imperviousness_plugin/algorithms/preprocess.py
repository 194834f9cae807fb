"""imperviousness:preprocess: one year of Sentinel-2 L2A to the PP feature stack (ATBD 4.2.1)."""

from qgis.core import (QgsProcessingParameterCrs, QgsProcessingParameterDateTime,
                       QgsProcessingParameterExtent, QgsProcessingParameterFile,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterString)

from ..core.features.preprocess import DEFAULT_SCL_WEIGHTS, PreprocessOptions, parse_scl_weights, run_preprocess
from .base import ImperviousnessAlgorithm


class PreprocessAlgorithm(ImperviousnessAlgorithm):
    NAME = "preprocess"
    DISPLAY_NAME = "Pre-process Sentinel-2 time series (PP)"
    GROUP_ID = "features"
    GROUP = "1 Features and change mask"
    HELP = (
        "Reduces one year of Sentinel-2 L2A acquisitions to the PP feature stack of the HRL "
        "Imperviousness workflow (ATBD 4.2.1).\n\n"
        "<b>Input</b>: a folder holding the acquisitions (or one acquisition; several paths may be "
        "separated by ';'). Each acquisition is a .SAFE folder, a .SAFE.zip file (read in place, "
        "never extracted) or a plain folder named with the date (e.g. S2A_20210314) holding "
        "B02.tif ... B12.tif, B8A.tif and SCL.tif, with an optional metadata.json giving "
        "processing_baseline and boa_add_offset. The acquisitions may belong to several "
        "Sentinel-2 tiles, relative orbits and UTM zones.\n\n"
        "<b>Harmonisation</b>: products of processing baseline 04.00 and later carry "
        "BOA_ADD_OFFSET = -1000; it is applied so that all acquisitions share the pre-04.00 "
        "range.\n\n"
        "<b>Per tile, in its own grid</b>: each tile (acquisitions on one grid) is reduced in "
        "its own CRS and pixels. The 10 m bands and NDVI at 10 m, with the SCL brought to 10 m "
        "by nearest neighbour; B05 B06 B07 B8A B11 B12 at their native 20 m with the native 20 m "
        "SCL (the 20 m quantiles), repeated to 10 m after the reduction, so no cloudy 20 m value "
        "leaks into a clear pixel.\n\n"
        "<b>Resampling</b>: the finished features of each tile are resampled once to the output "
        "grid by nearest neighbour, every band alike (quantiles, Q90_NDVI, the NDVI model "
        "coefficients including the phases, NOBS): no value is interpolated, each output pixel "
        "holds the features of the scene pixel under its centre.\n\n"
        "<b>Several tiles</b>: where tiles overlap, each output pixel takes all its features from "
        "the tile with the most observations (NOBS) there; on a tie, the tile with the lower EPSG "
        "code, then the western, then the northern grid origin. A datatake seen by two tiles is "
        "therefore never counted twice, and there is no gap at tile borders. Without a target "
        "CRS all tiles must share one CRS.\n\n"
        "<b>Weights</b>: each observation is weighted by its SCL class (ATBD Annex 1 Table 6): "
        "twelve numbers for classes 0 to 11. DN 0 (no data) and undefined NDVI get weight 0.\n\n"
        "<b>Output</b> (Float32, NaN = no data), one band each: Q20 of B02 B03 B04 B05 B06 B07 B08 "
        "B8A B11 B12 (surface reflectance, weighted 20 % quantile, inverted CDF), Q90_NDVI, the "
        "NDVI model coefficients NDVI_P0 (annual mean) NDVI_P1..PN (Legendre) NDVI_A1, NDVI_PHI1 .. "
        "(harmonic amplitude and phase), and NOBS (observations with weight > 0). The NDVI model "
        "of order N has 3N+1 coefficients fitted by weighted least squares with a small ridge on "
        "all but the mean, so pixels with few observations get a stable curve instead of inf.\n\n"
        "<b>Grid</b>: by default EPSG:3035 aligned to whole multiples of the pixel size (the EEA "
        "reference grid); leave the target CRS empty to keep the scenes' CRS. The optional extent "
        "clips the output.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        self.addParameter(QgsProcessingParameterFile(
            "INPUT", self.tr("Sentinel-2 L2A acquisitions (folder)"),
            behavior=QgsProcessingParameterFile.Folder))
        for name, label in (("START_DATE", "Start date"), ("END_DATE", "End date")):
            self.addParameter(QgsProcessingParameterDateTime(
                name, self.tr(label), type=QgsProcessingParameterDateTime.Date, optional=True))
        self.addParameter(QgsProcessingParameterExtent("EXTENT", self.tr("Extent"), optional=True))
        self.addParameter(QgsProcessingParameterCrs(
            "TARGET_CRS", self.tr("Target CRS (empty: the scenes' CRS)"), "EPSG:3035", optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            "PIXEL_SIZE", self.tr("Pixel size"), QgsProcessingParameterNumber.Double, 10.0,
            minValue=0.001))
        self.addParameter(QgsProcessingParameterNumber(
            "HARMONIC_ORDER", self.tr("NDVI model order N (3N+1 coefficients)"),
            QgsProcessingParameterNumber.Integer, 3, minValue=1, maxValue=10))
        self.addParameter(QgsProcessingParameterString(
            "SCL_WEIGHTS", self.tr("Weights of SCL classes 0 to 11"),
            ",".join(str(w) for w in DEFAULT_SCL_WEIGHTS)))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", self.tr("PP stack")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        options = PreprocessOptions(
            start_date=self._date(parameters, "START_DATE", context),
            end_date=self._date(parameters, "END_DATE", context),
            pixel_size=self.parameterAsDouble(parameters, "PIXEL_SIZE", context),
            harmonic_order=self.parameterAsInt(parameters, "HARMONIC_ORDER", context),
            scl_weights=self.run_core(parse_scl_weights,
                                      self.parameterAsString(parameters, "SCL_WEIGHTS", context)))
        crs = self.parameterAsCrs(parameters, "TARGET_CRS", context)
        if crs.isValid():
            options.target_crs_wkt = crs.toWkt()
        if parameters.get("EXTENT"):
            extent = self.parameterAsExtent(parameters, "EXTENT", context)
            if not extent.isNull():
                options.extent = (extent.xMinimum(), extent.yMinimum(),
                                  extent.xMaximum(), extent.yMaximum())
                options.extent_crs_wkt = self.parameterAsExtentCrs(parameters, "EXTENT", context).toWkt()
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        inputs = self.parameterAsFile(parameters, "INPUT", context)
        self.run_core(run_preprocess, inputs, output, options, feedback)
        return {"OUTPUT": output}

    def _date(self, parameters, name, context):
        if parameters.get(name) in (None, ""):
            return None
        value = self.parameterAsDateTime(parameters, name, context)
        return value.date().toPyDate() if value.isValid() else None
