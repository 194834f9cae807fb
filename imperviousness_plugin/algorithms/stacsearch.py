"""imperviousness:stacsearch: what preprocess would read from a STAC API, without reading it."""

from qgis.core import QgsProcessingParameterFileDestination

from ..core.io.atomic import write_json
from ..core.io.stac import dry_run, format_dry_run
from .preprocess import PreprocessAlgorithm


class StacSearchAlgorithm(PreprocessAlgorithm):
    NAME = "stacsearch"
    DISPLAY_NAME = "List Sentinel-2 scenes of a STAC search (dry run of preprocess)"
    HELP = (
        "Searches a STAC collection (INPUT, e.g. "
        "https://earth-search.aws.element84.com/v1/collections/sentinel-2-l2a) with the same "
        "extent, dates, maximum cloud cover, target CRS and pixel size as "
        "imperviousness:preprocess, and lists the items (date, tile, cloud cover, processing "
        "baseline, earthsearch:boa_offset_applied, the offset decision) with the bytes the "
        "fetch would read (the uncompressed size of the windows; scenes already in the cache "
        "count 0). No pixel is read. The list goes to the log and to a JSON file.")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        super().initAlgorithm(config)
        for name in ("HARMONIC_ORDER", "SCL_WEIGHTS", "OUTPUT"):
            self.removeParameter(name)
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT", self.tr("Scene list"), self.tr("JSON files (*.json)")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        request = self.stac_request(self.parameterAsFile(parameters, "INPUT", context),
                                    parameters, context, self.options(parameters, context))
        report = self.run_core(dry_run, request, feedback)
        for line in format_dry_run(report):
            feedback.pushInfo(line)
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        self.run_core(write_json, output, report)
        return {"OUTPUT": output, "EXPECTED_BYTES": report["expected_bytes"],
                "SCENES": len(report["scenes"])}
