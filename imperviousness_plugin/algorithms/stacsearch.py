"""imperviousness:stacsearch: what preprocess would read from a STAC API, without reading it."""

from ..core.io.atomic import write_json
from ..core.io.stac import dry_run, format_dry_run
from ..steps import catalogue
from .base import Group
from .preprocess import PreprocessAlgorithm


class StacSearchAlgorithm(PreprocessAlgorithm):
    STEP = catalogue.STACSEARCH
    REQUIRES = ("requests",)
    DISPLAY_NAME = "List Sentinel-2 scenes of a STAC search (dry run of preprocess)"
    GROUP = Group.FEATURES
    ATBD = "4.1"
    SUMMARY = "what preprocess would read from a STAC collection (items, offsets, bytes), reading no pixel"
    DESCRIPTION = (
        "Searches a STAC collection (INPUT, e.g. "
        "https://earth-search.aws.element84.com/v1/collections/sentinel-2-l2a) with the same "
        "extent, dates, maximum cloud cover, target CRS and pixel size as "
        "imperviousness:preprocess, and lists the items (date, tile, cloud cover, processing "
        "baseline, earthsearch:boa_offset_applied, the offset decision) with the bytes the "
        "fetch would read (the uncompressed size of the windows; scenes already in the cache "
        "count 0; a cached scene counts only when its manifest verifies). Items that would not "
        "be read are listed with the reason: the same id twice, a datatake offered again with an "
        "older processing baseline, a datatake a neighbouring tile covering the whole extent "
        "already holds, cloud cover above MAX_CLOUD. No pixel is read (assets without "
        "proj:shape / proj:transform have their header read). The list goes to the log and to a "
        "JSON file.")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        request = self.stac_request(self.parameterAsFile(parameters, self.INPUT, context),
                                    parameters, context, self.options(parameters, context))
        report = self.run_core(dry_run, request, feedback)
        for line in format_dry_run(report):
            feedback.pushInfo(line)
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        self.run_core(write_json, output, report)
        return {self.OUTPUT: output, self.EXPECTED_BYTES: report["expected_bytes"],
                self.SCENES: len(report["scenes"])}
