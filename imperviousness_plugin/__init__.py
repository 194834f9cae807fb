"""HRL Imperviousness: a QGIS Processing provider for the Copernicus HRL Imperviousness workflow."""


def classFactory(iface):  # noqa: N802 (QGIS plugin entry point name)
    from .plugin import ImperviousnessPlugin
    return ImperviousnessPlugin(iface)
