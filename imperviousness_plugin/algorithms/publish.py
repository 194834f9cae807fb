"""imperviousness:publish: the run's layers as the HRL product set (names, styles, report)."""

import json
import os

from qgis.core import (QgsProcessingOutputFile, QgsProcessingOutputFolder,
                       QgsProcessingParameterBoolean,
                       QgsProcessingParameterFile, QgsProcessingParameterMultipleLayers,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterString)

from .. import compat
from ..core.unet.predict import shipped_models
from ..core.products.delivery import version_number
from ..core.products.publish import PRODUCTS, SIDE_FILES, publish
from .base import Group, ImperviousnessAlgorithm


class PublishAlgorithm(ImperviousnessAlgorithm):
    NAME = "publish"
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

    CALIBRATION = "CALIBRATION"
    THRESHOLDS = "THRESHOLDS"
    IMD_A = "IMD_A"
    IBU_A = "IBU_A"
    MODELS_IMD = "MODELS_IMD"
    MODELS_IBU = "MODELS_IBU"
    YEAR_A = "YEAR_A"
    YEAR_B = "YEAR_B"
    RUN_PARAMETERS = "RUN_PARAMETERS"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    DELIVERY = "DELIVERY"
    DELIVERY_FOLDER = "DELIVERY_FOLDER"
    DELIVERY_VERSION = "DELIVERY_VERSION"
    DELIVERY_RELEASE = "DELIVERY_RELEASE"
    ADVANCED = (RUN_PARAMETERS, DELIVERY_VERSION, DELIVERY_RELEASE)
    REPORT = "REPORT"
    # The product parameters are named after the products: the keys of core.products.publish.PRODUCTS.

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        for name, (pattern, _, description) in PRODUCTS.items():
            self.add_parameter(
                QgsProcessingParameterRasterLayer(name, self.tr(f"{description} ({pattern})"), optional=True),
                self.tr("The run's layer published as {0}.").format(pattern))
        self.add_parameter(
            QgsProcessingParameterFile(self.CALIBRATION, self.tr("IMD calibration file (JSON)"),
                                       extension="json", optional=True),
            self.tr("The calibration file written by imperviousness:calibrate, copied and reported."))
        self.add_parameter(
            QgsProcessingParameterFile(self.THRESHOLDS, self.tr("Change-mask thresholds (JSON)"),
                                       extension="json", optional=True),
            self.tr("The per-tile thresholds written by imperviousness:changemask, copied and reported."))
        self.add_parameter(
            QgsProcessingParameterRasterLayer(self.IMD_A, self.tr("IMD of year A (statistics only)"), optional=True),
            self.tr("The IMD of year A, read for the year-A statistics only."))
        self.add_parameter(
            QgsProcessingParameterRasterLayer(self.IBU_A, self.tr("IBU of year A (statistics only)"), optional=True),
            self.tr("The IBU of year A, read for the year-A statistics only."))
        self.add_parameter(
            QgsProcessingParameterMultipleLayers(
                self.MODELS_IMD, self.tr("IMD models used (.onnx; provenance)"), compat.ProcessingSourceType.File,
                optional=True),
            self.tr("The IMD models that ran, recorded with their provenance."))
        self.add_parameter(
            QgsProcessingParameterMultipleLayers(
                self.MODELS_IBU, self.tr("IBU models used (.onnx; provenance)"), compat.ProcessingSourceType.File,
                optional=True),
            self.tr("The IBU models that ran, recorded with their provenance."))
        self.add_parameter(
            QgsProcessingParameterNumber(self.YEAR_A, self.tr("Year A"), compat.ProcessingNumberParameterType.Integer,
                                         2018, minValue=1900),
            self.tr("The first reference year, used in the file names."))
        self.add_parameter(
            QgsProcessingParameterNumber(self.YEAR_B, self.tr("Year B"), compat.ProcessingNumberParameterType.Integer,
                                         2021, minValue=1900),
            self.tr("The second reference year, used in the file names."))
        self.add_parameter(
            QgsProcessingParameterString(
                self.RUN_PARAMETERS, self.tr("Run parameters for the report (JSON or NAME=value lines)"),
                optional=True),
            self.tr("The run's parameters recorded in the report, as JSON or NAME=value lines."))
        # An input folder, not a folder destination: a 3.22 model can pass its own OUTPUT_FOLDER
        # parameter to it (a child's destination can only become a "child:name" model output).
        self.add_parameter(
            QgsProcessingParameterFile(self.OUTPUT_FOLDER, self.tr("Output folder (created when missing)"),
                                       behavior=compat.ProcessingFileParameterBehavior.Folder),
            self.tr("The folder receiving the products, styles and report."))
        # Optional with defaults, so models built before these parameters validate and deliver.
        self.add_parameter(
            QgsProcessingParameterBoolean(self.DELIVERY, self.tr("Write the official EEA delivery"),
                                          defaultValue=True, optional=True),
            self.tr("Also write the official EEA delivery (per 100 km tile, LZW, RAT, XML, zip)."))
        self.add_parameter(
            QgsProcessingParameterFile(self.DELIVERY_FOLDER,
                                       self.tr("EEA delivery folder (default: OUTPUT_FOLDER/delivery)"),
                                       behavior=compat.ProcessingFileParameterBehavior.Folder, optional=True),
            self.tr("The folder receiving the delivery zips; empty: OUTPUT_FOLDER/delivery."))
        self.add_parameter(
            QgsProcessingParameterNumber(self.DELIVERY_VERSION, self.tr("Delivery version (vNN of the file names)"),
                                         compat.ProcessingNumberParameterType.Integer, 1, optional=True,
                                         minValue=1, maxValue=99),
            self.tr("The version number vNN in the delivery file names."))
        self.add_parameter(
            QgsProcessingParameterNumber(self.DELIVERY_RELEASE, self.tr("Delivery release (rNN of the file names)"),
                                         compat.ProcessingNumberParameterType.Integer, 0, optional=True,
                                         minValue=0, maxValue=99),
            self.tr("The release number rNN in the delivery file names."))
        self.addOutput(QgsProcessingOutputFolder(self.OUTPUT_FOLDER, self.tr("Product folder")))
        self.addOutput(QgsProcessingOutputFolder(self.DELIVERY_FOLDER, self.tr("EEA delivery folder")))
        self.addOutput(QgsProcessingOutputFile(self.REPORT, self.tr("Report (HTML)")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        layers = {name: self.raster_path(parameters, name, context)
                  for name in PRODUCTS if parameters.get(name)}
        side_files = {name: self.parameterAsFile(parameters, name, context)
                      for name in SIDE_FILES if parameters.get(name)}
        reference = {name: self.raster_path(parameters, name, context)
                     for name in (self.IMD_A, self.IBU_A) if parameters.get(name)}
        models = {target: self.parameterAsFileList(parameters, name, context)
                  for target, name in (("IMD", self.MODELS_IMD), ("IBU", self.MODELS_IBU))
                  if parameters.get(name)}
        for target, raw in (("IMD", "RIMD"), ("IBU", "RIBUD")):
            if target not in models and raw in layers:   # no model given: the shipped ensemble ran
                models[target] = self.run_core(shipped_models, target)
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
