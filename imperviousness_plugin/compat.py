"""The scoped enum names of QGIS >= 3.36 and QGIS 4 (Qt6), also on QGIS 3.22.

QGIS 4's Qt6 bindings drop the unscoped names (`QgsProcessingParameterNumber.Double`,
`QgsProcessing.TypeRaster`); the scoped ones (`Qgis.ProcessingNumberParameterType.Double`,
`Qgis.ProcessingSourceType.Raster`) exist only since QGIS 3.36. The plugin uses the names below:
where QGIS has the scoped enum it is that enum itself, on older QGIS a namespace with the same
member names bound to the old values. The old names are looked up by string, only on a QGIS that
lacks the new enum, so nothing here refers to a name QGIS 4 removed.

`Qgis.MessageLevel`, `Qt.CursorShape` and the other enums that QGIS 3.22 already scopes are used
directly (`Qgis.MessageLevel.Warning`, `Qt.CursorShape.WaitCursor`).
"""

from types import SimpleNamespace

from qgis import core


def _scoped(name, legacy_owner, members):
    """Qgis.<name>, or on QGIS < 3.36 the members {new name: old attribute of legacy_owner}."""
    scoped = getattr(core.Qgis, name, None)
    if scoped is not None:
        return scoped
    owner = getattr(core, legacy_owner)
    return SimpleNamespace(**{new: getattr(owner, old) for new, old in members.items()})


ProcessingSourceType = _scoped("ProcessingSourceType", "QgsProcessing", {
    "Raster": "TypeRaster", "File": "TypeFile", "VectorPolygon": "TypeVectorPolygon",
    "VectorAnyGeometry": "TypeVectorAnyGeometry", "MapLayer": "TypeMapLayer"})
ProcessingNumberParameterType = _scoped("ProcessingNumberParameterType", "QgsProcessingParameterNumber", {
    "Integer": "Integer", "Double": "Double"})
ProcessingFileParameterBehavior = _scoped("ProcessingFileParameterBehavior", "QgsProcessingParameterFile", {
    "File": "File", "Folder": "Folder"})
ProcessingDateTimeParameterDataType = _scoped(
    "ProcessingDateTimeParameterDataType", "QgsProcessingParameterDateTime", {
        "DateTime": "DateTime", "Date": "Date", "Time": "Time"})
ProcessingParameterFlag = _scoped("ProcessingParameterFlag", "QgsProcessingParameterDefinition", {
    "Advanced": "FlagAdvanced", "Hidden": "FlagHidden", "Optional": "FlagOptional"})
PropertyType = _scoped("PropertyType", "QgsProperty", {
    "Invalid": "InvalidProperty", "Static": "StaticProperty", "Field": "FieldBasedProperty",
    "Expression": "ExpressionBasedProperty"})
LayerType = _scoped("LayerType", "QgsMapLayerType", {
    "Vector": "VectorLayer", "Raster": "RasterLayer"})
