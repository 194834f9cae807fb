"""Publish a run's layers as the HRL product set: HRL file names, QML styles, and a report.

A Graphical Modeler model (QGIS 3.22) cannot name its intermediate outputs by expression, so the
models compute every layer into temporary files and hand them to `imperviousness:publish`, which
copies each one under its HRL name into one folder (never a re-computation: the file's bytes when
it is already a product's GeoTIFF naming no run file, as the PP stacks; otherwise GDAL's
CreateCopy with the run's file names in its metadata replaced by the published ones), writes the product's QML style beside it, and writes the
report (core/products/report.py).

The products, their HRL names and legends are those of the catalogue (core/products/catalogue.py).
"""

import json
import os

from osgeo import gdal

from ..errors import ImperviousnessError
from ..progress import StepProgress
from ..io.atomic import copy_file, write_json
from ..io import profiles
from ..io.raster import in_profile, open_raster, write_copy
from .catalogue import PRODUCTS, SIDE_FILES, hrl_name, pair_code  # noqa: F401 (re-exported)
from .delivery import check_delivery, deliverables, input_names, write_delivery
from .report import write_report
from .styles import write_style_beside

gdal.UseExceptions()


# Smaller layers are written again even when their bytes would do: CreateCopy gives one layout
# whatever GDAL wrote them (3.6 and 3.10 lay out the same pixels differently), so published
# products stay byte-identical across QGIS versions; the copy only pays for the large stacks.
BYTE_COPY_MIN_BYTES = 256 * 1024 * 1024


def copy_raster(source, target, names=None):
    """Copy a GeoTIFF (all bands, colour table, descriptions, metadata) to `target` atomically.

    The copy is written by the one writer in the analysis product's creation profile
    (core/io/raster.py, core/io/profiles.py). `names` ({path: published
    file name}) replaces metadata values that name a run's (temporary) file by its published name.
    Descriptions and metadata are set on an in-memory VRT before the copy, so the GeoTIFF holds
    only the final values (setting them on the copy afterwards leaves the old bytes in the file).
    """
    plain = gdal.Open(str(source))
    metadata = plain.GetMetadata() or {}
    published = {key: published_names(value, names or {}) for key, value in metadata.items()}
    if (published == metadata and os.path.getsize(str(source)) >= BYTE_COPY_MIN_BYTES
            and in_profile(source, profiles.PRODUCT)):
        # Already a product's GeoTIFF naming no run file (the PP stacks: 2 x 7.4 GB on a whole
        # tile, 6 minutes of compressing again): its bytes are the copy.
        plain = None
        copy_file(source, target)
        return target
    dataset = open_raster(source)
    view = gdal.GetDriverByName("VRT").CreateCopy("", dataset)
    # open_raster's OVERVIEW_LEVEL=NONE view does not pass descriptions and metadata on
    for index in range(1, dataset.RasterCount + 1):
        view.GetRasterBand(index).SetDescription(plain.GetRasterBand(index).GetDescription())
    view.SetMetadata(published)
    plain = None
    return write_copy(view, target, profiles.PRODUCT)


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
            parameters=None, reference=None, report=True, feedback=None, delivery_folder=None,
            delivery_version=(1, 0), delivery_tiles=None):
    """Copy `layers` ({product parameter: raster path}) into `output_folder` under HRL names.

    side_files: {"CALIBRATION"/"THRESHOLDS": json path}; models: {"IMD"/"IBU": [onnx paths]} for
    the report's provenance; parameters: the run's parameters ({name: value}) for the report.
    delivery_folder: where to write the official EEA delivery (core/products/delivery.py) of the
    official products among `layers`, named with delivery_version (vNN, rNN); None: no delivery.
    delivery_tiles: the EEA tile codes to deliver (None: every tile the products touch).
    Returns {"products": {parameter: path}, "report": path or None, "delivery": [zip paths]}.
    """
    unknown = sorted(set(layers) - set(PRODUCTS))
    if unknown:
        raise ImperviousnessError(f"Unknown product(s) {', '.join(unknown)}; "
                                  f"known: {', '.join(PRODUCTS)}.")
    side_files = {key: value for key, value in (side_files or {}).items() if value}
    delivered = deliverables(layers) if delivery_folder else []
    if delivered:   # before anything is written
        check_delivery(layers, delivery_folder, year_a, year_b, delivery_version, delivery_tiles)
    os.makedirs(output_folder, exist_ok=True)
    progress = StepProgress(feedback, len(layers) + len(side_files) + len(delivered)
                            + (1 if report else 0))
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
    zips = []
    if delivered:
        zips = write_delivery({key: published[key] for key in layers}, delivery_folder,
                              year_a, year_b, delivery_version,
                              input_names({**(parameters or {}), **(reference or {})}, models),
                              progress, delivery_tiles)
    report_path = None
    if report:
        report_path = write_report(output_folder, published, year_a, year_b,
                                   models=models or {}, parameters=parameters or {},
                                   reference=reference or {})
        progress.step()
    write_json(os.path.join(output_folder, "products.json"),
               {"year_a": int(year_a), "year_b": int(year_b),
                "products": {key: os.path.basename(path) for key, path in published.items()},
                "report": os.path.basename(report_path) if report_path else None,
                "delivery": [os.path.basename(path) for path in zips]})
    return {"products": published, "report": report_path, "delivery": zips}
