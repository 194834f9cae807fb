"""Simulated training data for the shipped U-Nets: real fraction maps, simulated Sentinel-2, real PP code.

No public Sentinel-2 time series with HRL labels is available to this project, so the shipped
models are trained on *simulated* pre-processed stacks whose ground truth is known exactly:

1. Cover fractions from real maps (`malta_layers`, `chunk_fractions`): the Copernicus HRL layers
   over Malta (10 m, EPSG:3035) give the impervious fraction (IMD / 100), the tree fraction (TCD)
   and grassland (GRA); CORINE Land Cover 2018 polygons (rasterised) decide how the impervious
   part splits into roofs (built-up) and paved surfaces and what covers the rest (crops, bare
   ground, shrub, grass, water) inside random field parcels; the sea (IMD 255) is water. The
   roof share of the impervious fraction is a per-CLC-class base (e.g. 0.70 in continuous
   urban fabric, 0.05 on roads and in quarries) modulated by a smooth random field, so built-up
   and imperviousness are related but not identical, as in the HRL products.
2. Spectra and phenology (`real_endmembers`, `chunk_library`): the simulator's default
   end-members (`sampledata`) blended, per chunk, with end-members measured on real Sentinel-2
   L2A data in ../shared/data/s2: impervious surfaces (dark and bright percentiles of the
   non-vegetated clear pixels of the Antwerp port series, B02 B03 B04 B08; the other bands
   follow the default spectral shapes scaled to them), bare soil and green canopy (the
   Hesbaye farmland monthly composites, nine bands; B8A from the default B8A/B08 ratio), and
   crop phenology (the two dominant Hesbaye NDVI trajectories, converted to green fractions).
3. Acquisitions: `sampledata.simulate_acquisition` (clouds, shadows, cirrus, SCL, processing
   baselines and offsets, noise) for the chunk as a World, written as plain acquisition folders.
4. Features: `preprocess.run_preprocess` on those folders, onto the EEA grid (EPSG:3035, 10 m)
   inside the chunk, exactly as a user pre-processes real scenes (bilinear reprojection,
   harmonisation, weighted quantiles, NDVI model); the truth fractions are averaged onto the
   same grid ("average" warp), as the sample data's reference layers are.

Everything is deterministic for a given chunk seed.
"""

import json
import os
import shutil
import tempfile
from dataclasses import dataclass

import numpy as np
from osgeo import gdal, osr

from tools import sampledata as sd
from imperviousness_plugin.core.errors import ImperviousnessError
from imperviousness_plugin.core.features.preprocess import PreprocessOptions, run_preprocess
from imperviousness_plugin.core.io import profiles
from imperviousness_plugin.core.io.raster import Grid, band_descriptions, open_on_grid, open_raster

gdal.UseExceptions()

MALTA_FILES = {"IMD": "hrl_malta/IMD_2018_010m_malta.tif", "TCD": "hrl_malta/TCD_2018_010m_malta.tif",
               "GRA": "hrl_malta/GRA_2018_010m_malta.tif"}
CLC_FILE = ("clc_malta/clc2018_malta.gpkg", "clc18_mt", "CODE_18")
CHUNK = 256

# Roof (built-up) share of the impervious fraction per CLC class (others: DEFAULT_ROOF_SHARE).
ROOF_SHARE = {111: 0.70, 112: 0.55, 121: 0.50, 122: 0.05, 123: 0.20, 124: 0.10, 131: 0.05,
              132: 0.10, 133: 0.15, 141: 0.20, 142: 0.20}
DEFAULT_ROOF_SHARE = 0.45
# What covers the pixel besides impervious surfaces and trees: shares of
# (grass, winter_crop, summer_crop, bare, shrub, water) per CLC class group.
REST = ("grass", "winter_crop", "summer_crop", "bare", "shrub", "water")
REST_SHARES = {
    "artificial": (0.45, 0.00, 0.00, 0.35, 0.20, 0.0),
    211: (0.15, 0.55, 0.10, 0.20, 0.00, 0.0),
    212: (0.00, 0.30, 0.50, 0.20, 0.00, 0.0),
    "permanent_crops": (0.30, 0.00, 0.00, 0.50, 0.20, 0.0),
    231: (0.90, 0.00, 0.00, 0.10, 0.00, 0.0),
    242: (0.20, 0.35, 0.20, 0.20, 0.05, 0.0),
    243: (0.25, 0.25, 0.00, 0.20, 0.30, 0.0),
    "forest": (0.30, 0.00, 0.00, 0.20, 0.50, 0.0),
    321: (0.80, 0.00, 0.00, 0.10, 0.10, 0.0),
    "shrub": (0.15, 0.00, 0.00, 0.15, 0.70, 0.0),
    "open": (0.10, 0.00, 0.00, 0.70, 0.20, 0.0),
    "wetland": (0.50, 0.00, 0.00, 0.50, 0.00, 0.0),
    "water": (0.00, 0.00, 0.00, 0.00, 0.00, 1.0),
    "grassland": (0.85, 0.00, 0.00, 0.05, 0.10, 0.0),
    None: (0.40, 0.00, 0.00, 0.30, 0.30, 0.0),
}


def _rest_group(code):
    if 100 <= code < 200:
        return "artificial"
    if code in (211, 212, 231, 242, 243, 321):
        return code
    if 220 <= code < 230:
        return "permanent_crops"
    if 310 <= code < 320:
        return "forest"
    if code in (322, 323, 324):
        return "shrub"
    if 330 <= code < 340:
        return "open"
    if 400 <= code < 500:
        return "wetland"
    if 500 <= code < 600:
        return "water"
    return None


# ---------------------------------------------------------------------------------------------
# Real layers
# ---------------------------------------------------------------------------------------------

@dataclass
class MaltaLayers:
    grid: Grid
    imd: np.ndarray      # uint8 0..100, 255 sea / outside
    tcd: np.ndarray      # uint8 0..100, 255 outside
    gra: np.ndarray      # uint8 0/1, 255 outside
    clc: np.ndarray      # int16 CLC 2018 level-3 code, 0 where no polygon


def malta_layers(shared_data):
    """The HRL layers and the rasterised CLC 2018 over Malta on their common 10 m grid."""
    arrays = {}
    grid = None
    for name, relative in MALTA_FILES.items():
        path = os.path.join(str(shared_data), relative)
        dataset = open_raster(path)
        if grid is None:
            grid = Grid.of_dataset(dataset)
        elif not Grid.of_dataset(dataset).same_as(grid):
            raise ImperviousnessError(f"{path} is not on the grid of the IMD layer.")
        arrays[name.lower()] = dataset.ReadAsArray()
    relative, layer, attribute = CLC_FILE
    vector = gdal.OpenEx(os.path.join(str(shared_data), relative), gdal.OF_VECTOR)
    target = gdal.GetDriverByName("MEM").Create("", grid.width, grid.height, 1, gdal.GDT_Int16)
    target.SetGeoTransform(grid.geotransform)
    target.SetProjection(grid.crs_wkt)
    gdal.Rasterize(target, vector, layers=[layer], attribute=attribute)
    return MaltaLayers(grid, arrays["imd"], arrays["tcd"], arrays["gra"],
                       target.ReadAsArray().astype(np.int16))


def _parcels(rng, size, low=8, high=26):
    """Parcel ids (size, size) from random cuts of the rows and columns."""
    centres = np.arange(size) + 0.5
    row_cuts, col_cuts = sd.random_cuts(rng, size, low, high), sd.random_cuts(rng, size, low, high)
    rows = np.searchsorted(row_cuts, centres)
    cols = np.searchsorted(col_cuts, centres)
    return rows[:, None] * (len(col_cuts) + 1) + cols[None, :]


def chunk_fractions(layers, row, col, seed, size=CHUNK):
    """Cover fractions (len(COVERS), size, size) float32 and phenology shifts of one chunk."""
    window = (slice(row, row + size), slice(col, col + size))
    imd, tcd, gra, clc = (array[window] for array in (layers.imd, layers.tcd, layers.gra, layers.clc))
    if imd.shape != (size, size):
        raise ImperviousnessError(f"Chunk ({row}, {col}) leaves the Malta grid.")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 11]))
    sea = imd == 255
    impervious = np.where(sea, 0.0, imd / 100.0)
    trees = np.where(tcd <= 100, tcd / 100.0, 0.0)
    trees = np.minimum(trees, 1.0 - impervious)
    rest = np.clip(1.0 - impervious - trees, 0.0, 1.0)

    share = np.full((size, size), DEFAULT_ROOF_SHARE)
    for code, value in ROOF_SHARE.items():
        share[clc == code] = value
    share = np.clip(share + 0.15 * sd.smooth_field(rng, (size, size), 6.0)
                    + 0.05 * rng.standard_normal((size, size)), 0.03, 0.95)
    conifer_share = np.clip(0.55 + 0.25 * sd.smooth_field(rng, (size, size), 10.0), 0.0, 1.0)
    conifer_share[clc == 312] = 0.9
    conifer_share[clc == 311] = 0.2

    parcel = _parcels(rng, size)
    draw = rng.random(int(parcel.max()) + 1)[parcel]          # one uniform number per parcel
    groups = np.empty((size, size), dtype=object)
    for code in np.unique(clc):
        groups[clc == code] = _rest_group(int(code))
    groups[(gra == 1) & (clc < 500)] = "grassland"
    rest_fractions = np.zeros((len(REST), size, size))
    for group in set(groups.ravel().tolist()):
        mask = groups == group
        shares = np.array(REST_SHARES[group])
        dominant = np.searchsorted(np.cumsum(shares), draw[mask] * shares.sum() - 1e-12)
        dominant = np.minimum(dominant, len(REST) - 1)
        composition = 0.2 * shares[:, None] + 0.8 * np.eye(len(REST))[:, dominant]
        rest_fractions[:, mask] = composition
    rest_fractions *= rest[None]

    fractions = np.zeros((len(sd.COVERS), size, size))
    fractions[sd.ROOF] = impervious * share
    fractions[sd.PAVED] = impervious * (1.0 - share)
    fractions[sd.CONIFER] = trees * conifer_share
    fractions[sd.BROADLEAF] = trees * (1.0 - conifer_share)
    for index, cover in enumerate(REST):
        fractions[sd.COVERS.index(cover)] += rest_fractions[index]
    fractions[:, sea] = 0.0
    fractions[sd.WATER, sea] = 1.0
    fractions /= fractions.sum(axis=0, keepdims=True)
    shift = rng.normal(0.0, 6.0, int(parcel.max()) + 1)[parcel]
    return fractions.astype(np.float32), shift.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Real end-members
# ---------------------------------------------------------------------------------------------

_S2_BANDS = sd.BANDS
_WAVELENGTH = {"B02": 490, "B03": 560, "B04": 665, "B05": 705, "B06": 740, "B07": 783, "B08": 842,
               "B8A": 865, "B11": 1610, "B12": 2190}


def _read_netcdf(path, variable):
    dataset = gdal.Open(f'NETCDF:"{path}":{variable}')
    return dataset.ReadAsArray().astype(np.float64)


def _extend(measured, shape_name):
    """A 10-band spectrum from measured bands {band: reflectance}: the default spectrum
    `shape_name` scaled band by band, with scales interpolated over wavelength between measured
    bands (and held beyond the last one)."""
    default = np.array(sd.default_spectra()[shape_name])
    known = sorted(measured, key=lambda band: _WAVELENGTH[band])
    x = [_WAVELENGTH[band] for band in known]
    scales = [measured[band] / default[_S2_BANDS.index(band)] for band in known]
    wavelengths = np.array([_WAVELENGTH[band] for band in _S2_BANDS])
    return tuple(float(v) for v in default * np.interp(wavelengths, x, scales))


def real_endmembers(shared_data):
    """End-member spectra and crop greenness curves measured on the real Sentinel-2 series."""
    folder = os.path.join(str(shared_data), "s2")
    antwerp = os.path.join(folder, "antwerp_l2a_2023q4_scl.nc")
    bands4 = ("B02", "B03", "B04", "B08")
    series = {band: _read_netcdf(antwerp, f"S2-L2A-{band}") / 10000.0 for band in bands4}
    scl = _read_netcdf(antwerp, "S2-L2A-SCL")
    ndvi = (series["B08"] - series["B04"]) / (series["B08"] + series["B04"])
    impervious = (scl == 5) & (ndvi < 0.15)
    dark = {band: float(np.percentile(series[band][impervious], 25)) for band in bands4}
    bright = {band: float(np.percentile(series[band][impervious], 75)) for band in bands4}

    hesbaye = os.path.join(folder, "hesbaye_l2a_monthly_2020_2021.nc")
    bands9 = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B11", "B12")
    monthly = {band: _read_netcdf(hesbaye, f"S2-L2A-{band}") for band in bands9}
    valid = np.all([(v > 0) & (v < 65535) for v in monthly.values()], axis=0)
    reflectance = {band: monthly[band] / 10000.0 for band in bands9}
    ndvi_h = (reflectance["B08"] - reflectance["B04"]) / (reflectance["B08"] + reflectance["B04"])
    soil_pixels = valid & (ndvi_h < 0.2)
    green_pixels = valid & (ndvi_h > 0.8)
    soil = {band: float(np.median(reflectance[band][soil_pixels])) for band in bands9}
    green = {band: float(np.median(reflectance[band][green_pixels])) for band in bands9}
    spectra = {"paved": _extend(dark, "paved"), "roof": _extend(bright, "roof"),
               "soil": _extend(soil, "soil"), "bare": _extend(soil, "bare"),
               "green_leaf": _extend(green, "green_leaf")}
    curves = _crop_curves(ndvi_h, valid, soil, green)
    return {"spectra": spectra, "greenness_curves": curves,
            "sources": {"impervious": "Antwerp port, SCL 5 and NDVI < 0.15, 25th/75th percentiles",
                        "soil_green": "Hesbaye monthly composites, median of NDVI < 0.2 / > 0.8",
                        "phenology": "Hesbaye NDVI trajectories, k-means (6 clusters), winter and summer crop"}}


def _crop_curves(ndvi, valid, soil, green, clusters=6, iterations=30):
    """Green-fraction curves (tau nodes, values) of a winter and a summer crop.

    The NDVI trajectories of pixels valid in every usable month are grouped by k-means (seeded);
    the winter crop is the cluster of largest amplitude peaking in April..June, the summer crop
    the one peaking in July..September. Each NDVI is converted to the green fraction g of a
    soil / green-canopy mixture with that NDVI.
    """
    months = [month for month in range(ndvi.shape[0]) if valid[month].mean() > 0.5]
    pixels = np.all(valid[months], axis=0)
    trajectories = ndvi[months][:, pixels].T                      # (pixels, months)
    rng = np.random.default_rng(0)
    centres = trajectories[rng.choice(len(trajectories), clusters, replace=False)]
    for _ in range(iterations):
        labels = np.argmin(((trajectories[:, None] - centres[None]) ** 2).sum(axis=2), axis=1)
        centres = np.stack([trajectories[labels == k].mean(axis=0) if np.any(labels == k)
                            else centres[k] for k in range(clusters)])
    # Months 0..11 are November 2020 .. October 2021.
    calendar = np.array([(10 + month) % 12 + 1 for month in months])
    tau = (calendar - 0.5) / 12.0
    red_s, nir_s, red_g, nir_g = soil["B04"], soil["B08"], green["B04"], green["B08"]

    def pick(first, last):
        peaks = calendar[np.argmax(centres, axis=1)]
        amplitude = centres.max(axis=1) - centres.min(axis=1)
        candidates = [k for k in range(clusters) if first <= peaks[k] <= last]
        return centres[max(candidates, key=lambda k: amplitude[k])]

    curves = {}
    for cover, (first, last) in (("winter_crop", (4, 6)), ("summer_crop", (7, 9))):
        centre = pick(first, last)
        # NDVI of a soil/green mixture with green fraction g, solved for g.
        g = (centre * (nir_s + red_s) - (nir_s - red_s)) / \
            ((nir_g - nir_s) - (red_g - red_s) - centre * ((nir_g - nir_s) + (red_g - red_s)))
        order = np.argsort(tau)
        curves[cover] = (tau[order].tolist(), np.clip(g[order], 0.0, 1.0).tolist())
    return curves


def _periodic_curve(nodes, values):
    nodes, values = np.asarray(nodes), np.asarray(values)
    x = np.concatenate([nodes - 1.0, nodes, nodes + 1.0])
    y = np.concatenate([values, values, values])
    return lambda tau: np.interp(np.asarray(tau) % 1.0, x, y)


def chunk_library(real, rng, default_probability=0.4):
    """A per-chunk EndmemberLibrary: the defaults, or a random blend towards the real ones."""
    if real is None or rng.random() < default_probability:
        return None, 0.0
    weight = float(rng.uniform(0.2, 1.0))
    defaults = sd.default_spectra()
    spectra = {name: tuple((1 - weight) * np.array(defaults[name]) + weight * np.array(values))
               for name, values in real["spectra"].items()}
    greenness = {}
    for cover, (nodes, values) in real["greenness_curves"].items():
        curve = _periodic_curve(nodes, values)
        greenness[cover] = (lambda tau, c=cover, f=curve, w=weight:
                            (1 - w) * sd.greenness(c, tau) + w * f(tau))
    return sd.EndmemberLibrary(spectra, greenness), weight


# ---------------------------------------------------------------------------------------------
# Simulated PP of one chunk
# ---------------------------------------------------------------------------------------------

@dataclass
class SimulatedChunk:
    pp: np.ndarray            # (bands, h, w) float32 PP stack on the EEA grid
    band_names: list
    imd: np.ndarray           # (h, w) true impervious density 0..1
    built_up: np.ndarray      # (h, w) true built-up (roof) density 0..1
    land: np.ndarray          # (h, w) bool: mostly land in the real map (evaluation mask)
    info: dict

    def bands(self):
        return {name: self.pp[index] for index, name in enumerate(self.band_names)}

    def save(self, path):
        np.savez_compressed(path, pp=self.pp, imd=self.imd, built_up=self.built_up, land=self.land,
                            band_names=np.array(self.band_names), info=json.dumps(self.info))

    @classmethod
    def load(cls, path):
        data = np.load(path)
        return cls(data["pp"], [str(n) for n in data["band_names"]], data["imd"], data["built_up"],
                   data["land"], json.loads(str(data["info"])))


def _scratch_dir():
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return tempfile.mkdtemp(prefix="hrl_sim_", dir=base)


def _eea_grid(world):
    geotransform, (rows, cols) = sd.eea_grid(world)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(sd.EEA_EPSG)
    return Grid(srs.ExportToWkt(), geotransform, cols, rows)


def _warp_average(world, array, grid, scratch):
    """(bands, h, w) float32 of a (bands, n, n) truth array averaged onto `grid`."""
    path = os.path.join(scratch, "truth.tif")
    array = np.asarray(array, dtype=np.float32)
    driver = gdal.GetDriverByName("GTiff")
    dataset = driver.Create(path, world.size, world.size, array.shape[0], gdal.GDT_Float32)
    dataset.SetGeoTransform(world.geotransform_10m)
    dataset.SetProjection(world.crs_wkt)
    for index in range(array.shape[0]):
        dataset.GetRasterBand(index + 1).WriteArray(array[index])
    dataset = None
    return open_on_grid(path, grid, "average", float_output=True).ReadAsArray().reshape(
        (array.shape[0], grid.height, grid.width))


def simulate_chunk(fractions, shift, year, seed, library=None, n_dates=None, harmonic_order=3,
                   info=None):
    """Simulate one year of acquisitions for the fractions and pre-process them (production code)."""
    size = fractions.shape[-1]
    truth = sd.YearTruth(int(year), fractions, shift)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 12]))
    brightness = (1.0 + 0.04 * np.clip(sd.smooth_field(rng, (size, size), 2.0), -2.5, 2.5)).astype(np.float32)
    world = sd.World(size, int(seed), (int(year),), {int(year): truth},
                     np.zeros((size, size), np.uint8), {}, brightness, n_dates, endmembers=library)
    grid = _eea_grid(world)
    scratch = _scratch_dir()
    try:
        folder = os.path.join(scratch, "s2")
        for plan in sd.acquisition_plan(world, int(year)):
            sd.write_acquisition(sd.simulate_acquisition(world, plan), folder, "plain")
        options = PreprocessOptions(target_crs_wkt=grid.crs_wkt, extent=grid.bounds,
                                    harmonic_order=harmonic_order)
        pp_path = os.path.join(scratch, "pp.tif")
        run_preprocess(folder, pp_path, options)
        dataset = open_raster(pp_path)
        if not Grid.of_dataset(dataset).same_as(grid):
            raise ImperviousnessError("Internal error: the simulated PP is not on the chunk's EEA grid.")
        pp = dataset.ReadAsArray().astype(np.float32)
        names = band_descriptions(pp_path)
        dataset = None
        sea = (fractions[sd.WATER] > 0.999).astype(np.float32)
        warped = _warp_average(world, np.stack([fractions[sd.PAVED] + fractions[sd.ROOF],
                                                fractions[sd.ROOF], sea]), grid, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    details = dict(info or {})
    details.update({"year": int(year), "seed": int(seed), "n_dates": n_dates,
                    "acquisitions": len(sd.acquisition_plan(world, int(year)))})
    return SimulatedChunk(pp, names, np.clip(warped[0], 0, 1), np.clip(warped[1], 0, 1),
                          warped[2] < 0.5, details)


def malta_chunk_origins(layers, size=CHUNK, min_land=0.2):
    """Origins (row, col) of the size x size chunks of the Malta grid with enough land."""
    land = layers.imd != 255
    origins = []
    for row in range(0, layers.grid.height - size + 1, size):
        for col in range(0, layers.grid.width - size + 1, size):
            if land[row:row + size, col:col + size].mean() >= min_land:
                origins.append((row, col))
    return origins


def simulate_malta_chunk(layers, row, col, seed, real=None, size=CHUNK, years=(2018, 2019, 2020, 2021)):
    """A SimulatedChunk of the Malta chunk at (row, col) with per-chunk random conditions."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 13]))
    fractions, shift = chunk_fractions(layers, row, col, seed, size)
    library, weight = chunk_library(real, rng)
    year = int(rng.choice(years))
    n_dates = None if rng.random() < 0.5 else int(rng.integers(20, 61))
    info = {"row": int(row), "col": int(col), "real_endmember_weight": round(weight, 3)}
    return simulate_chunk(fractions, shift, year, seed, library, n_dates, info=info)


def is_gozo(row, col, size=CHUNK):
    """Chunks of Gozo and Comino (north-west of the Malta grid): held out from training."""
    return row + size / 2 < 1100


# ---------------------------------------------------------------------------------------------
# Large synthetic areas (issue 23: training memory, time and held-out metrics at any size)
# ---------------------------------------------------------------------------------------------
# PP stacks of any size written directly (no Sentinel-2 simulation, which would take hours at
# 10980 px): the real Malta IMD / TCD / GRA fractions, in blocks of AREA_BLOCK px each taken from
# another place of Malta (random offset, flip and rotation; a 2000 px area is one real crop, so
# its held-out blocks are really other places), mixed per pixel from end-member spectra with a
# per-pixel bright / dark impervious share, a 3 x 3 sensor blur and noise; NDVI statistics from
# the green fractions. Written strip by strip (bounded memory), tiled and ZSTD-compressed.

AREA_BLOCK = 2000
# Q20 reflectance of B02 B03 B04 B05 B06 B07 B08 B8A B11 B12.
AREA_SPECTRA = {
    "bright": (0.12, 0.14, 0.16, 0.18, 0.20, 0.21, 0.22, 0.23, 0.26, 0.24),
    "dark": (0.05, 0.06, 0.07, 0.08, 0.09, 0.09, 0.10, 0.10, 0.12, 0.11),
    "tree": (0.02, 0.04, 0.02, 0.07, 0.20, 0.26, 0.30, 0.32, 0.15, 0.07),
    "grass": (0.03, 0.06, 0.04, 0.10, 0.22, 0.27, 0.30, 0.31, 0.20, 0.10),
    "bare": (0.08, 0.11, 0.15, 0.18, 0.21, 0.23, 0.25, 0.27, 0.32, 0.26),
    "water": (0.05, 0.04, 0.03, 0.02, 0.01, 0.01, 0.01, 0.01, 0.005, 0.003),
}


def _area_sources(layers, blocks, seed):
    """(row, col, flip, rotation) in the Malta grid of every AREA_BLOCK block of the area."""
    rng = np.random.default_rng(seed)
    land = layers.imd != 255
    sources = {}
    for block in blocks:
        for _ in range(200):          # a crop with at least 40 % land
            row = int(rng.integers(0, layers.grid.height - AREA_BLOCK + 1))
            col = int(rng.integers(0, layers.grid.width - AREA_BLOCK + 1))
            if land[row:row + AREA_BLOCK, col:col + AREA_BLOCK].mean() >= 0.4:
                break
        sources[block] = (row, col, bool(rng.integers(0, 2)), int(rng.integers(0, 4)))
    return sources


def _area_fractions(layers, sources, size, row0, rows):
    """imd (0..1, NaN sea), tcd and gra of rows row0..row0+rows of the area."""
    out = {name: np.zeros((rows, size), np.float32) for name in ("imd", "tcd", "gra")}
    for (block_row, block_col), (row, col, flip, rotation) in sources.items():
        top, left = block_row * AREA_BLOCK, block_col * AREA_BLOCK
        if top >= row0 + rows or top + AREA_BLOCK <= row0 or left >= size:
            continue
        for name in out:
            source = getattr(layers, name)[row:row + AREA_BLOCK, col:col + AREA_BLOCK]
            source = np.rot90(source[:, ::-1] if flip else source, rotation)
            a, b = max(row0, top), min(row0 + rows, top + AREA_BLOCK)
            width = min(AREA_BLOCK, size - left)
            values = source[a - top:b - top, :width].astype(np.float32)
            if name == "imd":
                values = np.where(values == 255, np.nan, values / 100.0)
            elif name == "tcd":
                values = np.where(values == 255, 0.0, values / 100.0)
            else:
                values = np.where(values == 255, 0.0, values)
            out[name][a - row0:b - row0, left:left + width] = values
    return out


def _area_bands(fractions, rng):
    """The 22 PP bands (pp_band_names(3) order) of fraction strips."""
    from scipy.ndimage import uniform_filter
    imd, tcd, gra = fractions["imd"], fractions["tcd"], fractions["gra"]
    sea = np.isnan(imd)
    imp = np.nan_to_num(imd)
    tree = tcd * (1 - imp)
    grass = (1 - imp - tree) * (0.3 + 0.5 * gra)
    bare = np.clip(1 - imp - tree - grass, 0, 1)
    bright = rng.uniform(0, 1, imp.shape).astype(np.float32)       # roof and pavement brightness
    spectra = {k: np.asarray(v, np.float32)[:, None, None] for k, v in AREA_SPECTRA.items()}
    q20 = (imp * (bright * spectra["bright"] + (1 - bright) * spectra["dark"])
           + tree * spectra["tree"] + grass * spectra["grass"] + bare * spectra["bare"])
    q20 = np.where(sea, spectra["water"], q20)
    q20 = uniform_filter(q20, size=(1, 3, 3), mode="nearest")      # sensor blur: context matters
    q20 += rng.normal(0, 0.012, q20.shape).astype(np.float32)
    green = tree + 0.8 * grass + 0.3 * bare
    p0 = np.where(sea, -0.1, 0.08 + 0.62 * green) + rng.normal(0, 0.03, imp.shape)
    a1 = np.where(sea, 0.01, 0.04 + 0.25 * bare + 0.1 * grass) + rng.normal(0, 0.02, imp.shape)
    phi1 = 0.8 + 0.3 * gra + rng.normal(0, 0.3, imp.shape)
    small = [rng.normal(0, 0.02, imp.shape) for _ in range(5)]
    phases = [rng.uniform(-np.pi, np.pi, imp.shape) for _ in range(2)]
    bands = list(q20) + [p0 + 0.12 + 0.1 * a1, p0, small[0], small[1], small[2], np.abs(a1), phi1,
                         np.abs(small[3]), phases[0], np.abs(small[4]), phases[1], np.full(imp.shape, 30.0)]
    return [np.asarray(band, np.float32) for band in bands]


def write_synthetic_area(folder, size, seed=0, shared_data=None, strip=512):
    """pp.tif (22 bands, float32, NaN nodata) and imd.tif (Byte 0..100, 255 sea) of size x size px
    on the EEA grid; returns their paths."""
    from imperviousness_plugin.core.features.preprocess import pp_band_names
    shared_data = shared_data or os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
    layers = malta_layers(shared_data)
    blocks = [(r, c) for r in range(-(-size // AREA_BLOCK)) for c in range(-(-size // AREA_BLOCK))]
    sources = _area_sources(layers, blocks, seed)
    os.makedirs(folder, exist_ok=True)
    names = pp_band_names(3)
    geotransform = (4000000.0, 10.0, 0.0, 3000000.0 + 10.0 * size, 0.0, -10.0)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(3035)
    pp = gdal.GetDriverByName("GTiff").Create(os.path.join(folder, "pp.tif"), size, size, len(names),
                                              gdal.GDT_Float32, profiles.TRAINING_PP.creation_options())
    imd = gdal.GetDriverByName("GTiff").Create(os.path.join(folder, "imd.tif"), size, size, 1, gdal.GDT_Byte,
                                               profiles.TRAINING_REFERENCE.creation_options())
    for dataset in (pp, imd):
        dataset.SetGeoTransform(geotransform)
        dataset.SetProjection(srs.ExportToWkt())
    for index, name in enumerate(names, start=1):
        pp.GetRasterBand(index).SetDescription(name)
        pp.GetRasterBand(index).SetNoDataValue(float("nan"))
    pp.SetMetadata({"FIRST_DATE": "2018-01-01", "LAST_DATE": "2018-12-31"})
    imd.GetRasterBand(1).SetNoDataValue(255)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 23]))
    for row0 in range(0, size, strip):
        rows = min(strip, size - row0)
        fractions = _area_fractions(layers, sources, size, row0, rows)
        for index, band in enumerate(_area_bands(fractions, rng), start=1):
            pp.GetRasterBand(index).WriteArray(band, 0, row0)
        truth = np.where(np.isnan(fractions["imd"]), 255, np.rint(100 * np.nan_to_num(fractions["imd"])))
        imd.GetRasterBand(1).WriteArray(truth.astype(np.uint8), 0, row0)
    pp = imd = None
    return os.path.join(folder, "pp.tif"), os.path.join(folder, "imd.tif")


if __name__ == "__main__":
    import sys
    print(write_synthetic_area(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0))
