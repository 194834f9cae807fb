"""imperviousness:preprocess: one year of Sentinel-2 L2A to the PP feature stack (ATBD 4.2.1)."""

from qgis.core import QgsProcessingException

from ..core.features.preprocess import run_preprocess
from ..core.io.stac import StacRequest, default_cache_folder, fetch_acquisitions, is_stac_url
from ..core.io.stac_http import Limits
from ..steps import catalogue
from ..steps.calls import preprocess_options
from .base import Group, ImperviousnessAlgorithm


class PreprocessAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.PREPROCESS
    DISPLAY_NAME = "Pre-process Sentinel-2 time series (PP)"
    GROUP = Group.FEATURES
    ATBD = "4.2.1"
    SUMMARY = ("one year of Sentinel-2 L2A (.SAFE, .SAFE.zip read in place, or plain per-band "
               "GeoTIFF folders) to the PP feature stack")
    DESCRIPTION = (
        "Reduces one year of Sentinel-2 L2A acquisitions to the PP feature stack of the HRL "
        "Imperviousness workflow (ATBD 4.2.1).\n\n"
        "Input: a folder holding the acquisitions (or one acquisition; several paths may be "
        "separated by ';'). Each acquisition is a .SAFE folder, a .SAFE.zip file (read in place, "
        "never extracted) or a plain folder named with the date (e.g. S2A_20210314) holding "
        "B02.tif ... B12.tif, B8A.tif and SCL.tif, with an optional metadata.json giving "
        "processing_baseline and boa_add_offset. The acquisitions may belong to several "
        "Sentinel-2 tiles, relative orbits and UTM zones.\n\n"
        "STAC: the input may instead be a STAC collection URL, e.g. "
        "https://earth-search.aws.element84.com/v1/collections/sentinel-2-l2a (or "
        "sentinel-2-c1-l2a). The extent is then required; the items of the dates and extent "
        "(optionally up to a maximum scene cloud cover) are found, and only the extent's window "
        "of the ten bands and SCL is read over HTTP into the cache folder (default "
        "~/.cache/imperviousness/stac), where a later run finds it again. Whether the 04.00 "
        "offset is still in the data is decided from the data's dark targets; every scene whose "
        "earthsearch:boa_offset_applied flag disagrees is logged. imperviousness:stacsearch "
        "lists what would be read. Searches and fetches are bounded (request timeout, most pages "
        "and items, a time budget per scene); a failed scene fails alone and the scenes already "
        "fetched stay in the cache, each verified against its manifest (checksums, the source's "
        "ETag and size) before it is used again.\n\n"
        "Harmonisation: products of processing baseline 04.00 and later carry "
        "BOA_ADD_OFFSET = -1000; it is applied so that all acquisitions share the pre-04.00 "
        "range.\n\n"
        "Per tile, in its own grid: each tile (acquisitions on one grid) is reduced in "
        "its own CRS and pixels. The 10 m bands and NDVI at 10 m, with the SCL brought to 10 m "
        "by nearest neighbour; B05 B06 B07 B8A B11 B12 at their native 20 m with the native 20 m "
        "SCL (the 20 m quantiles), repeated to 10 m after the reduction, so no cloudy 20 m value "
        "leaks into a clear pixel.\n\n"
        "Resampling: the finished features of each tile are resampled once to the output "
        "grid: quantiles, Q90_NDVI and the NDVI model coefficients bilinearly, the harmonics "
        "through their linear coefficients (a sin phi, a cos phi), so phases are never "
        "interpolated, and NOBS by nearest neighbour, at the exactly transformed centre of each "
        "output pixel (bilinear weights renormalised over the neighbours inside the tile and not "
        "NaN). A grid whose pixels coincide with the "
        "scenes' is copied without resampling.\n\n"
        "Several tiles: where tiles overlap, each output pixel takes all its features from "
        "the tile with the most observations (NOBS) there; on a tie, the tile with the lower EPSG "
        "code, then the western, then the northern grid origin. A datatake seen by two tiles is "
        "therefore never counted twice, and there is no gap at tile borders. Without a target "
        "CRS all tiles must share one CRS.\n\n"
        "Weights: each observation is weighted by its SCL class (ATBD Annex 1 Table 6): "
        "twelve numbers for classes 0 to 11. DN 0 (no data) and undefined NDVI get weight 0.\n\n"
        "Output (Float32, NaN = no data), one band each: Q20 of B02 B03 B04 B05 B06 B07 B08 "
        "B8A B11 B12 (surface reflectance, weighted 20 % quantile, inverted CDF), Q90_NDVI, the "
        "NDVI model coefficients NDVI_P0 (annual mean) NDVI_P1..PN (Legendre) NDVI_A1, NDVI_PHI1 .. "
        "(harmonic amplitude and phase), and NOBS (observations with weight > 0). The NDVI model "
        "of order N has 3N+1 coefficients fitted by weighted least squares with a small ridge on "
        "all but the mean, so pixels with few observations get a stable curve instead of inf.\n\n"
        "Grid: by default EPSG:3035 aligned to whole multiples of the pixel size (the EEA "
        "reference grid); leave the target CRS empty to keep the scenes' CRS. The optional extent "
        "clips the output.")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        options = self.options(parameters, context)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        inputs = self.parameterAsFile(parameters, self.INPUT, context)
        if is_stac_url(inputs):
            inputs = self.run_core(fetch_acquisitions,
                                   self.stac_request(inputs, parameters, context, options), feedback)
        self.run_core(run_preprocess, inputs, output, options, feedback)
        return {self.OUTPUT: output}

    def stac_request(self, url, parameters, context, options):
        """The STAC search and fetch for the output grid that `options` describe."""
        if options.extent is None:
            raise QgsProcessingException(self.tr("EXTENT is required when INPUT is a STAC URL."))
        extent_crs = options.extent_crs_wkt or options.target_crs_wkt
        if not extent_crs:
            raise QgsProcessingException(self.tr("Give the CRS of EXTENT (e.g. '... [EPSG:3035]')."))
        max_cloud = parameters.get(self.MAX_CLOUD)
        return StacRequest(
            url, options.extent, extent_crs, options.start_date, options.end_date,
            None if max_cloud in (None, "") else self.parameterAsDouble(parameters, self.MAX_CLOUD, context),
            options.target_crs_wkt, options.pixel_size,
            self.parameterAsFile(parameters, self.CACHE_FOLDER, context) or default_cache_folder(),
            limits=Limits(
                timeout=self.parameterAsDouble(parameters, self.HTTP_TIMEOUT, context),
                max_pages=self.parameterAsInt(parameters, self.MAX_PAGES, context),
                max_items=self.parameterAsInt(parameters, self.MAX_ITEMS, context),
                scene_budget=self.parameterAsDouble(parameters, self.SCENE_TIME_BUDGET, context)))

    def options(self, parameters, context):
        """PreprocessOptions from the plain values of the parameters (steps/calls.py maps them, as
        for the tile runner); stacsearch has the dates and grid only."""
        values = {self.START_DATE: self._date(parameters, self.START_DATE, context),
                  self.END_DATE: self._date(parameters, self.END_DATE, context),
                  self.PIXEL_SIZE: self.parameterAsDouble(parameters, self.PIXEL_SIZE, context)}
        crs = self.parameterAsCrs(parameters, self.TARGET_CRS, context)
        values[self.TARGET_CRS] = crs.toWkt() if crs.isValid() else None
        if parameters.get(self.EXTENT):
            extent = self.parameterAsExtent(parameters, self.EXTENT, context)
            if not extent.isNull():
                values[self.EXTENT] = ((extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()),
                                       self.parameterAsExtentCrs(parameters, self.EXTENT, context).toWkt())
        if self.GRID in self.STEP.names and parameters.get(self.GRID):
            values[self.GRID] = self.raster_path(parameters, self.GRID, context)
        if self.HARMONIC_ORDER in self.STEP.names:
            values[self.HARMONIC_ORDER] = self.parameterAsInt(parameters, self.HARMONIC_ORDER, context)
            values[self.SCL_WEIGHTS] = self.parameterAsString(parameters, self.SCL_WEIGHTS, context)
        return self.run_core(preprocess_options, values)

    def _date(self, parameters, name, context):
        if parameters.get(name) in (None, ""):
            return None
        value = self.parameterAsDateTime(parameters, name, context)
        return value.date().toPyDate() if value.isValid() else None
