"""imperviousness:sealingmask: the sealing mask IMD_MSK of the IMD calibration (ATBD 4.3.2, SPEC 9)."""

from qgis.core import (QgsProcessingException, QgsProcessingUtils, QgsProviderRegistry,
                       QgsVectorFileWriter)

from .. import compat
from ..core.status.sealing_mask import SealedSource, run_sealing_mask
from ..steps import catalogue
from .base import Group, ImperviousnessAlgorithm


def _layer_source(algorithm, parameters, name, context, feedback):
    """(path, kind, layer name, subset) of a raster or vector map-layer parameter."""
    layer = algorithm.parameterAsLayer(parameters, name, context)
    if layer is None or not layer.isValid():
        raise QgsProcessingException(algorithm.tr(f"{name}: cannot open the layer {parameters.get(name)!r}."))
    if layer.type() == compat.LayerType.Raster:
        return SealedSource(layer.source(), "raster")
    if layer.type() != compat.LayerType.Vector:
        raise QgsProcessingException(algorithm.tr(f"{name} must be a raster or a polygon layer."))
    if layer.providerType() == "ogr":
        parts = QgsProviderRegistry.instance().decodeUri("ogr", layer.source())
        subset = layer.subsetString() or parts.get("subset") or None
        return SealedSource(parts["path"], "vector", parts.get("layerName") or None, subset)
    # Layers of other providers (memory, PostGIS, ...) are copied once to a GeoPackage the core reads.
    path = QgsProcessingUtils.generateTempFilename("sealed_class.gpkg")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    result = QgsVectorFileWriter.writeAsVectorFormatV3(layer, path, context.transformContext(), options)
    if result[0] != QgsVectorFileWriter.WriterError.NoError:
        raise QgsProcessingException(algorithm.tr(f"{name}: cannot copy the layer for reading: {result[1]}"))
    feedback.pushInfo(f"{name}: copied the {layer.providerType()} layer to {path}.")
    return SealedSource(path, "vector")


class SealingMaskAlgorithm(ImperviousnessAlgorithm):
    STEP = catalogue.SEALINGMASK
    DISPLAY_NAME = "Sealing mask (IMD_MSK) for the IMD calibration"
    GROUP = Group.STATUS
    ATBD = "4.3.2"
    SUMMARY = ("IMD_MSK from the sealed class (CLCplus raster or any raster/polygon layer) and the "
               "IMD / RIMD outline")
    DESCRIPTION = (
        "The sealing mask IMD_MSK of the IMD calibration (ATBD 4.3.2). Year A: IMPERVIOUSNESS = IMD_A "
        "and CLCPLUS = CLCplus Backbone of year A; year B: IMPERVIOUSNESS = the raw prediction RIMD_B "
        "and CLCPLUS = CLCplus Backbone of year B. The calibration is fitted inside the year-A mask "
        "and applied inside the year-B mask; IMD is 0 outside.\n\n"
        "Sealed class: CLCPLUS is a raster of class codes on the same grid as IMPERVIOUSNESS "
        "(CLCplus class 1 = sealed) or, for users without CLCplus, a polygon layer (e.g. CORINE Land "
        "Cover: SEALED_FIELD = code_18, SEALED_VALUES = 1* for the artificial surfaces). SEALED_VALUES: "
        "comma-separated codes (1), ranges (111-142) and shell patterns (1*, matched on the code as "
        "text). With a polygon layer and no SEALED_FIELD every polygon is sealed. Polygons in another "
        "CRS are reprojected.\n\n"
        "COMBINE (ATBD 4.3.2 as SPEC 9 reads it; reasons and numbers in docs/calibration.md):\n"
        "- union (default): sealed class OR density >= THRESHOLD (default 90 %, applied to "
        "IMPERVIOUSNESS as the ATBD applies it to \"the inputs of the IMD layer\"). Low-density pixels "
        "(below THRESHOLD) are in the mask only inside the sealed class; outside it they become 0 in "
        "IMD. The sealed class adds every pixel it holds, also where the density is low or 0.\n"
        "- intersection (the default of earlier versions): sealed class AND density "
        ">= OUTLINE_MIN (default 1 %). Low-density pixels count inside the sealed class only, and so "
        "does every dense pixel: outside the class even a 100 % pixel becomes 0.\n"
        "- outline: density >= OUTLINE_MIN alone, the sealed class ignored: every low-density pixel "
        "(false positives of the raw prediction in vegetation included) receives a calibrated value.\n"
        "SEALED_SHARE: a pixel is in the sealed class when at least this share of it lies in "
        "the class (default 50 %; polygon shares on 10 x 10 sub-pixels; a raster of codes on the grid "
        "gives 0 or 100 %). COMBINE = intersection with SEALED_SHARE = 90 reproduces the old masks.\n\n"
        "Output: Byte 1 = in the mask, 0 = not, 255 = nodata (where IMPERVIOUSNESS or a "
        "sealed-class raster is nodata), on the grid of IMPERVIOUSNESS.")

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802 (QGIS API)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        source = _layer_source(self, parameters, self.CLCPLUS, context, feedback)
        summary = self.run_core(
            run_sealing_mask, self.raster_path(parameters, self.IMPERVIOUSNESS, context), source, output,
            sealed_values=self.parameterAsString(parameters, self.SEALED_VALUES, context),
            sealed_field=self.parameterAsString(parameters, self.SEALED_FIELD, context).strip() or None,
            threshold=self.parameterAsDouble(parameters, self.THRESHOLD, context),
            outline_min=self.parameterAsDouble(parameters, self.OUTLINE_MIN, context),
            combine=self.O_COMBINE[self.parameterAsEnum(parameters, self.COMBINE, context)],
            sealed_share=self.parameterAsDouble(parameters, self.SEALED_SHARE, context),
            feedback=feedback)
        return {self.OUTPUT: output, self.MASK_PIXELS: summary["mask"]}
