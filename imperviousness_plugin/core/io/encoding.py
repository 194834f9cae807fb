"""Pixel encodings shared by every layer of the plugin (no GDAL import, so any module may use it)."""

# The nodata value of every HRL Byte layer (densities 0..100, classes, masks, change codes):
# 255, with 254 = unclassifiable where a product has it. The one definition in the plugin.
NODATA = 255
