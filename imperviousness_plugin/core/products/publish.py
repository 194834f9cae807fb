"""Publish a run's layers as the HRL product set: HRL file names, QML styles, and a report.

A Graphical Modeler model (QGIS 3.22) cannot name its intermediate outputs by expression, so the
models compute every layer into temporary files and hand them to `imperviousness:publish`, which
copies each one under its HRL name into one folder (a byte copy through GDAL's CreateCopy of the
GeoTIFF, never a re-computation), writes the product's QML style beside it, and writes the
report (core/products/report.py).

PRODUCTS maps the publish parameter name of each layer to its HRL file name pattern ({A} and {B}
are the years, {pair} the two-digit pair, e.g. 1821) and its legend (core/products/styles.py; None for the
Float32 layers, which have no categorical legend).
"""

import json
import os

from osgeo import gdal

from ..errors import ImperviousnessError
from ..progress import StepProgress
from ..io.atomic import atomic_path, copy_file, write_json
from ..io.raster import check_closed, flush_written, gdal_array_dtype, gtiff_creation_options, open_raster
from .styles import write_style_beside

gdal.UseExceptions()

# parameter name: (HRL file name pattern, legend, description)
PRODUCTS = {
    "PP_A": ("PP_{A}_010m.tif", None, "pre-processed features of year A"),
    "PP_B": ("PP_{B}_010m.tif", None, "pre-processed features of year B"),
    "RMSD": ("RMSD_{pair}_010m.tif", None, "RMSD of the NDVI models"),
    "CHM": ("CHM_{pair}_010m.tif", "chm", "change mask"),
    "CHM_20": ("CHM_{pair}_020m.tif", "chm_percent", "change mask at 20 m (% flagged)"),
    "CHM_100": ("CHM_{pair}_100m.tif", "chm_percent", "change mask at 100 m (% flagged)"),
    "RIMD": ("RIMD_{B}_010m.tif", "imd", "raw IMD prediction (ensemble mean)"),
    "RIMD_SD": ("RIMD_{B}_sd_010m.tif", None, "raw IMD ensemble standard deviation"),
    "IMDCL": ("IMDCL_{B}_010m.tif", "confidence", "IMD confidence"),
    "RIBUD": ("RIBUD_{B}_010m.tif", "imd", "raw built-up density (ensemble mean)"),
    "RIBUD_SD": ("RIBUD_{B}_sd_010m.tif", None, "raw built-up ensemble standard deviation"),
    "IBUCL": ("IBUCL_{B}_010m.tif", "confidence", "IBU confidence"),
    "IMD_MSK_A": ("IMD_MSK_{A}_010m.tif", "chm", "sealing mask of year A"),
    "IMD_MSK_B": ("IMD_MSK_{B}_010m.tif", "chm", "sealing mask of year B"),
    "IMD_B": ("IMD_{B}_010m.tif", "imd", "imperviousness density"),
    "IMD_B_100": ("IMD_{B}_100m.tif", "imd", "imperviousness density at 100 m"),
    "IBU_B": ("IBU_{B}_010m.tif", "ibu", "impervious built-up"),
    "SBU_B": ("SBU_{B}_100m.tif", "sbu", "share of built-up at 100 m"),
    "IMDC_20": ("IMDC_{pair}_020m.tif", "change", "IMD real change at 20 m"),
    "IMDCS_20": ("IMDCS_{pair}_020m.tif", "change", "IMD support change at 20 m"),
    "IMDC_100": ("IMDC_{pair}_100m.tif", "change", "IMD real change at 100 m"),
    "IMDCS_100": ("IMDCS_{pair}_100m.tif", "change", "IMD support change at 100 m"),
    "IBUDC_20": ("IBUDC_{pair}_020m.tif", "change", "IBU real change at 20 m"),
    "IBUDCS_20": ("IBUDCS_{pair}_020m.tif", "change", "IBU support change at 20 m"),
    "SBUC_100": ("SBUC_{pair}_100m.tif", "change", "SBU real change at 100 m"),
    "SBUCS_100": ("SBUCS_{pair}_100m.tif", "change", "SBU support change at 100 m"),
    "IMCC_20": ("IMCC_{pair}_020m.tif", "change_class", "IMD change classes at 20 m"),
    "IMCCS_20": ("IMCCS_{pair}_020m.tif", "change_class", "IMD support change classes at 20 m"),
    "IMCC_100": ("IMCC_{pair}_100m.tif", "change_class", "IMD change classes at 100 m"),
    "IMCCS_100": ("IMCCS_{pair}_100m.tif", "change_class", "IMD support change classes at 100 m"),
    "IBUC_20": ("IBUC_{pair}_020m.tif", "change_class", "IBU change classes at 20 m"),
    "IBUCS_20": ("IBUCS_{pair}_020m.tif", "change_class", "IBU support change classes at 20 m"),
    "SBCC_100": ("SBCC_{pair}_100m.tif", "change_class", "SBU change classes at 100 m"),
    "SBCCS_100": ("SBCCS_{pair}_100m.tif", "change_class", "SBU support change classes at 100 m"),
}
# parameter name: HRL file name pattern of the JSON side files
SIDE_FILES = {
    "CALIBRATION": "IMD_calibration_{A}.json",
    "THRESHOLDS": "CHM_{pair}_thresholds.json",
}


def pair_code(year_a, year_b):
    """The HRL two-digit year pair, e.g. 2018, 2021 -> '1821'."""
    return f"{int(year_a) % 100:02d}{int(year_b) % 100:02d}"


def hrl_name(product, year_a, year_b):
    """The HRL file name of a product parameter, e.g. ('IMCC_20', 2018, 2021) -> IMCC_1821_020m.tif."""
    pattern = PRODUCTS[product][0] if product in PRODUCTS else SIDE_FILES[product]
    return pattern.format(A=int(year_a), B=int(year_b), pair=pair_code(year_a, year_b))


def copy_raster(source, target, names=None):
    """Copy a GeoTIFF (all bands, colour table, descriptions, metadata) to `target` atomically.

    The copy uses the one GeoTIFF creation profile (core/io/raster.py). `names` ({path: published
    file name}) replaces metadata values that name a run's (temporary) file by its published name.
    Descriptions and metadata are set on an in-memory VRT before the copy, so the GeoTIFF holds
    only the final values (setting them on the copy afterwards leaves the old bytes in the file).
    """
    dataset = open_raster(source)
    view = gdal.GetDriverByName("VRT").CreateCopy("", dataset)
    # open_raster's OVERVIEW_LEVEL=NONE view does not pass descriptions and metadata on
    plain = gdal.Open(str(source))
    for index in range(1, dataset.RasterCount + 1):
        view.GetRasterBand(index).SetDescription(plain.GetRasterBand(index).GetDescription())
    view.SetMetadata({key: published_names(value, names or {})
                      for key, value in (plain.GetMetadata() or {}).items()})
    plain = None
    options = gtiff_creation_options(gdal_array_dtype(view.GetRasterBand(1).DataType),
                                     view.RasterCount, view.RasterXSize, view.RasterYSize)
    with atomic_path(target) as temporary:
        try:
            copy = gdal.GetDriverByName("GTiff").CreateCopy(temporary, view, strict=0, options=options)
            flush_written(copy, target)
        finally:
            copy = None  # closes the file: GDAL writes its last directory now
        check_closed(target)
    return target


def published_names(value, names):
    """`value` with every path of `names` ({abs path: file name}) replaced by its file name.

    Works through JSON-like values (dicts, lists, strings), so provenance records the published
    products, never the run's deleted temporary files.
    """
    if isinstance(value, str):
        return names.get(os.path.abspath(value), value) if os.path.isabs(value) else value
    if isinstance(value, dict):
        return {key: published_names(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [published_names(item, names) for item in value]
    return value


def copy_side_file(source, target, names):
    """Copy a JSON side file with published names in place of the run's paths (other files: bytes)."""
    if not source.lower().endswith(".json"):
        copy_file(source, target)
        return
    try:
        with open(source, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as error:
        raise ImperviousnessError(f"Cannot read {source}: {error}") from None
    write_json(target, published_names(data, names))


def publish(layers, output_folder, year_a, year_b, side_files=None, models=None,
            parameters=None, reference=None, report=True, feedback=None):
    """Copy `layers` ({product parameter: raster path}) into `output_folder` under HRL names.

    side_files: {"CALIBRATION"/"THRESHOLDS": json path}; models: {"IMD"/"IBU": [onnx paths]} for
    the report's provenance; parameters: the run's parameters ({name: value}) for the report.
    Returns {"products": {parameter: path}, "report": path or None}.
    """
    unknown = sorted(set(layers) - set(PRODUCTS))
    if unknown:
        raise ImperviousnessError(f"Unknown product(s) {', '.join(unknown)}; "
                                  f"known: {', '.join(PRODUCTS)}.")
    side_files = {key: value for key, value in (side_files or {}).items() if value}
    os.makedirs(output_folder, exist_ok=True)
    progress = StepProgress(feedback, len(layers) + len(side_files) + (1 if report else 0))
    names = {os.path.abspath(source): hrl_name(product, year_a, year_b)
             for product, source in {**layers, **side_files}.items()}
    published = {}
    for product, source in layers.items():
        target = os.path.join(output_folder, hrl_name(product, year_a, year_b))
        copy_raster(source, target, names)
        legend = PRODUCTS[product][1]
        if legend:
            write_style_beside(target, legend)
        published[product] = target
        progress.info(f"{product}: {os.path.basename(target)}")
        progress.step()
    for key, source in side_files.items():
        if not os.path.isfile(source):
            raise ImperviousnessError(f"{key}: the file {source!r} does not exist.")
        target = os.path.join(output_folder, hrl_name(key, year_a, year_b))
        if os.path.abspath(source) != os.path.abspath(target):
            copy_side_file(source, target, names)
        published[key] = target
        progress.step()
    report_path = None
    if report:
        from .report import write_report  # late import: report needs only numpy and GDAL
        report_path = write_report(output_folder, published, year_a, year_b,
                                   models=models or {}, parameters=parameters or {},
                                   reference=reference or {})
        progress.step()
    write_json(os.path.join(output_folder, "products.json"),
               {"year_a": int(year_a), "year_b": int(year_b),
                "products": {key: os.path.basename(path) for key, path in published.items()},
                "report": os.path.basename(report_path) if report_path else None})
    return {"products": published, "report": report_path}
