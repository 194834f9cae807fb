"""The sealing mask IMD_MSK of the IMD calibration (ATBD 4.3.2, Figures 14 to 18; SPEC 9).

The mask says where the calibrated IMD may be non-zero: the calibration is fitted inside the
year-A mask and applied inside the year-B mask; everything outside is 0.

Inputs: an imperviousness layer (IMD_A for year A, the raw U-Net prediction RIMD_B for year B;
Byte densities 0..100, 255 or the declared nodata = nodata) and a layer with a sealed class
(CLCplus Backbone, class 1 = sealed; or, for users without CLCplus, any raster of class codes or
any polygon layer, e.g. CORINE Land Cover with codes 1xx = artificial surfaces).

Interpretations of the ATBD text (each one a parameter with this default; SPEC 9):

* The mask combines the sealed class with the density input (COMBINE, default union): a pixel is
  in the mask when it is in the sealed class OR its density is at least THRESHOLD (default 90 %).
  ATBD 4.3.2: "a threshold of 90% is applied to the inputs of the IMD layer (either the 2018 IMD
  layer or 2021 raw classification)", so the 90 % belongs to the density (IMD_A or RIMD_B), and
  CLCplus "refines and enhances" the outline and transfers its commission errors (ATBD 4.3, 5),
  which only a union allows. Low-density pixels (< THRESHOLD) count only inside the sealed class.
* COMBINE = intersection (the reading before issue 13): sealed class AND outline, the outline
  being the footprint density >= OUTLINE_MIN (default 1 %). Low-density pixels count inside the
  sealed class; every pixel outside it, even 100 % dense, is 0 in the product.
* COMBINE = outline: the footprint density >= OUTLINE_MIN alone, the sealed class ignored: every
  low-density pixel counts, the raw prediction's false positives in vegetation too.
* Sealed class: a pixel is in it when at least SEALED_SHARE percent (default 50: most of the
  pixel) of its area lies in the class. For a raster of class codes on the output grid the share
  is 0 or 100 %, so the rule reduces to "the pixel's code is a sealed code". For a polygon layer
  the share is measured on a 10 x 10 sub-pixel grid (exact 1 % steps). SEALED_SHARE = 90 with
  COMBINE = intersection reproduces the masks written before issue 13.
* Nodata: 255 where the imperviousness layer is nodata, or (union, intersection) where a
  sealed-class raster is nodata (unknown cover must not silently become "not sealed"). A polygon
  layer has no nodata: outside its polygons is "not sealed".

The reading used is written into the mask's metadata (COMBINE, THRESHOLD, OUTLINE_MIN,
SEALED_SHARE, RULE), from where the calibration records it (`mask_reading`).

Values: SEALED_VALUES is a comma-separated list of codes (`1`), ranges (`111-142`) and shell
patterns (`1*`, matched on the code written as text, so `1*` selects the CLC codes starting with
1). For a polygon layer the codes are read from SEALED_FIELD; with no field, every polygon is
sealed. A polygon layer in another CRS is reprojected onto the grid once (OGR/PROJ).

Output: Byte 1 = sealing mask, 0 = not, 255 = nodata, on the imperviousness layer's grid. A raster
sealed-class layer must be on the same grid (a clear error names both grids otherwise).
"""

import fnmatch
import re
from dataclasses import dataclass

import numpy as np
from osgeo import gdal, ogr, osr

from ..errors import ImperviousnessError
from ..progress import StepProgress
from ..io.encoding import NODATA
from ..io.raster import (RasterInput, RasterWriter, count_blocks, iter_blocks, rasterize_coverage,
                         require_same_grid, spatial_reference, transform_bounds)

gdal.UseExceptions()
ogr.UseExceptions()

DEFAULT_THRESHOLD = 90.0        # density (IMD_A / RIMD_B) joining the mask under union
DEFAULT_OUTLINE_MIN = 1.0       # density of the footprint (intersection, outline)
DEFAULT_SEALED_SHARE = 50.0     # share of a pixel in a polygon sealed class
DEFAULT_SEALED_VALUES = "1"
# Enum order kept from before issue 13 (0 intersection, 1 union) so saved indices keep meaning.
COMBINE_MODES = ("intersection", "union", "outline")
DEFAULT_COMBINE = "union"
COVERAGE_SUPERSAMPLE = 10       # 10 x 10 sub-pixels: polygon shares in exact 1 % steps
RASTER_BLOCK = 512
VECTOR_BLOCK = 256              # 256^2 x 100 sub-pixels = 6.5 MB per rasterised block
MASK_COLORS = {0: (240, 240, 240, 255), 1: (230, 0, 0, 255), NODATA: (0, 0, 0, 0)}
MASK_DESCRIPTION = "IMD_MSK sealing mask: 1 sealed, 0 not sealed, 255 nodata"


# ------------------------------------------------------------------------- the sealed codes

_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class SealedValues:
    """The codes of the sealed class: exact values, inclusive ranges and shell patterns."""

    values: tuple = ()
    ranges: tuple = ()
    patterns: tuple = ()
    text: str = ""

    @classmethod
    def parse(cls, text):
        """Parse `1`, `1,2`, `111-142`, `1*` (comma-separated, spaces ignored)."""
        items = [item.strip() for item in str(text if text is not None else "").split(",")]
        items = [item for item in items if item]
        if not items:
            raise ImperviousnessError("SEALED_VALUES is empty; give the sealed class code(s), e.g. 1 or 1*.")
        values, ranges, patterns = [], [], []
        for item in items:
            if any(char in item for char in "*?["):
                patterns.append(item)
            elif _RANGE.match(item):
                low, high = (float(part) for part in _RANGE.match(item).groups())
                if low > high:
                    raise ImperviousnessError(f"SEALED_VALUES: the range {item!r} is empty (start > end).")
                ranges.append((low, high))
            else:
                values.append(item)
        return cls(tuple(values), tuple(ranges), tuple(patterns), ", ".join(items))

    def matches(self, value):
        """True when one attribute or code value is sealed (numbers compare as numbers)."""
        if value is None:
            return False
        text = _as_text(value)
        number = _as_number(text)
        for item in self.values:
            item_number = _as_number(item)
            if text == item or (number is not None and item_number is not None and number == item_number):
                return True
        if number is not None and any(low <= number <= high for low, high in self.ranges):
            return True
        return any(fnmatch.fnmatchcase(text, pattern) for pattern in self.patterns)

    def code_mask(self, codes):
        """Boolean array: which entries of an integer code array are sealed codes."""
        unique = np.unique(codes)
        sealed = [code for code in unique.tolist() if self.matches(code)]
        return np.isin(codes, np.array(sealed, dtype=codes.dtype)) if sealed else np.zeros(codes.shape, bool)


def _as_text(value):
    """A code as text: whole numbers without a decimal point (1.0 -> '1')."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value).strip()


def _as_number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------------- the array kernel

def mask_block(density, density_valid, sealed_percent, sealed_valid, threshold=DEFAULT_THRESHOLD,
               outline_min=DEFAULT_OUTLINE_MIN, combine=DEFAULT_COMBINE,
               sealed_share=DEFAULT_SEALED_SHARE):
    """The sealing mask of one block: uint8 1 / 0, 255 where an input it uses is nodata.

    density: 0..100 (IMD_A or RIMD_B); sealed_percent: share (0..100) of each pixel in the sealed
    class; the *_valid arrays are boolean. combine: union (sealed class OR density >= threshold),
    intersection (sealed class AND density >= outline_min) or outline (density >= outline_min).
    """
    sealed = sealed_percent >= sealed_share
    if combine == "union":
        inside = sealed | (density >= threshold)
    elif combine == "intersection":
        inside = sealed & (density >= outline_min)
    else:
        inside = density >= outline_min
    mask = inside.astype(np.uint8)
    valid = density_valid if combine == "outline" else density_valid & sealed_valid
    mask[~valid] = NODATA
    return mask


def mask_rule(combine, threshold, outline_min, sealed_share):
    """The mask's rule in words (written into the mask and the calibration file)."""
    sealed = f"sealed class (share >= {sealed_share:g} %)"
    if combine == "union":
        return f"{sealed} OR density >= {threshold:g} %"
    if combine == "intersection":
        return f"{sealed} AND density >= {outline_min:g} %"
    return f"density >= {outline_min:g} % (sealed class ignored)"


def mask_reading(path):
    """The reading a sealing-mask file was made with (its metadata), for the calibration records.

    A mask not written by run_sealing_mask has no such metadata: {"rule": "unknown ..."}.
    """
    dataset = gdal.Open(str(path))
    metadata = dataset.GetMetadata() or {}
    dataset = None
    if "COMBINE" not in metadata:
        return {"rule": "unknown (the mask was not written by imperviousness:sealingmask)"}
    reading = {"combine": metadata["COMBINE"], "rule": metadata.get("RULE", "")}
    for key in ("THRESHOLD", "OUTLINE_MIN", "SEALED_SHARE"):
        if key in metadata:
            reading[key.lower()] = float(metadata[key])
    return reading


# ------------------------------------------------------------------------- the sealed-class input

@dataclass
class SealedSource:
    """Where the sealed class comes from: a raster of codes or a polygon layer.

    path may carry QGIS-style suffixes: `file.gpkg|layername=clc18_mt|subset=...`. kind is
    'raster', 'vector' or None (guessed: a layer name means vector; otherwise a file GDAL opens as
    a raster is a raster, else a vector).
    """

    path: str
    kind: str = None
    layer: str = None
    subset: str = None

    @classmethod
    def of(cls, source, kind=None, layer=None, subset=None):
        if isinstance(source, SealedSource):
            return source
        parts = str(source).split("|")
        path, options = parts[0], {}
        for part in parts[1:]:
            key, _, value = part.partition("=")
            options[key.strip().lower()] = value
        return cls(path, kind, layer or options.get("layername"), subset or options.get("subset"))

    def resolved_kind(self):
        if self.kind in ("raster", "vector"):
            return self.kind
        if self.kind is not None:
            raise ImperviousnessError(f"Unknown kind {self.kind!r} of the sealed-class layer; use raster or vector.")
        if self.layer:
            return "vector"
        try:
            if gdal.OpenEx(self.path, gdal.OF_RASTER | gdal.OF_READONLY) is not None:
                return "raster"
        except RuntimeError:
            pass
        return "vector"

    def describe(self):
        return self.path + (f" (layer {self.layer})" if self.layer else "")


class _RasterSealedCover:
    """Sealed share (0 or 100 %) of each pixel from a raster of class codes on the grid."""

    def __init__(self, source, outline_input, values, name):
        self.input = RasterInput(source.path, name)
        self.values = values
        self.block_size = RASTER_BLOCK
        require_same_grid([outline_input, self.input], "sealing mask")
        self.summary = {"kind": "raster", "path": source.path}

    def read(self, window):
        codes, valid = self.input.read(window)
        sealed = valid & self.values.code_mask(codes)
        return np.where(sealed, 100, 0).astype(np.uint8), valid


class _VectorSealedCover:
    """Sealed share of each pixel from polygons, reprojected once into the grid's CRS."""

    def __init__(self, source, grid, values, field, name):
        self.block_size = VECTOR_BLOCK
        self.grid = grid
        self._dataset, layer = _open_vector_layer(source, name)
        # The memory datasource must outlive its layer: keep both.
        self._memory, self.layer, used, total = _selected_polygons(layer, source, grid, values, field, name)
        self.summary = {"kind": "vector", "path": source.path, "layer": layer.GetName(),
                        "features_sealed": used, "features_in_extent": total,
                        "field": field or None}

    def read(self, window):
        share = rasterize_coverage(self.layer, self.grid, window, COVERAGE_SUPERSAMPLE)
        return share, np.ones(share.shape, dtype=bool)


def _open_vector_layer(source, name):
    try:
        dataset = gdal.OpenEx(source.path, gdal.OF_VECTOR | gdal.OF_READONLY)
    except RuntimeError as error:
        raise ImperviousnessError(f"Cannot open {name} ({source.path}) as a raster or a vector layer: {error}") from None
    if dataset is None:
        raise ImperviousnessError(f"Cannot open {name} ({source.path}) as a raster or a vector layer.")
    names = [dataset.GetLayer(index).GetName() for index in range(dataset.GetLayerCount())]
    if source.layer:
        layer = dataset.GetLayerByName(source.layer)
        if layer is None:
            raise ImperviousnessError(f"{name} ({source.path}) has no layer {source.layer!r}; it has: {', '.join(names)}.")
    elif len(names) == 1:
        layer = dataset.GetLayer(0)
    else:
        raise ImperviousnessError(
            f"{name} ({source.path}) holds {len(names)} layers ({', '.join(names)}); name one, e.g. "
            f"{source.path}|layername={names[0] if names else '...'}.")
    if source.subset:
        try:
            layer.SetAttributeFilter(source.subset)
        except RuntimeError as error:
            raise ImperviousnessError(f"{name}: the filter {source.subset!r} is not valid: {error}") from None
    return dataset, layer


def _selected_polygons(layer, source, grid, values, field, name):
    """A memory layer (grid CRS) with the features whose `field` matches `values`.

    Only features meeting the grid's extent are copied. Returns (memory datasource, its layer,
    sealed count, count in extent).
    """
    definition = layer.GetLayerDefn()
    field_index = None
    if field:
        field_index = definition.GetFieldIndex(field)
        if field_index < 0:
            fields = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
            raise ImperviousnessError(f"{name} ({source.describe()}) has no field {field!r}; fields: {', '.join(fields)}.")
    target = spatial_reference(grid.crs_wkt) if grid.crs_wkt else None
    layer_srs = layer.GetSpatialRef()
    transform = None
    if layer_srs is not None and target is not None:
        layer_srs = layer_srs.Clone()
        layer_srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        if not layer_srs.IsSame(target):
            transform = osr.CoordinateTransformation(layer_srs, target)
            bounds = transform_bounds(grid.bounds, grid.crs_wkt, layer_srs.ExportToWkt())
        else:
            bounds = grid.bounds
    else:
        bounds = grid.bounds
    layer.SetSpatialFilterRect(*bounds)
    memory = ogr.GetDriverByName("Memory").CreateDataSource("sealed")
    sealed_layer = memory.CreateLayer("sealed", srs=target, geom_type=ogr.wkbUnknown)
    used = total = 0
    try:
        layer.ResetReading()
        for feature in layer:
            geometry = feature.GetGeometryRef()
            if geometry is None or geometry.IsEmpty():
                continue
            total += 1
            if field_index is not None and not values.matches(feature.GetField(field_index)):
                continue
            geometry = geometry.Clone()
            if transform is not None:
                geometry.Transform(transform)
            out = ogr.Feature(sealed_layer.GetLayerDefn())
            out.SetGeometry(geometry)
            sealed_layer.CreateFeature(out)
            used += 1
    finally:
        layer.SetSpatialFilter(None)
    if used == 0:
        which = f"with {field} matching {values.text}" if field else "at all"
        raise ImperviousnessError(
            f"{name} ({source.describe()}) has no polygon {which} inside the extent of IMPERVIOUSNESS "
            f"({total} features there); check SEALED_FIELD and SEALED_VALUES.")
    return memory, sealed_layer, used, total


# ------------------------------------------------------------------------- the raster routine

def _check_parameters(threshold, outline_min, combine, sealed_share):
    if not 0 < threshold <= 100:
        raise ImperviousnessError(f"THRESHOLD must lie in (0, 100] percent, not {threshold:g}.")
    if not 0 < sealed_share <= 100:
        raise ImperviousnessError(f"SEALED_SHARE must lie in (0, 100] percent, not {sealed_share:g}.")
    if not 0 <= outline_min <= 100:
        raise ImperviousnessError(f"OUTLINE_MIN must lie in 0..100 percent, not {outline_min:g}.")
    if combine not in COMBINE_MODES:
        raise ImperviousnessError(f"COMBINE must be one of {', '.join(COMBINE_MODES)}, not {combine!r}.")


def check_density(values, valid, name, path):
    """Refuse densities outside 0..100 (a sign of a wrong input layer)."""
    density = values[valid]
    if density.size and (density.min() < 0 or density.max() > 100):
        raise ImperviousnessError(
            f"{name} ({path}) holds {density.min():g}..{density.max():g}; expected densities 0..100 "
            "(percent) and 255 as nodata.")


def run_sealing_mask(imperviousness, clcplus, output, sealed_values=DEFAULT_SEALED_VALUES,
                     sealed_field=None, threshold=DEFAULT_THRESHOLD, outline_min=DEFAULT_OUTLINE_MIN,
                     combine=DEFAULT_COMBINE, clcplus_kind=None, feedback=None,
                     sealed_share=DEFAULT_SEALED_SHARE):
    """Write the sealing mask IMD_MSK (module docstring) and return its statistics (a dict).

    imperviousness: IMD_A or the raw prediction RIMD_B (path); clcplus: path of a raster of codes
    or of a polygon layer (`file.gpkg|layername=...` or a SealedSource); output: GeoTIFF path.
    """
    _check_parameters(threshold, outline_min, combine, sealed_share)
    values = SealedValues.parse(sealed_values)
    outline_input = RasterInput(imperviousness, "IMPERVIOUSNESS")
    grid = outline_input.grid
    source = SealedSource.of(clcplus, kind=clcplus_kind)
    if source.resolved_kind() == "raster":
        cover = _RasterSealedCover(source, outline_input, values, "CLCPLUS")
    else:
        cover = _VectorSealedCover(source, grid, values, sealed_field, "CLCPLUS")
    progress = StepProgress(feedback, count_blocks(grid.width, grid.height, cover.block_size))
    counts = {"valid": 0, "outline": 0, "dense": 0, "sealed_class": 0, "mask": 0}
    rule = mask_rule(combine, threshold, outline_min, sealed_share)
    metadata = {"THRESHOLD": f"{threshold:g}", "OUTLINE_MIN": f"{outline_min:g}",
                "SEALED_SHARE": f"{sealed_share:g}", "COMBINE": combine, "RULE": rule,
                "SEALED_VALUES": values.text, "SEALED_FIELD": sealed_field or ""}
    with RasterWriter(output, grid, 1, np.uint8, NODATA, [MASK_DESCRIPTION],
                      color_table=MASK_COLORS, metadata=metadata) as writer:
        for window in iter_blocks(grid.width, grid.height, cover.block_size):
            density, density_valid = outline_input.read(window)
            check_density(density, density_valid, "IMPERVIOUSNESS", imperviousness)
            share, share_valid = cover.read(window)
            mask = mask_block(density, density_valid, share, share_valid, threshold, outline_min,
                              combine, sealed_share)
            valid = mask != NODATA
            counts["valid"] += int(valid.sum())
            counts["outline"] += int((valid & (density >= outline_min)).sum())
            counts["dense"] += int((valid & (density >= threshold)).sum())
            counts["sealed_class"] += int((valid & (share >= sealed_share)).sum())
            counts["mask"] += int((mask == 1).sum())
            writer.write(window, mask)
            progress.step()
    summary = dict(counts, combine=combine, threshold=threshold, outline_min=outline_min,
                   sealed_share=sealed_share, rule=rule, sealed_values=values.text,
                   source=cover.summary, grid=grid.describe())
    progress.info(
        f"Sealing mask ({rule}): {counts['mask']} of {counts['valid']} valid pixels (sealed class "
        f"{counts['sealed_class']}, density >= {threshold:g} % {counts['dense']}, outline >= "
        f"{outline_min:g} % {counts['outline']}).")
    if counts["mask"] == 0:
        progress.info("Warning: the sealing mask is empty; calibration and application will refuse it.")
    return summary
