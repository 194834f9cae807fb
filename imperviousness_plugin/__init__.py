"""HRL Imperviousness: a QGIS Processing provider for the Copernicus HRL Imperviousness workflow."""


def classFactory(iface):  # noqa: N802 (QGIS plugin entry point name)
    from . import dependencies
    # Packages installed earlier into the profile (dependencies.py) are importable from here on.
    dependencies.add_target_to_path()
    from .plugin import ImperviousnessPlugin
    return ImperviousnessPlugin(iface)
