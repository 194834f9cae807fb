"""imperviousness:publish: the run's layers as the HRL product set (names, styles, report)."""

import json
import os


from ..core.products.delivery import version_number
from ..core.products.publish import PRODUCTS, SIDE_FILES, publish
from ..steps import catalogue
from ..steps.calls import models_or_shipped
from .base import Group, ImperviousnessAlgorithm


class PublishAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.PUBLISH
    DISPLAY_NAME = "Publish the HRL product set (names, styles, report)"
    GROUP = Group.AGGREGATION
    ATBD = "-"
    SUMMARY = "the run's layers as the HRL product set: file names, QML styles, report.html"
    DESCRIPTION = (
        "Copies each given layer into OUTPUT_FOLDER under its HRL file name (e.g. "
        "IMD_2021_010m.tif, IMCC_1821_020m.tif, SBU_2021_100m.tif; a byte copy, not a "
        "re-computation), writes the official legend as a QML style beside each styled product "
        "(QGIS applies it when the file is loaded), copies the calibration and change-mask "
        "threshold files, and writes report.html with its figures (area statistics per year, "
        "change-class areas, built-up share, maps, calibration coefficients, thresholds, models "
        "and their provenance, run parameters), report.json and products.json.\n\n"
        "Every product parameter is optional; the Graphical Modeler models of this provider "
        "connect all of them. IMD_A and IBU_A are read for the year-A statistics only. "
        "OUTPUT_FOLDER is created when missing. RUN_PARAMETERS is a JSON object (or free text) "
        "recorded in the report.\n\n"
        "DELIVERY (on by default) also writes the official EEA delivery into DELIVERY_FOLDER "
        "(default: OUTPUT_FOLDER/delivery): IMD, IBU, SBU, IMDC, IMCC, IBUC, SBUC and SBCC cut "
        "per EEA 100 km tile on the 1 km grid, named <prefix>_<product>_<period>_r<res>m_"
        "<tile>_03035_v<DELIVERY_VERSION>_r<DELIVERY_RELEASE> (clms_hrlnvlcc_ for 2018-2021, "
        "clms_nvlcc_ for 2021-2024 and other years), LZW, with raster attribute table, "
        "ISO 19139 metadata and QML, one zip per product and tile, and a README.txt, as the EEA's "
        "QC tool checks them (see the README, Delivering to the EEA). The delivered IBUC has the "
        "EEA's classes 0, 1, 2, 10: ATBD Table 5's 11 and 12 are delivered as 10 (the analysis "
        "IBUC keeps them). DELIVERY_VERSION is 1..99, DELIVERY_RELEASE 0..99. A delivery folder "
        "holding an earlier delivery of the same version and tiles is replaced; one of another "
        "version, tiles or years is refused (one folder, one delivery).")

    # The product parameters are named after the products: the keys of core.products.publish.PRODUCTS.

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        layers = {name: self.raster_path(parameters, name, context)
                  for name in PRODUCTS if parameters.get(name)}
        side_files = {name: self.parameterAsFile(parameters, name, context)
                      for name in SIDE_FILES if parameters.get(name)}
        reference = {name: self.raster_path(parameters, name, context)
                     for name in (self.IMD_A, self.IBU_A) if parameters.get(name)}
        models = {}
        for target, raw, name in (("IMD", self.RIMD, self.MODELS_IMD), ("IBU", self.RIBUD, self.MODELS_IBU)):
            given = self.parameterAsFileList(parameters, name, context) if parameters.get(name) else []
            if given or raw in layers:   # no model given: the shipped ensemble ran
                models[target] = self.run_core(models_or_shipped, given, target)
        folder = self.parameterAsFile(parameters, self.OUTPUT_FOLDER, context)
        delivery = None
        if self.parameterAsBool(parameters, self.DELIVERY, context):
            delivery = (self.parameterAsFile(parameters, self.DELIVERY_FOLDER, context)
                        or os.path.join(folder, "delivery"))
        result = self.run_core(
            publish, layers, folder,
            self.parameterAsInt(parameters, self.YEAR_A, context),
            self.parameterAsInt(parameters, self.YEAR_B, context),
            side_files=side_files, models=models, reference=reference,
            parameters=self._run_parameters(parameters, context, reference), feedback=feedback,
            delivery_folder=delivery,
            delivery_version=(self._version(parameters, self.DELIVERY_VERSION, 1, context),
                              self._version(parameters, self.DELIVERY_RELEASE, 0, context)))
        return {self.OUTPUT_FOLDER: folder, self.REPORT: result["report"], self.DELIVERY_FOLDER: delivery}

    def _version(self, parameters, name, default, context):
        """DELIVERY_VERSION / DELIVERY_RELEASE checked as given: parameterAsInt turns '../x' or
        'abc' into the default without a word (which may overwrite that version)."""
        value = parameters.get(name)
        if not isinstance(value, (type(None), int, float, str)):   # e.g. a QgsProperty in a model
            value = self.parameterAsInt(parameters, name, context)
        return self.run_core(version_number, value, name, default)

    def _run_parameters(self, parameters, context, reference):
        """RUN_PARAMETERS (a JSON object, or 'NAME=value' lines) plus the reference layers' files.

        The shipped models pass their folder, year and output parameters as 'NAME=value' lines
        built by an expression (QGIS 3.22 expressions see no file name for layer parameters, so
        the layers given to this algorithm are added here).
        """
        text = self.parameterAsString(parameters, self.RUN_PARAMETERS, context) or ""
        try:
            value = json.loads(text) if text.strip().startswith("{") else None
        except ValueError:
            value = None
        if value is None:
            value = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        return {**value, **reference}
