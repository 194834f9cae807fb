"""Pixel encodings shared by every layer of the plugin (no GDAL import, so any module may use it)."""

# The nodata value of every HRL Byte layer (densities 0..100, classes, masks, change codes):
# 255, with 254 = unclassifiable where a product has it. The one definition in the plugin.
NODATA = 255
# IBU = RIBUD >= 10 % (SPEC 8, ATBD 4.4.2): the built-up threshold in percent of density, the one
# definition (builtup's default, the training's F1 at 10 %, the simulator's built-up roofs).
IBU_THRESHOLD = 10.0
