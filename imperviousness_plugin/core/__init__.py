"""The numeric core: no QGIS imports, so it runs anywhere (tests, scripts, Dask workers).

Sub-packages follow the ATBD processing graph; see the README's Architecture section.
"""

import os

# The plugin folder: shipped models (models/) and QML styles (styles/) live there.
PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
