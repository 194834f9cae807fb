"""Named GeoTIFF creation profiles: the one home of creation options (rasterio.profiles'
DefaultGTiffProfile idea, STYLE.md 5).

Every GeoTIFF the plugin (and its sample simulator) writes takes its options from one of these:

- PRODUCT: every analysis product and published layer, single run and tile runner alike: tiled
  256 x 256, DEFLATE with the predictor of the data type (3 float, 2 integer), BigTIFF only near
  the 4 GB classic TIFF limit, band interleave for stacks;
- SCRATCH: intermediate rasters written and read once (a tile's native PP features): tiled,
  uncompressed, sparse;
- TILE_CROP: the tile runner's scratch copies of a task's inputs (cut from a mosaic);
- STAC_CACHE: Sentinel-2 windows fetched over HTTP and kept in the cache folder (integers);
- DELIVERY: the EEA delivery (the QC tool's product definitions: LZW, 512 blocks);
- SAMPLE: the simulated Sentinel-2 bands of tools/sampledata (integers);
- TRAINING_PP, TRAINING_REFERENCE: the large synthetic training areas of tools/training_data
  (a float PP stack written once, fast ZSTD; its Byte reference).
"""

from dataclasses import dataclass

import numpy as np

TILE_SIZE = 256
# BIGTIFF only when the uncompressed size approaches the 4 GB classic TIFF limit.
BIGTIFF_BYTES = 3_500_000_000


@dataclass(frozen=True)
class Profile:
    name: str
    options: tuple                  # (key, value) pairs, in the order they are passed to GDAL
    by_data: bool = False           # add PREDICTOR, BIGTIFF and INTERLEAVE from the data written

    def creation_options(self, dtype=None, band_count=1, width=0, height=0, zlevel=None):
        """GDAL's "KEY=VALUE" list for a raster of `dtype`, `band_count` bands and width x height.

        `zlevel` (1..9, GDAL's default 6) trades DEFLATE's speed against size; the pixels are the
        same at any level.
        """
        options = dict(self.options)
        if self.by_data:
            dtype = np.dtype(dtype)
            raw_bytes = width * height * band_count * dtype.itemsize
            options.update(PREDICTOR="3" if dtype.kind == "f" else "2",
                           BIGTIFF="YES" if raw_bytes > BIGTIFF_BYTES else "NO",
                           INTERLEAVE="BAND" if band_count > 1 else "PIXEL")
        if zlevel is not None:
            options["ZLEVEL"] = str(int(zlevel))
        return [f"{key}={value}" for key, value in options.items()]

    def describes(self, structure, block_size, dtype, band_count):
        """True when a GeoTIFF with GDAL's IMAGE_STRUCTURE metadata `structure`, bands of
        `block_size` (x, y) and `dtype`, holds its pixels as this profile writes them (compression,
        predictor, interleave, tiling; the DEFLATE level and BigTIFF aside), so a byte copy of it
        is as good as a copy written in this profile."""
        expected = dict(item.split("=", 1) for item in self.creation_options(dtype, band_count))
        return (structure.get("COMPRESSION", "NONE") == expected.get("COMPRESS", "NONE")
                and structure.get("PREDICTOR", "1") == expected.get("PREDICTOR", "1")
                and (band_count == 1 or structure.get("INTERLEAVE") == expected.get("INTERLEAVE"))
                and list(block_size) == [int(expected.get("BLOCKXSIZE", 0)),
                                         int(expected.get("BLOCKYSIZE", 0))])


_TILED = (("TILED", "YES"), ("BLOCKXSIZE", str(TILE_SIZE)), ("BLOCKYSIZE", str(TILE_SIZE)))

PRODUCT = Profile("product", _TILED + (("COMPRESS", "DEFLATE"), ("NUM_THREADS", "2")), by_data=True)
SCRATCH = Profile("scratch", _TILED + (("INTERLEAVE", "BAND"), ("BIGTIFF", "IF_SAFER"), ("SPARSE_OK", "YES")))
TILE_CROP = Profile("tile_crop", (("TILED", "YES"), ("BIGTIFF", "IF_SAFER")))
STAC_CACHE = Profile("stac_cache", (("TILED", "YES"), ("COMPRESS", "DEFLATE"), ("PREDICTOR", "2"),
                                    ("BLOCKXSIZE", str(TILE_SIZE)), ("BLOCKYSIZE", str(TILE_SIZE)),
                                    ("SPARSE_OK", "TRUE"), ("BIGTIFF", "IF_SAFER")))
DELIVERY = Profile("delivery", (("TILED", "YES"), ("BLOCKXSIZE", "512"), ("BLOCKYSIZE", "512"),
                                ("COMPRESS", "LZW")))
SAMPLE = Profile("sample", (("TILED", "YES"), ("COMPRESS", "DEFLATE"), ("PREDICTOR", "2"),
                            ("BLOCKXSIZE", str(TILE_SIZE)), ("BLOCKYSIZE", str(TILE_SIZE))))

TRAINING_PP = Profile("training_pp", _TILED + (("COMPRESS", "ZSTD"), ("ZSTD_LEVEL", "1"), ("PREDICTOR", "3"),
                                               ("BIGTIFF", "YES"), ("INTERLEAVE", "BAND")))
TRAINING_REFERENCE = Profile("training_reference", (("TILED", "YES"), ("COMPRESS", "DEFLATE")))

PROFILES = {profile.name: profile for profile in (PRODUCT, SCRATCH, TILE_CROP, STAC_CACHE, DELIVERY, SAMPLE,
                                                  TRAINING_PP, TRAINING_REFERENCE)}
