"""Errors raised by the numeric core (no QGIS imports here).

The Processing adapters translate these into QgsProcessingException, so every message must name
the problem in words a GIS analyst understands (which file, which band, which grid).
"""


class ImperviousnessError(ValueError):
    """Bad input or an impossible request; the message is shown to the user as is."""


class Cancelled(RuntimeError):
    """The user cancelled the run; raised between blocks so no partial output is kept."""
