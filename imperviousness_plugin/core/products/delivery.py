"""The official EEA delivery: the published products as the EEA's QC tool expects them (SPEC 11).

For each official product of the catalogue (catalogue.OFFICIAL) that the run published, and for
each EEA 100 km tile the product touches, one folder and one zip:

    <delivery folder>/<name>/<name>.tif           Byte, LZW, 512 x 512 blocks, EPSG:3035
                            <name>.tif.aux.xml    the raster attribute table as GDAL reads it
                            <name>.tif.vat.dbf    the same table as ArcGIS reads it
                            <name>.xml            ISO 19139 metadata
                            <name>.qml            the QGIS style
    <delivery folder>/<name>.zip                  those five files, the unit the QC tool checks

    <delivery folder>/README.txt                  what the delivery holds: years, names, version,
                                                  tiles, products, the IBUC recoding

with <name> = <prefix>_<product>_<s<B>|c<A>-<B>>_r<res>m_<tile>_03035_v<NN>_r<NN>, the prefix
and periods of the generation of the years (catalogue.generation: clms_hrlnvlcc for 2018-2021,
clms_nvlcc for 2021-2024 and, flagged in the README as not defined by the EEA yet, other pairs).

One folder holds one delivery. Publishing into a folder that holds an earlier one replaces it
when it has the same version and tiles (its files not written again are removed), and is refused
with a message naming the difference otherwise (another version, other tiles, other years): old
tiles never stay beside new ones.

The delivered IBUC follows the EEA's definition (0, 1, 2, 10, 255): ATBD Table 5's 11 and 12
(increase, decrease of built-up density) become 10 in the delivered file only (Official.recode).

The tile part of a product is its overlap with the 100 km tile, extended outward to whole
kilometres (the QC tool's origin check wants the upper-left corner on the 1 km grid) by the rule
imperviousness:aligngrid pads the models' inputs with (grid.aligned_window); pixels the product
does not cover are 255 (nodata). The models' products are on the 1 km grid already, so there
only the 100 km tile edges cut them. The pixels are otherwise the published product's, read
block by block and never resampled, so the product's grid must be EPSG:3035 at the official
resolution with its origin on whole multiples of the pixel size (the models' grids are).

The raster attribute table lists every value present in the tile with its pixel count, its area
(km2) and its share of the tile's pixels (%, nodata included, so the shares sum to 100), and the
class name from the catalogue's legend. The QC tool's attribute check reads GDAL's table first
(for a GeoTIFF, GDAL keeps it in <name>.tif.aux.xml) and the .tif.vat.dbf otherwise: both are
written.

Every file goes through core/io/atomic.py and is byte-deterministic: no time stamp (the zip
entries carry 1980-01-01, the DBF and the metadata the end of the reference year B), no
temporary or absolute path (the metadata names the inputs by file name only).
"""

import configparser
import contextlib
import dataclasses
import math
import os
import re
import shutil
import uuid
import xml.etree.ElementTree as ET  # nosec B405  # only builds the ISO 19139 XML; nothing here parses XML
import zipfile

import numpy as np
from osgeo import gdal, ogr, osr

from .. import PLUGIN_DIR
from ..errors import ImperviousnessError
from ..io import profiles
from ..io.atomic import atomic_path, write_bytes, write_text
from ..io.grid import Grid, aligned_window, check_alignable, epsg_wkt, same_crs, window_grid
from ..io.raster import RasterWriter, iter_padded_blocks, open_raster
from .catalogue import (DELIVERY_EPSG, DELIVERY_GRID, DELIVERY_TILE, NODATA, OFFICIAL, PRODUCTS, RAT_COLUMNS,
                        class_names, generation)
from .styles import color_table, render_qml

gdal.UseExceptions()
ogr.UseExceptions()

BLOCK = 512
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
SIDE_EXTENSIONS = (".tif.aux.xml", ".tif.vat.dbf", ".xml", ".qml")


def plugin_metadata(key):
    """A field of the plugin's metadata.txt, e.g. 'version' -> '0.1.0'."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(PLUGIN_DIR, "metadata.txt"), encoding="utf-8")
    return parser.get("general", key, fallback="unknown")


def reference_end(year_b):
    """The date every delivered file carries (metadata, DBF header): the end of year B, not today,
    so that the delivery is byte-identical between runs."""
    return f"{int(year_b)}-12-31"


# -- the tile grid ------------------------------------------------------------------------------

def tile_code(col, row):
    """The EEA 100 km tile code of tile column `col`, row `row` (the lower-left corner in units of
    100 km in EPSG:3035), e.g. (47, 14) -> 'e47n14'."""
    return f"e{col:02d}n{row:02d}"


def delivery_tiles(grid):
    """[(tile code, Window of the product's pixels), ...], north to south, west to east.

    Each window is the product's overlap with one 100 km tile extended outward to whole
    kilometres; it may reach beyond the product (those pixels are delivered as nodata).
    """
    xmin, ymin, xmax, ymax = grid.bounds
    tiles = []
    for row in reversed(range(math.floor(ymin / DELIVERY_TILE), math.ceil(ymax / DELIVERY_TILE))):
        for col in range(math.floor(xmin / DELIVERY_TILE), math.ceil(xmax / DELIVERY_TILE)):
            left, right = max(xmin, col * DELIVERY_TILE), min(xmax, (col + 1) * DELIVERY_TILE)
            bottom, top = max(ymin, row * DELIVERY_TILE), min(ymax, (row + 1) * DELIVERY_TILE)
            if right > left and top > bottom:
                tiles.append((tile_code(col, row),
                              aligned_window(grid, DELIVERY_GRID, (left, bottom, right, top))))
    return tiles


def check_grid(official, path, grid, data_type):
    """Refuse a product the delivery cannot cut without resampling, naming what is wrong."""
    name = os.path.basename(str(path))
    hint = " Set DELIVERY to false to publish without the EEA delivery."
    if not same_crs(grid.crs_wkt, epsg_wkt(DELIVERY_EPSG)):
        raise ImperviousnessError(f"{name}: the EEA delivery needs EPSG:{DELIVERY_EPSG}; the product is "
                                  f"on {grid.describe()}.{hint}")
    x0, dx, _, y0, _, dy = grid.geotransform
    if dx != official.resolution or -dy != official.resolution:
        raise ImperviousnessError(f"{name}: the official {official.code} product has "
                                  f"{official.resolution} m pixels; this one has {dx:g} x {-dy:g} m.{hint}")
    check_alignable(grid, DELIVERY_GRID, name, hint)
    if data_type != gdal.GDT_Byte:
        raise ImperviousnessError(f"{name}: the official {official.code} product is Byte; this one is "
                                  f"{gdal.GetDataTypeName(data_type)}.{hint}")


# -- one delivered tile ----------------------------------------------------------------------------

def _tile_grid(grid, window):
    return dataclasses.replace(window_grid(grid, window), crs_wkt=epsg_wkt(DELIVERY_EPSG))


def attribute_rows(histogram, pixel_size, kind):
    """RAT rows (value, count, area_km2, area_perc, class_name) of the values present."""
    total = int(histogram.sum())
    names = class_names(kind)
    return [(value, int(count), round(int(count) * pixel_size * pixel_size / 1e6, 6),
             round(100.0 * int(count) / total, 6), names.get(value, f"value {value}"))
            for value, count in enumerate(histogram) if count]


# RAT column: GDAL type and usage; OGR type, width and precision in the .vat.dbf
_FIELDS = {
    "value": (gdal.GFT_Integer, gdal.GFU_MinMax, ogr.OFTInteger, 3, 0),
    "count": (gdal.GFT_Integer, gdal.GFU_PixelCount, ogr.OFTInteger, 10, 0),
    "area_km2": (gdal.GFT_Real, gdal.GFU_Generic, ogr.OFTReal, 16, 6),
    "area_perc": (gdal.GFT_Real, gdal.GFU_Generic, ogr.OFTReal, 11, 6),
    "class_name": (gdal.GFT_String, gdal.GFU_Name, ogr.OFTString, 64, 0),
}


def _attribute_table(rows):
    table = gdal.RasterAttributeTable()
    table.SetTableType(gdal.GRTT_THEMATIC)
    for column in RAT_COLUMNS:
        table.CreateColumn(column, *_FIELDS[column][:2])
    table.SetRowCount(len(rows))
    setters = {gdal.GFT_Integer: table.SetValueAsInt, gdal.GFT_Real: table.SetValueAsDouble,
               gdal.GFT_String: table.SetValueAsString}
    for index, row in enumerate(rows):
        for column, (name, value) in enumerate(zip(RAT_COLUMNS, row)):
            setters[_FIELDS[name][0]](index, column, value)
    return table


@contextlib.contextmanager
def _pam_side_files():
    """GDAL's .aux.xml side files on, in this thread, while a tile raster is written.

    qgis_process runs have them off (algorithms/lifecycle.py: nothing written beside inputs), but
    the attribute table of a GeoTIFF lives in exactly such a side file.
    """
    previous = gdal.GetThreadLocalConfigOption("GDAL_PAM_ENABLED", None)
    gdal.SetThreadLocalConfigOption("GDAL_PAM_ENABLED", "YES")
    try:
        yield
    finally:
        gdal.SetThreadLocalConfigOption("GDAL_PAM_ENABLED", previous)


def _recode_table(official):
    """A 256-entry lookup table of the delivered values, or None when they are the analysis'."""
    if not official.recode:
        return None
    table = np.arange(256, dtype=np.uint8)
    for value, delivered in official.recode:
        table[value] = delivered
    return table


def write_tile_raster(source, grid, window, target, official):
    """Write the tile raster and its GDAL attribute table (<target>.aux.xml); returns the rows."""
    kind = official.legend
    tile = _tile_grid(grid, window)
    histogram = np.zeros(256, dtype=np.int64)
    lookup = _recode_table(official)
    # The attribute table goes to <target>.aux.xml, which the writer moves into place with it.
    with _pam_side_files(), RasterWriter(target, tile, 1, np.uint8, NODATA, [PRODUCTS[official.source].description],
                                         color_table(kind), profile=profiles.DELIVERY) as writer:
        for block, (data,) in iter_padded_blocks(source, window, NODATA, BLOCK):
            if lookup is not None:
                data = lookup[data]
            histogram += np.bincount(data.ravel(), minlength=256)
            writer.write(block, data)
        rows = attribute_rows(histogram, grid.pixel_size, kind)
        writer.set_attribute_table(_attribute_table(rows))
    return rows


def write_vat_dbf(path, rows, date):
    """The attribute table as <name>.tif.vat.dbf (dBase, ArcGIS's raster attribute table)."""
    with atomic_path(path) as temporary:
        source = ogr.GetDriverByName("ESRI Shapefile").CreateDataSource(temporary)
        layer = source.CreateLayer(os.path.splitext(os.path.basename(temporary))[0],
                                   geom_type=ogr.wkbNone,
                                   options=[f"DBF_DATE_LAST_UPDATE={date}"])  # not today: deterministic
        for name in RAT_COLUMNS:
            kind, width, precision = _FIELDS[name][2:]
            field = ogr.FieldDefn(name, kind)
            field.SetWidth(width)
            field.SetPrecision(precision)
            layer.CreateField(field)
        for row in rows:
            feature = ogr.Feature(layer.GetLayerDefn())
            for name, value in zip(RAT_COLUMNS, row):
                feature.SetField(name, value)
            layer.CreateFeature(feature)
        layer = None
        source = None


def write_zip(path, files):
    """A deterministic zip: entries sorted by name, fixed date, fixed attributes."""
    with atomic_path(path) as temporary:
        with zipfile.ZipFile(temporary, "w") as archive:
            for name in sorted(files, key=os.path.basename):
                info = zipfile.ZipInfo(os.path.basename(name), date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3                # Unix, whatever the machine
                info.external_attr = 0o644 << 16
                with open(name, "rb") as handle:
                    archive.writestr(info, handle.read())


# -- ISO 19139 metadata -----------------------------------------------------------------------------

NAMESPACES = {"gmd": "http://www.isotc211.org/2005/gmd", "gco": "http://www.isotc211.org/2005/gco",
              "gml": "http://www.opengis.net/gml/3.2", "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
CODE_LISTS = "http://standards.iso.org/iso/19139/resources/gmxCodelists.xml"
for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)


def _qname(tag):
    prefix, name = tag.split(":")
    return f"{{{NAMESPACES[prefix]}}}{name}"


def _add(parent, path, text=None, **attributes):
    """Append the chain of elements `path` ('gmd:a/gmd:b') under `parent`; returns the last."""
    element = parent
    for tag in path.split("/"):
        element = ET.SubElement(element, _qname(tag))
    for key, value in attributes.items():
        element.set(_qname(key.replace("__", ":")) if "__" in key else key, value)
    if text is not None:
        element.text = str(text)
    return element


def _code(parent, path, code_list, value):
    _add(parent, path, value, codeList=f"{CODE_LISTS}#{code_list}", codeListValue=value)


def _contact(parent, path):
    party = _add(parent, path + "/gmd:CI_ResponsibleParty")
    _add(party, "gmd:organisationName/gco:CharacterString", plugin_metadata("author"))
    _add(party, "gmd:contactInfo/gmd:CI_Contact/gmd:address/gmd:CI_Address/"
                "gmd:electronicMailAddress/gco:CharacterString", plugin_metadata("email"))
    _code(party, "gmd:role/gmd:CI_RoleCode", "CI_RoleCode", "pointOfContact")


def geographic_bounds(grid):
    """(west, east, south, north) in degrees of a grid's extent, edges densified."""
    wgs84 = osr.SpatialReference()
    wgs84.ImportFromEPSG(4326)
    wgs84.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    source = osr.SpatialReference()
    source.ImportFromWkt(grid.crs_wkt)
    source.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    west, south, east, north = osr.CoordinateTransformation(source, wgs84).TransformBounds(
        *grid.bounds, 21)
    return tuple(round(value, 6) for value in (west, east, south, north))


def metadata_xml(stem, official, tile_grid, aoi, year_a, year_b, source_name, inputs):
    """The ISO 19139 metadata document (bytes) of one delivered tile."""
    date = reference_end(year_b)
    begin = f"{int(year_a) if official.change else int(year_b)}-01-01"
    period = f"{year_a}-{year_b}" if official.change else f"{year_b}"
    title = f"HRL {official.title} {period} ({official.resolution} m), EEA tile {aoi}"
    root = ET.Element(_qname("gmd:MD_Metadata"))
    root.set(_qname("xsi:schemaLocation"),
             "http://www.isotc211.org/2005/gmd "
             "http://schemas.opengis.net/csw/2.0.2/profiles/apiso/1.0.0/apiso.xsd")
    _add(root, "gmd:fileIdentifier/gco:CharacterString",
         uuid.uuid5(uuid.NAMESPACE_URL, f"{generation(year_a, year_b).prefix}/{stem}"))
    _code(root, "gmd:language/gmd:LanguageCode", "LanguageCode", "eng")
    _code(root, "gmd:characterSet/gmd:MD_CharacterSetCode", "MD_CharacterSetCode", "utf8")
    _code(root, "gmd:hierarchyLevel/gmd:MD_ScopeCode", "MD_ScopeCode", "dataset")
    _contact(root, "gmd:contact")
    _add(root, "gmd:dateStamp/gco:Date", date)
    _add(root, "gmd:metadataStandardName/gco:CharacterString", "ISO 19115:2003/19139")
    _add(root, "gmd:metadataStandardVersion/gco:CharacterString", "1.0")
    identifier = _add(root, "gmd:referenceSystemInfo/gmd:MD_ReferenceSystem/"
                            "gmd:referenceSystemIdentifier/gmd:RS_Identifier")
    _add(identifier, "gmd:code/gco:CharacterString",
         f"http://www.opengis.net/def/crs/EPSG/0/{DELIVERY_EPSG}")
    _add(identifier, "gmd:codeSpace/gco:CharacterString", "EPSG")

    data = _add(root, "gmd:identificationInfo/gmd:MD_DataIdentification")
    citation = _add(data, "gmd:citation/gmd:CI_Citation")
    _add(citation, "gmd:title/gco:CharacterString", title)
    citation_date = _add(citation, "gmd:date/gmd:CI_Date")
    _add(citation_date, "gmd:date/gco:Date", date)
    _code(citation_date, "gmd:dateType/gmd:CI_DateTypeCode", "CI_DateTypeCode", "creation")
    _add(citation, "gmd:identifier/gmd:MD_Identifier/gmd:code/gco:CharacterString", stem)
    _add(data, "gmd:abstract/gco:CharacterString",
         f"{official.title} ({PRODUCTS[official.source].description}) of the Copernicus "
         f"High Resolution Layer Imperviousness for {period} at {official.resolution} m, "
         f"EEA 100 km tile {aoi}, in EPSG:{DELIVERY_EPSG}; the values and their class names are "
         f"in the raster attribute table, {NODATA} is outside the area (no data). Produced "
         "following the HRL Imperviousness 2021 ATBD v1.4; an official Copernicus product only "
         "once accepted by the EEA.")
    _contact(data, "gmd:pointOfContact")
    keywords = _add(data, "gmd:descriptiveKeywords/gmd:MD_Keywords")
    for keyword in ("Land cover", "imperviousness", "Copernicus", "HRL"):
        _add(keywords, "gmd:keyword/gco:CharacterString", keyword)
    _add(data, "gmd:resourceConstraints/gmd:MD_Constraints/gmd:useLimitation/gco:CharacterString",
         "Produced by the user of the HRL Imperviousness QGIS plugin, not by the EEA.")
    _code(data, "gmd:spatialRepresentationType/gmd:MD_SpatialRepresentationTypeCode",
          "MD_SpatialRepresentationTypeCode", "grid")
    _add(data, "gmd:spatialResolution/gmd:MD_Resolution/gmd:distance/gco:Distance",
         official.resolution, uom="m")
    _code(data, "gmd:language/gmd:LanguageCode", "LanguageCode", "eng")
    _add(data, "gmd:topicCategory/gmd:MD_TopicCategoryCode", "imageryBaseMapsEarthCover")
    extent = _add(data, "gmd:extent/gmd:EX_Extent")
    box = _add(extent, "gmd:geographicElement/gmd:EX_GeographicBoundingBox")
    for tag, value in zip(("westBoundLongitude", "eastBoundLongitude", "southBoundLatitude",
                           "northBoundLatitude"), geographic_bounds(tile_grid)):
        _add(box, f"gmd:{tag}/gco:Decimal", f"{value:.6f}")
    time_period = _add(extent, "gmd:temporalElement/gmd:EX_TemporalExtent/gmd:extent/"
                               "gml:TimePeriod", gml__id="reference_period")
    _add(time_period, "gml:beginPosition", begin)
    _add(time_period, "gml:endPosition", date)

    _add(root, "gmd:distributionInfo/gmd:MD_Distribution/gmd:distributionFormat/gmd:MD_Format/"
               "gmd:name/gco:CharacterString", "GeoTIFF")
    quality = _add(root, "gmd:dataQualityInfo/gmd:DQ_DataQuality")
    _code(quality, "gmd:scope/gmd:DQ_Scope/gmd:level/gmd:MD_ScopeCode", "MD_ScopeCode", "dataset")
    _add(quality, "gmd:lineage/gmd:LI_Lineage/gmd:statement/gco:CharacterString",
         lineage_statement(source_name, aoi, inputs))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def lineage_statement(source_name, aoi, inputs):
    listed = "; ".join(inputs) if inputs else "none recorded"
    return (f"Produced with the QGIS plugin HRL Imperviousness (imperviousness_plugin) version "
            f"{plugin_metadata('version')}, which implements the HRL Imperviousness 2021 ATBD v1.4: "
            f"{source_name} cut to the EEA 100 km tile {aoi} on the 1 km grid (pixels not "
            f"covered are 255). Inputs: {listed}.")


def input_names(parameters, models):
    """'NAME: file name' of each run parameter that names an existing file or folder (outputs
    aside) and of each model file: file names only, never folders of this machine."""
    names = []
    for key, value in sorted((parameters or {}).items()):
        if key.startswith(("OUTPUT", "DELIVERY")) or not isinstance(value, str) or not value:
            continue
        if os.path.exists(value):
            names.append(f"{key}: {os.path.basename(os.path.normpath(value))}")
    for target, paths in sorted((models or {}).items()):
        names.append(f"MODELS_{target}: " + ", ".join(os.path.basename(str(p)) for p in paths))
    return names


# -- the delivery ---------------------------------------------------------------------------------

def deliverables(published):
    """The official products whose source the run published: [(official, path), ...]."""
    return [(official, published[official.source]) for official in OFFICIAL
            if published.get(official.source)]


def check_deliverables(published):
    """Check every deliverable's grid before anything is written."""
    for official, path in deliverables(published):
        dataset = open_raster(path)
        check_grid(official, path, Grid.of_dataset(dataset), dataset.GetRasterBand(1).DataType)


def deliver_tile(official, source, grid, aoi, window, folder, year_a, year_b, version, inputs,
                 source_name):
    """Write one product's tile (folder with five files) and its zip; returns the zip's path."""
    stem = official.file_stem(year_a, year_b, aoi, *version)
    tile_folder = os.path.join(folder, stem)
    tif = os.path.join(tile_folder, stem + ".tif")
    rows = write_tile_raster(source, grid, window, tif, official)
    write_vat_dbf(tif + ".vat.dbf", rows, reference_end(year_b))
    write_bytes(os.path.join(tile_folder, stem + ".xml"),
                metadata_xml(stem, official, _tile_grid(grid, window), aoi, year_a, year_b,
                             source_name, inputs))
    write_text(os.path.join(tile_folder, stem + ".qml"), render_qml(official.legend))
    target = os.path.join(folder, stem + ".zip")
    write_zip(target, [tif] + [os.path.join(tile_folder, stem + ext) for ext in SIDE_EXTENSIONS])
    return target


# -- versions and earlier deliveries ----------------------------------------------------------------

VERSION_RANGES = {"DELIVERY_VERSION": (1, 99), "DELIVERY_RELEASE": (0, 99)}
DELIVERED_NAME = re.compile(r"^(?P<prefix>clms_(?:hrl)?nvlcc)_(?P<code>[a-z]+)_(?P<period>[sc][0-9-]+)_"
                            r"r(?P<res>\d+)m_(?P<aoi>[0-9a-zA-Z]{6})_(?P<epsg>\d{5})_"
                            r"v(?P<version>\d{2})_r(?P<release>\d{2})$")
README = "README.txt"


def version_number(value, name, default):
    """DELIVERY_VERSION (1..99) or DELIVERY_RELEASE (0..99) from a number or text; None or ''
    gives `default`; anything else (a path, letters, 1.5, 100) is refused by name."""
    low, high = VERSION_RANGES[name]
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not re.fullmatch(r"[0-9]{1,2}", text) or not low <= int(text) <= high:
        raise ImperviousnessError(f"{name} must be a whole number from {low} to {high} (it names the "
                                  f"files ..._v<NN>_r<NN>), not {value!r}.")
    return int(text)


def planned_stems(published, year_a, year_b, version, aois=None):
    """[(official, path, [(aoi, window, stem)])] of what write_delivery writes (only the tiles in
    `aois` when given)."""
    planned = []
    for official, path in deliverables(published):
        grid = Grid.of_dataset(open_raster(path))
        planned.append((official, path, [(aoi, window, official.file_stem(year_a, year_b, aoi, *version))
                                         for aoi, window in delivery_tiles(grid)
                                         if aois is None or aoi in aois]))
    return planned


def earlier_delivery(folder):
    """{stem: match} of the delivered zips already in `folder`."""
    if not os.path.isdir(folder):
        return {}
    found = {}
    for name in sorted(os.listdir(folder)):
        match = DELIVERED_NAME.match(name[:-4]) if name.endswith(".zip") else None
        if match:
            found[name[:-4]] = match
    return found


def check_earlier_delivery(folder, stems):
    """Refuse to mix with an earlier delivery of `folder`: returns the earlier stems to remove
    (same version, tiles and years: the new one replaces it), else raises naming the difference."""
    earlier = earlier_delivery(folder)
    if not earlier:
        return []
    new = {stem: DELIVERED_NAME.match(stem) for stem in stems}

    def describe(matches, key):
        return sorted({match[key] for match in matches.values()})

    for key, what in (("version", "version"), ("release", "release"), ("aoi", "tiles")):
        if describe(earlier, key) != describe(new, key):
            raise ImperviousnessError(
                f"The delivery folder {folder} holds an earlier delivery of {what} "
                f"{', '.join(describe(earlier, key))}; this one has {', '.join(describe(new, key))}. "
                "One folder holds one delivery: choose another DELIVERY_FOLDER, or remove the "
                "earlier delivery, or deliver the same version and tiles to replace it.")
    years = {(match["prefix"], match["period"]) for match in earlier.values()}
    if not years <= {(match["prefix"], match["period"]) for match in new.values()}:
        raise ImperviousnessError(
            f"The delivery folder {folder} holds an earlier delivery of other years "
            f"({', '.join(sorted(stem for stem in earlier if stem not in new)[:3])}, ...): choose another "
            "DELIVERY_FOLDER or remove it.")
    return sorted(set(earlier) - set(new))


def remove_delivered(folder, stem):
    """Remove one delivered tile of an earlier delivery (its zip and its folder)."""
    os.remove(os.path.join(folder, stem + ".zip"))
    shutil.rmtree(os.path.join(folder, stem), ignore_errors=True)


def readme_text(planned, year_a, year_b, version):
    """README.txt of a delivery: what it holds and how it is named."""
    names = generation(year_a, year_b)
    lines = [f"HRL Imperviousness delivery {year_a}-{year_b}, version v{version[0]:02d}_r{version[1]:02d}",
             "", names.note, ""]
    tiles = sorted({aoi for _, _, stems in planned for aoi, _, _ in stems})
    lines.append(f"EEA 100 km tiles: {', '.join(tiles)}")
    lines.append("Products (one zip per product and tile):")
    for official, path, stems in planned:
        lines.append(f"  {official.definition(year_a, year_b)}: {len(stems)} tile(s), from "
                     f"{os.path.basename(path)}")
    if any(official.recode for official, _, _ in planned):
        lines += ["", "IBUC: the delivered file has only 0, 1, 2, 10 and 255, as every EEA IBUC definition "
                  "allows; ATBD Table 5's classes 11 (increase) and 12 (decrease of built-up density) are "
                  "delivered as 10 (unchanged built-up). The analysis product IBUC keeps Table 5. IMCC "
                  "and SBCC keep 11 and 12, which their definitions list."]
    return "\n".join(lines) + "\n"


def check_delivery(published, folder, year_a, year_b, version, aois=None):
    """Everything write_delivery refuses, before anything is written: the version numbers, the
    products' grids, an earlier delivery in `folder`. Returns (version, planned, stems to remove)."""
    version = (version_number(version[0], "DELIVERY_VERSION", 1),
               version_number(version[1], "DELIVERY_RELEASE", 0))
    check_deliverables(published)
    planned = planned_stems(published, year_a, year_b, version, aois)
    replaced = check_earlier_delivery(folder, [stem for _, _, stems in planned for _, _, stem in stems])
    return version, planned, replaced


def write_delivery(published, folder, year_a, year_b, version=(1, 0), inputs=(), progress=None,
                   aois=None):
    """Deliver every official product in `published` ({publish parameter: path}) into `folder`.

    version: (vNN, rNN) of the file names. inputs: the lineage's input names (input_names()).
    An earlier delivery in `folder` is replaced (same version and tiles) or refused. aois: the
    EEA tile codes to deliver (None: every tile the products touch).
    Returns the written zip paths, in catalogue and tile order.
    """
    version, planned, replaced = check_delivery(published, folder, year_a, year_b, version, aois)
    for stem in replaced:
        remove_delivered(folder, stem)
    zips = []
    for official, path, stems in planned:
        source = open_raster(path)
        grid = Grid.of_dataset(source)
        for aoi, window, _ in stems:
            if progress:
                progress.check_cancelled()
            zips.append(deliver_tile(official, source, grid, aoi, window, folder, year_a, year_b,
                                     version, list(inputs), os.path.basename(path)))
        if progress:
            progress.info(f"EEA delivery: {official.code} {official.resolution} m")
            progress.step()
    write_text(os.path.join(folder, README), readme_text(planned, year_a, year_b, version))
    return zips
