"""imperviousness:publish: the run's layers as the HRL product set (names, styles, report)."""

import json
import os

from qgis.core import (QgsProcessing, QgsProcessingOutputFile, QgsProcessingOutputFolder,
                       QgsProcessingParameterBoolean,
                       QgsProcessingParameterFile, QgsProcessingParameterMultipleLayers,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterString)

from ..core.unet.predict import shipped_models
from ..core.products.publish import PRODUCTS, SIDE_FILES, publish
from .base import ImperviousnessAlgorithm


class PublishAlgorithm(ImperviousnessAlgorithm):
    NAME = "publish"
    DISPLAY_NAME = "Publish the HRL product set (names, styles, report)"
    GROUP_ID = "aggregation"
    GROUP = "3 Aggregation and change"
    HELP = (
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
        "per EEA 100 km tile on the 1 km grid, named clms_hrlnvlcc_<product>_<period>_r<res>m_"
        "<tile>_03035_v<DELIVERY_VERSION>_r<DELIVERY_RELEASE>, LZW, with raster attribute table, "
        "ISO 19139 metadata and QML, one zip per product and tile, as the EEA's QC tool checks "
        "them (see the README, Delivering to the EEA).")

    def initAlgorithm(self, config=None):  # noqa: N802 (QGIS API)
        for name, (pattern, _, description) in PRODUCTS.items():
            self.addParameter(QgsProcessingParameterRasterLayer(
                name, self.tr(f"{description} ({pattern})"), optional=True))
        self.addParameter(QgsProcessingParameterFile(
            "CALIBRATION", self.tr("IMD calibration file (JSON)"), extension="json", optional=True))
        self.addParameter(QgsProcessingParameterFile(
            "THRESHOLDS", self.tr("Change-mask thresholds (JSON)"), extension="json", optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(
            "IMD_A", self.tr("IMD of year A (statistics only)"), optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(
            "IBU_A", self.tr("IBU of year A (statistics only)"), optional=True))
        for name, label in (("MODELS_IMD", "IMD models used (.onnx; provenance)"),
                            ("MODELS_IBU", "IBU models used (.onnx; provenance)")):
            self.addParameter(QgsProcessingParameterMultipleLayers(
                name, self.tr(label), QgsProcessing.TypeFile, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            "YEAR_A", self.tr("Year A"), QgsProcessingParameterNumber.Integer, 2018, minValue=1900))
        self.addParameter(QgsProcessingParameterNumber(
            "YEAR_B", self.tr("Year B"), QgsProcessingParameterNumber.Integer, 2021, minValue=1900))
        self.addParameter(QgsProcessingParameterString(
            "RUN_PARAMETERS", self.tr("Run parameters for the report (JSON or NAME=value lines)"), optional=True))
        # An input folder, not a folder destination: a 3.22 model can pass its own OUTPUT_FOLDER
        # parameter to it (a child's destination can only become a "child:name" model output).
        self.addParameter(QgsProcessingParameterFile(
            "OUTPUT_FOLDER", self.tr("Output folder (created when missing)"),
            behavior=QgsProcessingParameterFile.Folder))
        # Optional with defaults, so models built before these parameters validate and deliver.
        self.addParameter(QgsProcessingParameterBoolean(
            "DELIVERY", self.tr("Write the official EEA delivery"), defaultValue=True, optional=True))
        self.addParameter(QgsProcessingParameterFile(
            "DELIVERY_FOLDER", self.tr("EEA delivery folder (default: OUTPUT_FOLDER/delivery)"),
            behavior=QgsProcessingParameterFile.Folder, optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            "DELIVERY_VERSION", self.tr("Delivery version (vNN of the file names)"),
            QgsProcessingParameterNumber.Integer, 1, optional=True, minValue=1, maxValue=99))
        self.addParameter(QgsProcessingParameterNumber(
            "DELIVERY_RELEASE", self.tr("Delivery release (rNN of the file names)"),
            QgsProcessingParameterNumber.Integer, 0, optional=True, minValue=0, maxValue=99))
        self.addOutput(QgsProcessingOutputFolder("OUTPUT_FOLDER", self.tr("Product folder")))
        self.addOutput(QgsProcessingOutputFolder("DELIVERY_FOLDER", self.tr("EEA delivery folder")))
        self.addOutput(QgsProcessingOutputFile("REPORT", self.tr("Report (HTML)")))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        layers = {name: self.raster_path(parameters, name, context)
                  for name in PRODUCTS if parameters.get(name)}
        side_files = {name: self.parameterAsFile(parameters, name, context)
                      for name in SIDE_FILES if parameters.get(name)}
        reference = {name: self.raster_path(parameters, name, context)
                     for name in ("IMD_A", "IBU_A") if parameters.get(name)}
        models = {target: self.parameterAsFileList(parameters, f"MODELS_{target}", context)
                  for target in ("IMD", "IBU") if parameters.get(f"MODELS_{target}")}
        for target, raw in (("IMD", "RIMD"), ("IBU", "RIBUD")):
            if target not in models and raw in layers:   # no model given: the shipped ensemble ran
                models[target] = self.run_core(shipped_models, target)
        folder = self.parameterAsFile(parameters, "OUTPUT_FOLDER", context)
        delivery = None
        if self.parameterAsBool(parameters, "DELIVERY", context):
            delivery = (self.parameterAsFile(parameters, "DELIVERY_FOLDER", context)
                        or os.path.join(folder, "delivery"))
        result = self.run_core(
            publish, layers, folder,
            self.parameterAsInt(parameters, "YEAR_A", context),
            self.parameterAsInt(parameters, "YEAR_B", context),
            side_files=side_files, models=models, reference=reference,
            parameters=self._run_parameters(parameters, context, reference), feedback=feedback,
            delivery_folder=delivery,
            delivery_version=(self.parameterAsInt(parameters, "DELIVERY_VERSION", context),
                              self.parameterAsInt(parameters, "DELIVERY_RELEASE", context)))
        return {"OUTPUT_FOLDER": folder, "REPORT": result["report"], "DELIVERY_FOLDER": delivery}

    def _run_parameters(self, parameters, context, reference):
        """RUN_PARAMETERS (a JSON object, or 'NAME=value' lines) plus the reference layers' files.

        The shipped models pass their folder, year and output parameters as 'NAME=value' lines
        built by an expression (QGIS 3.22 expressions see no file name for layer parameters, so
        the layers given to this algorithm are added here).
        """
        text = self.parameterAsString(parameters, "RUN_PARAMETERS", context) or ""
        try:
            value = json.loads(text) if text.strip().startswith("{") else None
        except ValueError:
            value = None
        if value is None:
            value = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        return {**value, **reference}
