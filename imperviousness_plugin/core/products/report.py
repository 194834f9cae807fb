"""The run report: report.html with area statistics, maps (PNG), calibration, thresholds, models.

Interpretations (documented here and in the report itself):
* Pixel (cell) area comes from the layer's geotransform (|dx * dy|, square metres in EPSG:3035);
  areas are reported in hectares.
* "Impervious area" of a year = area of the valid 10 m pixels with IMD > 0; "sealed area" = the
  density-weighted area sum(IMD / 100 * pixel area); "mean density" = mean IMD over the
  impervious pixels (IMD > 0) and over all valid pixels. 254 (unclassifiable) and 255 (nodata)
  are not valid.
* Built-up share = built-up pixels (IBU = 1) / valid IBU pixels.
* Change class areas: for each classified change layer (IMCC, IBUC, SBCC and their support
  layers) the area of each ATBD Table 5 class: new (1), lost (2), increased (11), decreased (12),
  unchanged (10) and none (0).
All statistics come from block-wise 256-bin histograms of the Byte layers, so memory stays
bounded. Maps are the layers drawn through their legend colours (core/products/catalogue.py), nodata white,
subsampled to at most MAP_MAX_SIZE pixels a side, written with GDAL's PNG driver.
"""

import hashlib
import html
import json
import os

import numpy as np
from osgeo import gdal

from ..io.atomic import atomic_path, write_json, write_text
from ..io.raster import Grid, iter_blocks, open_raster, read_window
from .catalogue import CHANGE_CLASSES, PRODUCTS
from .styles import color_table
from .summary import build_summary, layer_rgb

gdal.UseExceptions()

MAP_MAX_SIZE = 800
HECTARE = 10000.0
CHANGE_CLASS_NAMES = {code: label for code, _, label in CHANGE_CLASSES}
IBUC_NOTE = ("IBUC here is the analysis product and keeps ATBD Table 5 (11 increase, 12 decrease of "
             "built-up density). The EEA delivery's IBUC has only the classes every EEA IBUC definition "
             "allows, 0, 1, 2 and 10: 11 and 12 are delivered as 10 (unchanged built-up).")
# products shown as maps, in this order
MAP_PRODUCTS = ("IMD_B", "IBU_B", "SBU_B", "CHM", "IMCC_20", "IBUC_20", "IMDC_20", "IMDCL", "IBUCL")
CLASSIFIED = ("IMCC_20", "IMCC_100", "IBUC_20", "SBCC_100",
              "IMCCS_20", "IMCCS_100", "IBUCS_20", "SBCCS_100")


def byte_histogram(path):
    """(256-bin histogram of band 1, pixel area in m2) of a Byte raster, read block by block."""
    dataset = open_raster(path)
    grid = Grid.of_dataset(dataset)
    histogram = np.zeros(256, dtype=np.int64)
    for window in iter_blocks(grid.width, grid.height):
        block = read_window(dataset, window, name=path)
        histogram += np.bincount(block.ravel().astype(np.uint8), minlength=256)
    transform = grid.geotransform
    return histogram, abs(transform[1] * transform[5])


def status_statistics(path):
    """Impervious area, sealed area and mean densities of an IMD layer (0..100)."""
    histogram, pixel_area = byte_histogram(path)
    counts = histogram[:101]
    values = np.arange(101)
    valid, impervious = int(counts.sum()), int(counts[1:].sum())
    density_sum = float((counts * values).sum())
    return {"valid_ha": valid * pixel_area / HECTARE,
            "impervious_ha": impervious * pixel_area / HECTARE,
            "sealed_ha": density_sum / 100.0 * pixel_area / HECTARE,
            "mean_density_impervious": density_sum / impervious if impervious else 0.0,
            "mean_density_all": density_sum / valid if valid else 0.0}


def builtup_statistics(path):
    """Built-up area and share of an IBU layer (0/1)."""
    histogram, pixel_area = byte_histogram(path)
    valid, built = int(histogram[0] + histogram[1]), int(histogram[1])
    return {"valid_ha": valid * pixel_area / HECTARE, "builtup_ha": built * pixel_area / HECTARE,
            "builtup_share": built / valid if valid else 0.0}


def change_class_areas(path):
    """{class code: area in ha} of a classified change layer (ATBD Table 5 codes)."""
    histogram, cell_area = byte_histogram(path)
    return {code: int(histogram[code]) * cell_area / HECTARE for code in CHANGE_CLASS_NAMES}


def render_png(path, legend, target, max_size=MAP_MAX_SIZE):
    """Draw a Byte layer through its legend colours into an RGB PNG (nodata white)."""
    rgb = layer_rgb(path, legend, max_size)
    memory = gdal.GetDriverByName("MEM").Create("", rgb.shape[1], rgb.shape[0], 3, gdal.GDT_Byte)
    for band in range(3):
        memory.GetRasterBand(band + 1).WriteArray(rgb[:, :, band])
    with atomic_path(target) as temporary:
        gdal.GetDriverByName("PNG").CreateCopy(temporary, memory)
    return target


def model_provenance(path):
    """File name, size, SHA-256 and the ONNX metadata of one model file."""
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    info = {"file": os.path.basename(path),
            "bytes": os.path.getsize(path), "sha256": digest, "metadata": {}}
    try:
        import onnxruntime
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        meta = session.get_modelmeta()
        # trainmodel's held-out metrics of the ensemble and its baseline (issue 23), untruncated.
        training = json.loads(meta.custom_metadata_map.get("hrl.training", "{}") or "{}")
        if isinstance(training, dict) and training.get("held_out_metrics"):
            info["held_out"] = training["held_out_metrics"]
        info["metadata"] = {"producer": meta.producer_name, "version": meta.version,
                            "description": meta.description,
                            **{key: value[:300] for key, value in meta.custom_metadata_map.items()}}
    except Exception as error:  # provenance is best effort: never fail a run for the report
        info["metadata"] = {"error": str(error)}
    return info


def collect_statistics(products, reference, year_a, year_b):
    """Every number of the report, from the published layers and the year-A reference layers."""
    statistics = {"status": {}, "builtup": {}, "change_classes": {}}
    for year, path in ((year_a, reference.get("IMD_A")), (year_b, products.get("IMD_B"))):
        if path:
            statistics["status"][str(year)] = status_statistics(path)
    for year, path in ((year_a, reference.get("IBU_A")), (year_b, products.get("IBU_B"))):
        if path:
            statistics["builtup"][str(year)] = builtup_statistics(path)
    for product in CLASSIFIED:
        if products.get(product):
            statistics["change_classes"][product] = change_class_areas(products[product])
    return statistics


def _json_file(path):
    if not path or not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _table(rows, header):
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _pre(data):
    return f"<pre>{html.escape(json.dumps(data, indent=2, default=str))}</pre>"


def write_report(output_folder, products, year_a, year_b, models=None, parameters=None,
                 reference=None):
    """Write report.html, report.json and figures/*.png into output_folder; returns the HTML path.

    products: {publish parameter: published path} (rasters and the JSON side files);
    reference: {"IMD_A"/"IBU_A": path} year-A layers for the statistics of year A;
    models: {"IMD"/"IBU": [onnx paths]}; parameters: the run's parameters.
    """
    reference = reference or {}
    statistics = collect_statistics(products, reference, year_a, year_b)
    figures = os.path.join(output_folder, "figures")
    os.makedirs(figures, exist_ok=True)
    maps = []
    for product in MAP_PRODUCTS:
        if products.get(product) and PRODUCTS[product][1]:
            name = os.path.splitext(os.path.basename(products[product]))[0] + ".png"
            render_png(products[product], PRODUCTS[product][1], os.path.join(figures, name))
            maps.append((product, f"figures/{name}", PRODUCTS[product][2]))
    provenance = {target: [model_provenance(path) for path in paths]
                  for target, paths in (models or {}).items()}
    calibration = _json_file(products.get("CALIBRATION"))
    thresholds = _json_file(products.get("THRESHOLDS"))
    parameters = relative_to_folder(parameters or {}, output_folder)
    summary_html, summary = build_summary(output_folder, products, reference, statistics, year_a, year_b,
                                          parameters, calibration)
    write_json(os.path.join(output_folder, "report.json"),
               {"year_a": int(year_a), "year_b": int(year_b), "statistics": statistics, "summary": summary,
                "calibration": calibration, "thresholds": thresholds, "models": provenance,
                "parameters": parameters}, default=str)
    path = os.path.join(output_folder, "report.html")
    write_text(path, _html(statistics, maps, calibration, thresholds, provenance,
                           parameters, products, year_a, year_b, summary_html))
    return path


def relative_to_folder(parameters, folder):
    """Parameter values that are paths in `folder` (or the folder itself) made relative to it.

    The report lives in the output folder, so the same run into another folder writes the same
    bytes.
    """
    folder = os.path.abspath(folder)
    relative = {}
    for key, value in parameters.items():
        if isinstance(value, str) and os.path.isabs(value) and \
                (os.path.abspath(value) + os.sep).startswith(folder + os.sep):
            value = os.path.relpath(value, folder)
        relative[key] = value
    return relative


def _held_out_html(held_out):
    """The held-out table of a trained ensemble against its per-pixel baseline."""
    unet, baseline = held_out.get("unet_ensemble", {}), held_out.get("baseline", {})

    def number(metrics, key):
        value = metrics.get(key)
        return "" if value is None else f"{value:.2f}"

    rows = [("all", unet.get("pixels", 0), number(unet, "mae_pp"), number(baseline, "mae_pp"),
             number(unet, "bias_pp"), number(baseline, "bias_pp"))]
    for name, part in unet.get("by_class", {}).items():
        other = baseline.get("by_class", {}).get(name, {})
        rows.append((f"{name} %", part.get("pixels", 0), number(part, "mae_pp"), number(other, "mae_pp"),
                     number(part, "bias_pp"), number(other, "bias_pp")))
    ibu = (f"IBU (density >= 10 %): U-Net precision {unet.get('precision_at_10', 0):.3f}, recall "
           f"{unet.get('recall_at_10', 0):.3f}, F1 {unet.get('f1_at_10', 0):.3f}; baseline "
           f"({baseline.get('method', '')}) precision {baseline.get('precision_at_10', 0):.3f}, recall "
           f"{baseline.get('recall_at_10', 0):.3f}, F1 {baseline.get('f1_at_10', 0):.3f}.")
    warning = held_out.get("warning")
    return ("<p>Held-out blocks of the training area (not used to train or to pick checkpoints):</p>"
            + _table(rows, ("reference density", "pixels", "U-Net MAE (pp)", "baseline MAE (pp)",
                            "U-Net bias (pp)", "baseline bias (pp)"))
            + f"<p>{html.escape(ibu)}</p>"
            + (f'<p class="warning">{html.escape(warning)}</p>' if warning else ""))


def _html(statistics, maps, calibration, thresholds, provenance, parameters, products,
          year_a, year_b, summary_html=""):
    parts = [f"<h1>HRL Imperviousness {year_a} &rarr; {year_b}</h1>", summary_html,
             "<h2>Imperviousness density (IMD)</h2>",
             _table([(year, f"{s['impervious_ha']:.2f}", f"{s['sealed_ha']:.2f}",
                      f"{s['mean_density_impervious']:.2f}", f"{s['mean_density_all']:.2f}",
                      f"{s['valid_ha']:.2f}") for year, s in statistics["status"].items()],
                    ("year", "impervious area (IMD > 0), ha", "sealed area (density-weighted), ha",
                     "mean density of impervious pixels, %", "mean density of all pixels, %",
                     "valid area, ha")),
             "<h2>Built-up (IBU)</h2>",
             _table([(year, f"{s['builtup_ha']:.2f}", f"{100 * s['builtup_share']:.2f}",
                      f"{s['valid_ha']:.2f}") for year, s in statistics["builtup"].items()],
                    ("year", "built-up area, ha", "built-up share, %", "valid area, ha")),
             "<h2>Change classes (ATBD Table 5), area in ha</h2>",
             _table([(product,) + tuple(f"{areas[code]:.2f}" for code in CHANGE_CLASS_NAMES)
                     for product, areas in statistics["change_classes"].items()],
                    ("layer",) + tuple(f"{code}: {label}" for code, label in CHANGE_CLASS_NAMES.items()))]
    if "IBUC_20" in statistics["change_classes"]:
        parts.append(f"<p>{html.escape(IBUC_NOTE)}</p>")
    parts.append("<h2>Maps</h2>")
    parts += [f'<figure><img src="{src}" alt="{product}"><figcaption>{html.escape(product)}: '
              f"{html.escape(caption)}</figcaption></figure>" for product, src, caption in maps]
    calibration_file = os.path.basename(products.get("CALIBRATION", ""))
    parts += ["<h2>IMD calibration coefficients</h2>",
              f'<p>Summary above; every coefficient in <a href="{html.escape(calibration_file)}">'
              f"{html.escape(calibration_file)}</a>.</p>" if calibration else "<p>none</p>",
              "<h2>Change-mask thresholds</h2>", _pre(thresholds) if thresholds else "<p>none</p>",
              "<h2>Models</h2>"]
    for target, infos in provenance.items():
        parts.append(f"<h3>{html.escape(target)}</h3>")
        parts.append(_table([(info["file"], info["bytes"], info["sha256"][:16],
                              json.dumps(info["metadata"], default=str)[:400]) for info in infos],
                            ("file", "bytes", "sha256 (first 16)", "metadata")))
        held_out = next((info["held_out"] for info in infos if info.get("held_out")), None)
        if held_out:
            parts.append(_held_out_html(held_out))
    parts += ["<h2>Run parameters</h2>",
              _table(sorted((key, value) for key, value in parameters.items()), ("parameter", "value")),
              "<h2>Products</h2>",
              _table(sorted((key, os.path.basename(value)) for key, value in products.items()),
                     ("product", "file"))]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #bbb;padding:3px 6px;font-size:90%}img{max-width:520px}"
             "figure{display:inline-block;margin:6px}#summary img{max-width:100%}"
             ".warning{color:#a04000;font-weight:bold}.summary .num{text-align:right}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>HRL Imperviousness report"
            f"</title><style>{style}</style></head><body>{''.join(parts)}</body></html>\n")
