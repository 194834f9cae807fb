"""imperviousness:aligngrid: pad a raster outward onto the kilometre grid, without resampling.

The models start by putting IMD_A, IBU_A and the CLCplus layers through this step, and the PP
stacks (computed on IMD_A's extent) onto the grid of the aligned IMD_A (GRID), so that every
product has its origin and its extent on whole kilometres, as the EEA's QC tool wants of a
delivered product (origin check); pixels outside IMD_A stay nodata.

The output is the input's own pixels inside a frame of nodata: the window of the input grid
that covers it grown outward to whole multiples of ALIGNMENT (grid.aligned_window, the rule
the EEA delivery cuts its tiles with), or the extent of GRID, a raster on the same pixels. The
fill is the band's declared nodata; a raster that declares none is padded with the NODATA the
user chooses, or NaN for floats; an integer raster without either is refused (a silent 255 would
turn its real 255 values into nodata). Band descriptions, the colour table, the metadata and a
QML style beside the input are kept. An input already on the target grid (nothing to pad: an
EEA tile, a PP stack computed on the aligned reference's extent) is not written again: the
output is the input's file, hard-linked (or copied) under the output's name, with the nodata
declaration and ALIGNED_FROM in the output's .aux.xml.
"""

import html
import math
import os
import shutil

import numpy as np
from osgeo import gdal

from ..errors import ImperviousnessError
from ..io import atomic
from ..io.encoding import NODATA
from ..io.grid import Grid, Window, aligned_window, check_alignable, window_grid
from ..io.raster import (ALIGNED_FROM, RasterWriter, band_descriptions, count_blocks, gdal_array_dtype,
                         iter_padded_blocks, open_raster)
from ..progress import StepProgress
from .catalogue import DELIVERY_GRID
from .styles import style_path_beside

DEFAULT_ALIGNMENT = float(DELIVERY_GRID)   # metres: the EEA's 1 km grid
BLOCK = 512


def padding_value(band, name, nodata=None):
    """The value padded pixels get: the declared nodata, else `nodata` (the user's choice), else
    NaN for floats; an integer raster without either is refused."""
    declared = band.GetNoDataValue()
    if declared is not None:
        return declared
    dtype = gdal_array_dtype(band.DataType)
    if nodata is not None:
        if dtype.kind != "f" and not (float(nodata).is_integer()
                                      and np.iinfo(dtype).min <= nodata <= np.iinfo(dtype).max):
            raise ImperviousnessError(f"{name}: NODATA {nodata:g} is not a value of its "
                                      f"{gdal.GetDataTypeName(band.DataType)} pixels.")
        return float(nodata)
    if dtype.kind == "f":
        return math.nan
    raise ImperviousnessError(
        f"{name}: the raster is {gdal.GetDataTypeName(band.DataType)} without a declared nodata "
        "value, so the padding would be indistinguishable from data (e.g. a real 255). Give the "
        f"value the padding takes with NODATA (e.g. {NODATA} for HRL layers whose 255 means "
        "outside the area), or declare the raster's nodata first (gdal_edit.py -a_nodata).")


def _colour_table(band):
    """The band's colour table as {value: rgba}, or None."""
    table = band.GetColorTable()
    if table is None:
        return None
    return {index: table.GetColorEntry(index) for index in range(table.GetCount())}


def _described(path):
    """A plain open of `path` for what an OVERVIEW_LEVEL=NONE open hides (metadata)."""
    return gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_READONLY)


def window_onto(grid, target, name, target_name):
    """The window of `grid` that is `target`: a grid on the same pixels that covers `grid`."""
    if not grid.same_lattice(target):
        raise ImperviousnessError(
            f"{name} ({grid.describe()}) is not on the pixels of {target_name} ({target.describe()}): "
            "same CRS, pixel size and an origin a whole number of pixels away are needed.")
    xmin, ymin, xmax, ymax = grid.bounds
    txmin, tymin, txmax, tymax = target.bounds
    tolerance = 1e-6 * grid.pixel_size
    if (txmin > xmin + tolerance or tymin > ymin + tolerance
            or txmax < xmax - tolerance or tymax < ymax - tolerance):
        raise ImperviousnessError(
            f"{target_name} ({target.describe()}) does not cover {name} ({grid.describe()}); "
            "the output would have to drop pixels.")
    x0, dx, _, y0, _, dy = grid.geotransform
    return Window(round((target.geotransform[0] - x0) / dx), round((target.geotransform[3] - y0) / dy),
                  target.width, target.height)


def run_align_grid(input_path, output_path, alignment=DEFAULT_ALIGNMENT, grid_path=None, bounds=None,
                   feedback=None, nodata=None):
    """Write `input_path` padded outward with nodata so that all four edges lie on whole
    multiples of `alignment` around `bounds` (default: the input's own), or, with `grid_path`,
    onto the extent of that raster (same pixels, covering the input); returns the output grid.
    Pixels inside are copied unchanged. `nodata`: the padding (and declared nodata) of a raster
    that declares none (padding_value)."""
    name = os.path.basename(str(input_path))
    if not alignment > 0:
        raise ImperviousnessError(f"ALIGNMENT must be a positive distance in metres, not {alignment:g}.")
    source = open_raster(input_path)
    grid = Grid.of_dataset(source)
    if grid_path:
        window = window_onto(grid, Grid.of_dataset(open_raster(grid_path)), name,
                             os.path.basename(str(grid_path)))
    else:
        check_alignable(grid, float(alignment), name)
        window = aligned_window(grid, float(alignment), bounds)
    first = source.GetRasterBand(1)
    fill = padding_value(first, name, nodata)
    target = window_grid(grid, window)
    described = _described(input_path)
    if _on_target_already(window, grid, described, input_path):
        _copy_unpadded(input_path, output_path, fill, described)
        _copy_style(input_path, output_path)
        return target
    progress = StepProgress(feedback, count_blocks(target.width, target.height, BLOCK))
    bands = range(1, source.RasterCount + 1)
    with RasterWriter(output_path, target, source.RasterCount, gdal_array_dtype(first.DataType), fill,
                      band_descriptions(input_path), color_table=_colour_table(first),
                      metadata=_metadata(described, input_path)) as writer:
        for index in bands:
            metadata = described.GetRasterBand(index).GetMetadata() or {}
            writer.dataset.GetRasterBand(index).SetMetadata(metadata)
        for block, data in iter_padded_blocks(source, window, fill, BLOCK, bands):
            writer.write(block, data)
            progress.step()
    _copy_style(input_path, output_path)
    return target


def _on_target_already(window, grid, described, input_path):
    """True when nothing needs padding (an EEA tile, or a PP stack on the aligned reference's
    grid) and the input is a GeoTIFF whose file holds all it says (no .aux.xml beside it)."""
    return (window == Window(0, 0, grid.width, grid.height)
            and described.GetDriver().ShortName == "GTiff"
            and not os.path.exists(str(input_path) + ".aux.xml"))


def _copy_unpadded(input_path, output_path, fill, described):
    """The output of an input already on the target grid: the input's file itself, hard-linked
    under the output's name (no byte written: a whole tile's two PP stacks are ~14 GB of scratch
    otherwise), where the file system allows, else a byte copy; nothing is decoded or compressed
    again. What a padded copy adds (the fill as declared nodata where none is, ALIGNED_FROM) goes
    into the output's own .aux.xml beside it (GDAL's side file, read wherever the file is
    opened), so the input's file is never modified."""
    output_path = os.path.abspath(str(output_path))
    side = output_path + ".aux.xml"
    with atomic.atomic_path(output_path) as temporary:
        try:
            os.link(str(input_path), temporary)
        except OSError:   # another file system, or links not supported
            shutil.copyfile(str(input_path), temporary)
    # Written by hand: GDAL's GeoTIFF driver, read-only, keeps one nodata for all bands and
    # records it in the side file for the first band only.
    nodata = "" if described.GetRasterBand(1).GetNoDataValue() is not None else "".join(
        f'  <PAMRasterBand band="{index}"><NoDataValue>{fill!r}</NoDataValue></PAMRasterBand>\n'
        for index in range(1, described.RasterCount + 1))
    items = "".join(f"    <MDI key=\"{html.escape(str(key))}\">{html.escape(str(value), quote=False)}</MDI>\n"
                    for key, value in sorted(_metadata(described, input_path).items()))
    atomic.write_text(side, f"<PAMDataset>\n  <Metadata>\n{items}  </Metadata>\n{nodata}</PAMDataset>\n")


def _metadata(described, input_path):
    metadata = dict(described.GetMetadata() or {})
    metadata.setdefault(ALIGNED_FROM, os.path.basename(str(input_path)))
    return metadata


def _copy_style(input_path, output_path):
    """The QML style beside the input, if any, beside the output too (QGIS loads it with it)."""
    style = style_path_beside(input_path)
    if os.path.isfile(style):
        atomic.copy_file(style, style_path_beside(output_path))
