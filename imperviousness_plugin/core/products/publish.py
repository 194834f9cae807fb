"""Publish a run's layers as the HRL product set: HRL file names, QML styles, and a report.

A Graphical Modeler model (QGIS 3.22) cannot name its intermediate outputs by expression, so the
models compute every layer into temporary files and hand them to `imperviousness:publish`, which
copies each one under its HRL name into one folder (a byte copy through GDAL's CreateCopy of the
GeoTIFF, never a re-computation), writes the product's QML style beside it, and writes the
report (core/products/report.py).

The products, their HRL names and legends are those of the catalogue (core/products/catalogue.py).
"""

import json
import os
import shutil

from osgeo import gdal

from ..errors import ImperviousnessError
from ..progress import StepProgress
from ..io.raster import open_raster
from .catalogue import PRODUCTS, SIDE_FILES, hrl_name, pair_code  # noqa: F401 (re-exported)
from .delivery import check_deliverables, deliverables, input_names, write_delivery
from .report import write_report
from .styles import write_style_beside

gdal.UseExceptions()


def copy_raster(source, target):
    """Copy a GeoTIFF (all bands, colour table, descriptions, metadata) to `target`.

    The copy goes to a hidden temporary name and is moved into place only when complete, so
    nothing half-written is left under the product name.
    """
    dataset = open_raster(source)
    folder, name = os.path.split(os.path.abspath(target))
    temporary = os.path.join(folder, f".{name}.partial.tif")
    options = ["TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER"]
    try:
        copy = gdal.GetDriverByName("GTiff").CreateCopy(temporary, dataset, strict=0, options=options)
        # open_raster's OVERVIEW_LEVEL=NONE view does not pass band descriptions on: copy them
        plain = gdal.Open(str(source))
        for index in range(1, dataset.RasterCount + 1):
            copy.GetRasterBand(index).SetDescription(plain.GetRasterBand(index).GetDescription())
        plain = None
        copy.FlushCache()
        copy = None
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return target


def publish(layers, output_folder, year_a, year_b, side_files=None, models=None,
            parameters=None, reference=None, report=True, feedback=None, delivery_folder=None,
            delivery_version=(1, 0)):
    """Copy `layers` ({product parameter: raster path}) into `output_folder` under HRL names.

    side_files: {"CALIBRATION"/"THRESHOLDS": json path}; models: {"IMD"/"IBU": [onnx paths]} for
    the report's provenance; parameters: the run's parameters ({name: value}) for the report.
    delivery_folder: where to write the official EEA delivery (core/products/delivery.py) of the
    official products among `layers`, named with delivery_version (vNN, rNN); None: no delivery.
    Returns {"products": {parameter: path}, "report": path or None, "delivery": [zip paths]}.
    """
    unknown = sorted(set(layers) - set(PRODUCTS))
    if unknown:
        raise ImperviousnessError(f"Unknown product(s) {', '.join(unknown)}; "
                                  f"known: {', '.join(PRODUCTS)}.")
    side_files = {key: value for key, value in (side_files or {}).items() if value}
    delivered = deliverables(layers) if delivery_folder else []
    if delivered:
        check_deliverables(layers)  # before anything is written
    os.makedirs(output_folder, exist_ok=True)
    progress = StepProgress(feedback, len(layers) + len(side_files) + len(delivered)
                            + (1 if report else 0))
    published = {}
    for product, source in layers.items():
        target = os.path.join(output_folder, hrl_name(product, year_a, year_b))
        copy_raster(source, target)
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
            shutil.copyfile(source, target)
        published[key] = target
        progress.step()
    zips = []
    if delivered:
        zips = write_delivery({key: published[key] for key in layers}, delivery_folder,
                              year_a, year_b, delivery_version,
                              input_names({**(parameters or {}), **(reference or {})}, models),
                              progress)
    report_path = None
    if report:
        report_path = write_report(output_folder, published, year_a, year_b,
                                   models=models or {}, parameters=parameters or {},
                                   reference=reference or {})
        progress.step()
    with open(os.path.join(output_folder, "products.json"), "w", encoding="utf-8") as handle:
        json.dump({"year_a": int(year_a), "year_b": int(year_b),
                   "products": {key: os.path.basename(path) for key, path in published.items()},
                   "report": os.path.basename(report_path) if report_path else None,
                   "delivery": [os.path.basename(path) for path in zips]},
                  handle, indent=2)
    return {"products": published, "report": report_path, "delivery": zips}
