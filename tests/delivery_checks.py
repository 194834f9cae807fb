"""The requirements of the EEA QC tool's HRL Imperviousness product definitions, written out by
hand from them (eea/copernicus_quality_tools, product_definitions/clms_hrlnvlcc_*_s2021_*.json
and *_c1821_*.json, and clms_nvlcc_*_s2024_*.json and *_c2021-2024_*.json, equal but for the
names, at commit 9a546f8f), as one check of a delivered tile.

A second transcription, independent of the plugin's catalogue: a slip in either shows here. The
QC tool's own check functions run in test_end_to_end.py when a copy of its repository exists.
"""

import os
import re

import numpy as np
from osgeo import gdal, ogr, osr

STATUS = set(range(101)) | {255}
CHANGE = set(range(202)) | {255}
CLASSES = {0, 1, 2, 10, 11, 12, 255}
IBUC_CLASSES = {0, 1, 2, 10, 255}       # every IBUC definition (2021, 2024)
IMD_COLOURS = {0: (240, 240, 240), 1: (255, 237, 195), 50: (175, 74, 51), 100: (113, 12, 2), 255: (0, 0, 0)}
SBU_COLOURS = {0: (240, 240, 240), 1: (251, 255, 214), 30: (255, 221, 0), 70: (255, 178, 0),
               100: (219, 106, 6), 255: (0, 0, 0)}
IBU_COLOURS = {0: (240, 240, 240), 1: (255, 178, 0), 255: (0, 0, 0)}
CLASS_COLOURS = {0: (240, 240, 240), 1: (255, 0, 0), 2: (0, 100, 0), 10: (156, 156, 156),
                 11: (255, 191, 0), 12: (64, 178, 0), 255: (0, 0, 0)}
IBUC_COLOURS = {0: (240, 240, 240), 1: (255, 0, 0), 2: (0, 100, 0), 10: (156, 156, 156), 255: (0, 0, 0)}
CHANGE_COLOURS = {0: (3, 102, 0), 50: (63, 178, 0), 99: (127, 255, 0), 100: (178, 178, 178),
                  101: (255, 255, 0), 150: (255, 191, 0), 200: (255, 0, 0), 201: (240, 240, 240),
                  255: (0, 0, 0)}
# product code: (status or change, resolutions, valid values, colour entries)
REQUIREMENTS = {
    "imd": ("s", {10, 100}, STATUS, IMD_COLOURS),
    "ibu": ("s", {10}, {0, 1, 255}, IBU_COLOURS),
    "sbu": ("s", {100}, STATUS, SBU_COLOURS),
    "imdc": ("c", {20, 100}, CHANGE, CHANGE_COLOURS),
    "imcc": ("c", {20}, CLASSES, CLASS_COLOURS),
    "ibuc": ("c", {20}, IBUC_CLASSES, IBUC_COLOURS),
    "sbuc": ("c", {100}, CHANGE, CHANGE_COLOURS),
    "sbcc": ("c", {100}, CLASSES, CLASS_COLOURS),
}
# prefix: the periods of its definitions (s: status, c: change); clms_nvlcc of other years takes
# the 2024 pattern with its own years (no definition)
PERIODS = {"clms_hrlnvlcc": {"s": "s2021", "c": "c2018-2021"},
           "clms_nvlcc": {"s": r"s\d{4}", "c": r"c\d{4}-\d{4}"}}
NAME = re.compile(r"^(?P<prefix>clms_hrlnvlcc|clms_nvlcc)_(?P<code>[a-z]+)_(?P<period>[sc][0-9-]+)_"
                  r"r(?P<res>10|20|100)m_e(?P<e>\d{2})n(?P<n>\d{2})_03035_v\d{2}_r\d{2}\.tif$")
RAT_COLUMNS = ["value", "count", "area_km2", "area_perc", "class_name"]


def check_delivered_tile(tif):
    """Assert every requirement on one delivered .tif and its side files; returns its pixels."""
    tif = str(tif)
    match = NAME.match(os.path.basename(tif))
    assert match, tif
    kind, resolutions, valid, colours = REQUIREMENTS[match["code"]]
    resolution = int(match["res"])
    assert re.fullmatch(PERIODS[match["prefix"]][kind], match["period"]), tif
    assert resolution in resolutions, tif
    dataset = gdal.Open(tif)
    assert dataset.RasterCount == 1
    band = dataset.GetRasterBand(1)
    srs = osr.SpatialReference(dataset.GetProjection())
    srs.AutoIdentifyEPSG()
    assert (srs.GetAuthorityName(None), srs.GetAuthorityCode(None)) == ("EPSG", "3035"), tif
    x0, dx, _, y0, _, dy = dataset.GetGeoTransform()
    assert (dx, -dy) == (resolution, resolution), tif
    assert x0 % 1000 == 0 and y0 % 1000 == 0, tif
    # inside the 100 km tile its name gives (the lower-left corner in units of 100 km)
    east, north = int(match["e"]) * 100000, int(match["n"]) * 100000
    assert east <= x0 and x0 + dx * dataset.RasterXSize <= east + 100000, tif
    assert north <= y0 + dy * dataset.RasterYSize and y0 <= north + 100000, tif
    assert band.DataType == gdal.GDT_Byte and band.GetNoDataValue() == 255, tif
    assert dataset.GetMetadata("IMAGE_STRUCTURE").get("COMPRESSION") == "LZW", tif
    assert max(band.GetBlockSize()) <= 1024, tif
    data = band.ReadAsArray()
    values, counts = np.unique(data, return_counts=True)
    assert set(values.tolist()) <= valid, (tif, set(values.tolist()) - valid)
    table = band.GetColorTable()
    for value, rgb in colours.items():
        assert table.GetColorEntry(value)[:3] == rgb, (tif, value)
    expected_rows = [(int(value), int(count), count * resolution ** 2 / 1e6, 100.0 * count / data.size)
                     for value, count in zip(values, counts)]
    _check_rows(_gdal_rat_rows(band), expected_rows, tif)
    _check_rows(_dbf_rows(tif + ".vat.dbf"), expected_rows, tif + ".vat.dbf")
    for extension in (".xml", ".qml"):
        assert os.path.isfile(tif[:-4] + extension), tif[:-4] + extension
    return data


def _gdal_rat_rows(band):
    rat = band.GetDefaultRAT()
    assert [rat.GetNameOfCol(index) for index in range(rat.GetColumnCount())] == RAT_COLUMNS
    return [(rat.GetValueAsInt(row, 0), rat.GetValueAsInt(row, 1), rat.GetValueAsDouble(row, 2),
             rat.GetValueAsDouble(row, 3), rat.GetValueAsString(row, 4))
            for row in range(rat.GetRowCount())]


def _dbf_rows(path):
    source = ogr.Open(path)
    layer = source.GetLayer()
    assert [field.name for field in layer.schema] == RAT_COLUMNS
    return [tuple(feature.GetField(name) for name in RAT_COLUMNS) for feature in layer]


def _check_rows(rows, expected, where):
    assert [row[:2] for row in rows] == [row[:2] for row in expected], where
    for row, (_, _, area, share) in zip(rows, expected):
        assert abs(row[2] - area) < 1e-6 and abs(row[3] - share) < 1e-5, (where, row)
        assert row[4], (where, row)      # a class name for every value
    assert abs(sum(row[3] for row in rows) - 100.0) < 1e-3, where
