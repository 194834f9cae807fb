"""The summary page of the run report (issue 13): the run at a glance for someone who did not run it.

Built from the published products (never from temporary files) and written into the report's
folder: figures/summary_*.png and summary.png (the whole summary page as one PNG, for e-mail and
slides). Content, top to bottom:

* provenance: plugin version, the date of the data (the Sentinel-2 period of each year from the
  PP stacks' FIRST_DATE / LAST_DATE metadata; not the time of the run, so outputs stay
  byte-identical), the user's input file names (base names of the run parameters);
* the run's warnings (input unlike the models' training data, few observations, part of a year
  from `predict`; mismatched sealing-mask readings from `applycalibration`);
* status: year A and year B side by side for IMD and IBU, with legends;
* change: IMCC and IBUC at 20 m and the technical IMCCS beside them, with the class legend; the
  area table split into real change (IMCC, IBUC, SBCC) and technical change (the S layers), with
  the ATBD 4.5 explanation of technical change;
* calibration: a short table and a scatter plot of IMD_A against NDVI_P0_A on the regression's
  own 60 m samples inside the year-A sealing mask, with the fitted line and the calibrated law;
* confidence: share of valid pixels per confidence class (IMDCL, IBUCL);
* links to every product file.

Figures are drawn with matplotlib's Agg canvas (no pyplot, no GUI backend), colours from the
products' legends (core/products/styles.py). The PNG files carry no time stamp.
"""

import html
import math
import json
import os

import numpy as np
from osgeo import gdal

from .. import PLUGIN_DIR
from ..io.atomic import atomic_path
from ..io.raster import DEFAULT_BLOCK_SIZE, RasterInput, iter_blocks, open_raster
from .catalogue import CHANGE_CLASSES, legend
from .styles import color_table

gdal.UseExceptions()

MAP_MAX_SIZE = 800
CONFIDENCE_BINS = ((50, 59), (60, 69), (70, 79), (80, 89), (90, 99), (100, 100))
REAL_AND_TECHNICAL = (("IMD 20 m", "IMCC_20", "IMCCS_20"), ("IMD 100 m", "IMCC_100", "IMCCS_100"),
                      ("IBU 20 m", "IBUC_20", "IBUCS_20"), ("SBU 100 m", "SBCC_100", "SBCCS_100"))
CHANGE_COLUMNS = ((1, "new cover"), (2, "loss of cover"), (11, "increase"), (12, "decrease"))
TECHNICAL_CHANGE = (
    "Technical change (the support layers IMCCS, IBUCS, SBCCS; ATBD 4.5) is the part of the "
    "difference between the two status layers that the change mask does not confirm: it comes "
    "from the different methods and inputs of the two status layers (year A is the earlier HRL "
    "product, year B this run's U-Net and calibration), not from change on the ground, and is "
    "not reported as change.")
WARNING_PRODUCTS = ("RIMD", "RIBUD")


# ----------------------------------------------------------------------------- numbers

def plugin_version():
    """The `version=` of the plugin's metadata.txt."""
    with open(os.path.join(PLUGIN_DIR, "metadata.txt"), encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("version="):
                return line.split("=", 1)[1].strip()
    return "unknown"


def data_period(pp_path):
    """(first date, last date, acquisitions) of a PP stack's Sentinel-2 data, or None."""
    if not pp_path or not os.path.isfile(pp_path):
        return None
    metadata = open_raster(pp_path).GetMetadata() or {}
    if "FIRST_DATE" not in metadata:
        return None
    return metadata["FIRST_DATE"], metadata.get("LAST_DATE", "?"), metadata.get("ACQUISITIONS", "?")


def input_names(parameters):
    """{parameter: base name} of the run parameters that name the user's files or folders."""
    names = {}
    for key, value in sorted(parameters.items()):
        text = str(value)
        if key != "OUTPUT_FOLDER" and os.sep in text and os.path.exists(text):
            names[key] = os.path.basename(text.rstrip(os.sep))
    return names


def run_warnings(products):
    """The warnings the run recorded in its products (predict's input check, sealing masks)."""
    warnings = []
    for product in WARNING_PRODUCTS:
        if products.get(product):
            recorded = open_raster(products[product]).GetMetadataItem("INPUT_WARNINGS")
            warnings += [f"{product}: {text}" for text in json.loads(recorded or "[]")]
    if products.get("IMD_B"):
        metadata = open_raster(products["IMD_B"]).GetMetadata() or {}
        rule_a, rule_b = metadata.get("SEALING_MASK_A_RULE"), metadata.get("SEALING_MASK_B_RULE")
        if rule_a and rule_b and rule_a != rule_b:
            warnings.append(f"IMD_B: the sealing masks of the two years were made with different "
                            f"readings ({rule_a} / {rule_b}).")
    return warnings


def confidence_shares(path):
    """[(class label, share of valid pixels)] of a confidence layer (50..100, nodata by the masked read)."""
    layer = RasterInput(path, "confidence")
    histogram = np.zeros(256, dtype=np.int64)
    for window in iter_blocks(layer.grid.width, layer.grid.height, DEFAULT_BLOCK_SIZE):
        values, valid = layer.read(window)
        histogram += np.bincount(values[valid].astype(np.uint8), minlength=256)
    valid = int(histogram[50:101].sum())
    rows = []
    for low, high in CONFIDENCE_BINS:
        count = int(histogram[low:high + 1].sum())
        label = f"{low} %" if low == high else f"{low}..{high} %"
        rows.append((label, count / valid if valid else 0.0))
    return rows


def change_rows(change_classes):
    """[(status, kind, areas ha per CHANGE_COLUMNS)] real and technical, from the report's numbers."""
    rows = []
    for status, real, technical in REAL_AND_TECHNICAL:
        for kind, product in (("real", real), ("technical", technical)):
            if product in change_classes:
                areas = change_classes[product]
                rows.append((status, f"{kind} ({product.split('_')[0]})",
                             [areas.get(code, 0.0) for code, _ in CHANGE_COLUMNS]))
    return rows


def calibration_samples(imd_a, pp_a, mask_a, spacing):
    """(NDVI_P0, IMD_A) of the regression's samples: one pixel per `spacing` cell inside mask A."""
    from ..status.calibration import NDVI_BAND, sample_offsets, sample_selector
    mask = RasterInput(mask_a, "IMD_MSK_A")
    # The user's IMD_A, read on the products' grid (the models pad it to whole km, aligngrid).
    imd = RasterInput(imd_a, "IMD_A", grid=mask.grid)
    ndvi = RasterInput(pp_a, "PP_A", band=NDVI_BAND)
    grid = mask.grid
    sampling = sample_offsets(grid, spacing)
    xs, ys = [], []
    for window in iter_blocks(grid.width, grid.height, DEFAULT_BLOCK_SIZE):
        (density, valid), (sealed, mask_valid) = imd.read(window), mask.read(window)
        green = ndvi.read_float(window, dtype=np.float64)
        chosen = valid & mask_valid & (sealed == 1) & np.isfinite(green) & sample_selector(window, sampling)
        xs.append(green[chosen])
        ys.append(density[chosen].astype(np.float64))
    return np.concatenate(xs), np.concatenate(ys)


# ----------------------------------------------------------------------------- figures

def layer_rgb(path, legend_name, max_size=MAP_MAX_SIZE):
    """A Byte layer drawn through its legend colours: (h, w, 3) uint8, nodata white, subsampled
    to at most max_size pixels a side."""
    dataset = open_raster(path)
    width, height = dataset.RasterXSize, dataset.RasterYSize
    step = max(1, int(np.ceil(max(width, height) / max_size)))
    # GDAL decimates while reading (nearest), so memory is the map's size, not the layer's.
    values = dataset.GetRasterBand(1).ReadAsArray(
        0, 0, width, height, buf_xsize=math.ceil(width / step), buf_ysize=math.ceil(height / step),
        resample_alg=gdal.GRIORA_NearestNeighbour)
    table = color_table(legend_name)
    lut = np.array([table[value][:3] if table[value][3] else (255, 255, 255)
                    for value in range(256)], dtype=np.uint8)
    return lut[values.astype(np.uint8)]


def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path):
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", metadata={"Software": None})
    return path


def _map(axes, path, legend_name, title):
    axes.imshow(layer_rgb(path, legend_name), interpolation="nearest")
    axes.set_title(title, fontsize=10)
    axes.set_xticks([])
    axes.set_yticks([])


def _imd_colorbar(figure, axes):
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, Normalize
    colours = np.array([rgb for value, rgb, _ in legend("imd") if value <= 100]) / 255.0
    mappable = ScalarMappable(Normalize(0, 100), ListedColormap(colours))
    bar = figure.colorbar(mappable, ax=axes, fraction=0.04, pad=0.02)
    bar.set_label("imperviousness density (%)", fontsize=8)


def _class_legend(axes, entries, columns=1):
    from matplotlib.patches import Patch
    handles = [Patch(facecolor=np.array(rgb) / 255.0, edgecolor="#888", label=label) for _, rgb, label in entries]
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=7, ncol=columns,
                frameon=False)


def status_figure(pairs, path):
    """IMD and IBU of year A and year B side by side; pairs: [(title, path, legend name)] x 4."""
    figure = _figure(10, 8.6)
    axes = figure.subplots(2, 2)
    for ax, (title, layer, legend_name) in zip(axes.ravel(), pairs):
        if layer:
            _map(ax, layer, legend_name, title)
        else:
            ax.axis("off")
    _imd_colorbar(figure, list(axes[0]))
    _class_legend(axes[1][1], legend("ibu"))
    figure.subplots_adjust(left=0.02, right=0.82, top=0.95, bottom=0.02, wspace=0.05, hspace=0.12)
    return _save(figure, path)


def change_figure(maps, path):
    """Change-class maps side by side with the ATBD Table 5 legend; maps: [(title, path)]."""
    figure = _figure(4.2 * len(maps) + 2.6, 4.6)
    axes = figure.subplots(1, len(maps), squeeze=False)[0]
    for ax, (title, layer) in zip(axes, maps):
        _map(ax, layer, "change_class", title)
    _class_legend(axes[-1], CHANGE_CLASSES)
    figure.subplots_adjust(left=0.01, right=1 - 2.6 / (4.2 * len(maps) + 2.6), top=0.9, bottom=0.02,
                           wspace=0.05)
    return _save(figure, path)


def calibration_figure(ndvi, imd, calibration, path):
    """IMD_A against NDVI_P0_A on the regression samples, the fitted line and the calibrated law."""
    from ..status.calibration import Calibration
    law = Calibration.from_json(calibration)
    figure = _figure(6.4, 4.6)
    ax = figure.subplots()
    ax.scatter(ndvi, imd, s=4, color="#444444", alpha=0.5, linewidths=0, label=f"samples ({ndvi.size})")
    low, high = (float(ndvi.min()), float(ndvi.max())) if ndvi.size else (0.0, 1.0)
    grid = np.linspace(low, high, 200)
    ax.plot(grid, law.intercept + law.slope * grid, color="#d7191c", linewidth=2,
            label=f"regression {law.intercept:.1f} {law.slope:+.1f} x NDVI")
    ax.plot(grid, law.density(grid), color="#2c7bb6", linewidth=2, linestyle="--",
            label=f"calibrated IMD (M = {law.high_density_max:g}, m = {law.new_minimum:.1f})")
    ax.set_xlabel("NDVI_P0 of year A (annual mean NDVI)")
    ax.set_ylabel("IMD of year A (%)")
    ax.set_ylim(-5, 105)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(True, color="#dddddd")
    figure.tight_layout()
    return _save(figure, path)


def summary_page(figures, facts, path, width=10.0):
    """summary.png: the headline facts above the status, change and calibration figures (each at
    its own width, at most the page's, centred)."""
    import matplotlib.image as mpimg
    images = [mpimg.imread(figure) for figure in figures]
    widths = [min(1.0, image.shape[1] / (100.0 * width)) for image in images]
    heights = [width * share * image.shape[0] / image.shape[1] for image, share in zip(images, widths)]
    text_height = 0.2 * len(facts) + 0.3
    total = text_height + sum(heights)
    figure = _figure(width, total)
    figure.text(0.02, 1 - 0.15 / total, "\n".join(facts), va="top", ha="left", fontsize=9)
    top = 1 - text_height / total
    for image, share, height in zip(images, widths, heights):
        ax = figure.add_axes([(1 - share) / 2, top - height / total, share, height / total])
        ax.imshow(image)
        ax.axis("off")
        top -= height / total
    return _save(figure, path)


# ----------------------------------------------------------------------------- the page

def build_summary(output_folder, products, reference, statistics, year_a, year_b, parameters, calibration):
    """Write the summary figures and summary.png; return (HTML section, numbers for report.json).

    calibration: the calibration file's content (dict) or None."""
    figures = os.path.join(output_folder, "figures")
    os.makedirs(figures, exist_ok=True)
    periods = {year: data_period(products.get(name)) for year, name in ((year_a, "PP_A"), (year_b, "PP_B"))}
    numbers = {"plugin_version": plugin_version(), "data_period": periods,
               "inputs": input_names(parameters), "warnings": run_warnings(products),
               "change": change_rows(statistics.get("change_classes", {})),
               "confidence": {name: confidence_shares(products[name]) for name in ("IMDCL", "IBUCL")
                              if products.get(name)}}
    drawn = []
    status = [(f"IMD {year_a} (reference)", reference.get("IMD_A"), "imd"),
              (f"IMD {year_b}", products.get("IMD_B"), "imd"),
              (f"IBU {year_a} (reference)", reference.get("IBU_A"), "ibu"),
              (f"IBU {year_b}", products.get("IBU_B"), "ibu")]
    if any(layer for _, layer, _ in status):
        drawn.append(status_figure(status, os.path.join(figures, "summary_status.png")))
    changes = [(title, products[name]) for title, name in (
        ("IMCC 20 m: real IMD change", "IMCC_20"), ("IBUC 20 m: real IBU change", "IBUC_20"),
        ("IMCCS 20 m: technical IMD change", "IMCCS_20")) if products.get(name)]
    if changes:
        drawn.append(change_figure(changes, os.path.join(figures, "summary_change.png")))
    if calibration and reference.get("IMD_A") and products.get("PP_A") and products.get("IMD_MSK_A"):
        spacing = float(calibration["regression"].get("sample_spacing", 60.0))
        ndvi, imd = calibration_samples(reference["IMD_A"], products["PP_A"], products["IMD_MSK_A"], spacing)
        numbers["calibration_samples"] = int(ndvi.size)
        drawn.append(calibration_figure(ndvi, imd, calibration, os.path.join(figures, "summary_calibration.png")))
    facts = _facts(numbers, statistics, calibration, year_a, year_b)
    summary_page(drawn, facts, os.path.join(output_folder, "summary.png"))
    section = _html(numbers, statistics, calibration, drawn, output_folder, products, year_a, year_b)
    return section, numbers


def _period_text(period, year):
    if not period:
        return f"{year}"
    first, last, count = period
    return f"{year}: Sentinel-2 {first} to {last} ({count} acquisitions)"


def _facts(numbers, statistics, calibration, year_a, year_b):
    facts = [f"HRL Imperviousness {year_a} -> {year_b}, plugin version {numbers['plugin_version']}"]
    facts += [f"Data {_period_text(numbers['data_period'][year], year)}" for year in (year_a, year_b)]
    status = statistics.get("status", {})
    for year in (year_a, year_b):
        if str(year) in status:
            s = status[str(year)]
            facts.append(f"IMD {year}: impervious {s['impervious_ha']:.1f} ha, sealed (density-weighted) "
                         f"{s['sealed_ha']:.1f} ha, mean density {s['mean_density_impervious']:.1f} %")
    for status_name, kind, areas in numbers["change"]:
        if status_name == "IMD 20 m":
            facts.append(f"{status_name} {kind}: " + ", ".join(
                f"{label} {area:.2f} ha" for (_, label), area in zip(CHANGE_COLUMNS, areas)))
    if calibration:
        c = calibration["coefficients"]
        facts.append(f"Calibration: IMD = {c['a']:.1f} {c['b']:+.1f} x NDVI_P0 (R2 "
                     f"{calibration['regression']['r_squared']:.2f}), M = {c['M']:g}, m = {c['m']:.1f}; "
                     f"mask {calibration.get('sealing_mask', {}).get('rule', 'unknown')}")
    facts.append(f"Warnings: {len(numbers['warnings'])}" + ("" if not numbers["warnings"] else
                                                            " (see report.html)"))
    return facts


def _table(rows, header):
    """An HTML table whose cells after the first column are right-aligned (numbers)."""
    def cells(row, tag):
        return "".join(f'<{tag}{" class=num" if index else ""}>{html.escape(str(cell))}</{tag}>'
                       for index, cell in enumerate(row))
    return ("<table class=summary><tr>" + cells(header, "th") + "</tr>"
            + "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows) + "</table>")


def _html(numbers, statistics, calibration, drawn, output_folder, products, year_a, year_b):
    def figure(name, caption):
        for path in drawn:
            if os.path.basename(path) == name:
                return (f'<figure><img src="figures/{name}" alt="{html.escape(caption)}">'
                        f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        return ""

    parts = ['<section id="summary"><h2>Summary</h2>',
             f"<p>Plugin version {html.escape(numbers['plugin_version'])}. Data: "
             + "; ".join(html.escape(_period_text(numbers["data_period"][y], y)) for y in (year_a, year_b))
             + '. <a href="summary.png">Summary page as PNG</a>.</p>']
    if numbers["inputs"]:
        parts.append("<h3>Inputs</h3>" + _table(sorted(numbers["inputs"].items()), ("parameter", "file")))
    parts.append("<h3>Warnings</h3>")
    parts.append("<ul>" + "".join(f'<li class="warning">{html.escape(text)}</li>' for text in numbers["warnings"])
                 + "</ul>" if numbers["warnings"] else "<p>None: the input resembles the models' "
                 "training data and covers the year.</p>")
    parts += ["<h3>Status: year A and year B</h3>",
              figure("summary_status.png", f"IMD and IBU, {year_a} (reference) and {year_b} (this run)"),
              "<h3>Change</h3>",
              figure("summary_change.png", "Change classes at 20 m (ATBD Table 5)"),
              _table([(status, kind) + tuple(f"{area:.2f}" for area in areas)
                      for status, kind, areas in numbers["change"]],
                     ("layer", "change") + tuple(f"{label}, ha" for _, label in CHANGE_COLUMNS)),
              f"<p>{html.escape(TECHNICAL_CHANGE)}</p>"]
    if calibration:
        c, r = calibration["coefficients"], calibration["regression"]
        rows = [("regression", f"IMD = {c['a']:.2f} {c['b']:+.2f} x NDVI_P0"),
                ("R squared, residual SD", f"{r['r_squared']:.3f}, {r['residual_sd']:.2f} points"),
                ("samples", f"{r['samples']} ({r['sample_spacing']:g} m grid)"),
                ("high-density maximum M", f"{c['M']:g} %"), ("new minimum m", f"{c['m']:.2f}"),
                ("mean density of impervious pixels kept",
                 f"{calibration['rescaling'].get('achieved_mean', float('nan')):.2f} % "
                 f"(year A {calibration['rescaling'].get('target_mean', float('nan')):.2f} %)"),
                ("sealing mask", calibration.get("sealing_mask", {}).get("rule", "unknown"))]
        parts += ["<h3>Calibration (ATBD 4.3.2)</h3>", _table(rows, ("", "")),
                  figure("summary_calibration.png", "IMD_A against NDVI_P0_A on the regression samples")]
    if numbers["confidence"]:
        labels = [label for label, _ in next(iter(numbers["confidence"].values()))]
        parts += ["<h3>Confidence: share of valid pixels per class</h3>",
                  _table([(name,) + tuple(f"{100 * share:.1f} %" for _, share in shares)
                          for name, shares in numbers["confidence"].items()], ("layer",) + tuple(labels))]
    links = sorted((key, os.path.basename(path)) for key, path in products.items())
    parts += ["<h3>Product files</h3><ul>"
              + "".join(f'<li><a href="{html.escape(name)}">{html.escape(name)}</a> ({html.escape(key)})</li>'
                        for key, name in links)
              + '<li><a href="report.json">report.json</a></li></ul></section>']
    return "".join(parts)
