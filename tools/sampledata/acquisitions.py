"""Acquisitions: the plan of dates, platforms, baselines and clouds, and each acquisition's
digital numbers and SCL."""

import datetime
import math
from dataclasses import dataclass, field

import numpy as np

from imperviousness_plugin.core.errors import ImperviousnessError
from .constants import (
    _BAND_INDEX, BANDS, BANDS_10M, BASELINE_CYCLE, BOA_ADD_OFFSET, COVERS, QUANTIFICATION,
    RELATIVE_ORBIT, TILE, WATER)
from .spectra import _CIRRUS_SPECTRUM, _CLOUD_SHAPE, day_fraction, greenness, _leap, _SPECTRA, _VEGETATION
from .landscape import smooth_field


@dataclass
class AcquisitionPlan:
    """What one acquisition will look like (date, platform, baseline, cloud situation)."""

    year: int
    index: int
    date: datetime.date
    spacecraft: str
    baseline: str
    kind: str                  # clear, partial, heavy, full
    cloud_cover: float         # target fraction of the area under cloud (opacity > 0)
    cirrus: bool
    nodata_strip: bool


@dataclass
class Acquisition:
    """One simulated Sentinel-2 L2A acquisition (digital numbers as written to disk)."""

    date: datetime.date
    spacecraft: str
    baseline: str
    bands: dict                # band -> uint16 DN; 10 m bands (H, W), 20 m bands (H/2, W/2)
    scl: np.ndarray            # uint8 (H/2, W/2)
    geotransform_10m: tuple
    crs_wkt: str
    year: int = None
    index: int = None
    kind: str = "clear"
    cloud_cover: float = 0.0
    nodata_strip: bool = False
    tile: str = TILE
    masks: dict = field(default_factory=dict, repr=False)  # truth at 20 m (cloud opacity, ...)

    @property
    def geotransform_20m(self):
        gt = self.geotransform_10m
        return (gt[0], 2 * gt[1], 0.0, gt[3], 0.0, 2 * gt[5])

    @property
    def boa_add_offset(self):
        return BOA_ADD_OFFSET if baseline_has_offset(self.baseline) else 0

    @property
    def sensing_time(self):
        return f"{self.date:%Y%m%d}T{'095031' if self.spacecraft == 'S2A' else '095029'}"

    @property
    def absolute_orbit(self):
        launch = datetime.date(2015, 6, 23) if self.spacecraft == "S2A" \
            else datetime.date(2017, 3, 7)
        return int((self.date - launch).days * 14.3) + 1

    @property
    def product_name(self):
        baseline = self.baseline.replace(".", "")
        return (f"{self.spacecraft}_MSIL2A_{self.sensing_time}_N{baseline}_{RELATIVE_ORBIT}_"
                f"{self.tile}_{self.date:%Y%m%d}T120000")

    @property
    def granule_name(self):
        return f"L2A_{self.tile}_A{self.absolute_orbit:06d}_{self.sensing_time}"

    @property
    def plain_name(self):
        return f"{self.spacecraft}_{self.date:%Y%m%d}"

    def reflectance(self, band):
        """Surface reflectance (float32) of a band; NaN where DN = 0 (no data)."""
        dn = self.bands[band]
        values = (dn.astype(np.float32) + self.boa_add_offset) / QUANTIFICATION
        return np.where(dn == 0, np.float32(np.nan), values)


def baseline_has_offset(baseline):
    """True for processing baselines >= 04.00 (BOA_ADD_OFFSET = -1000)."""
    return tuple(int(part) for part in str(baseline).split(".")) >= (4, 0)


def acquisition_plan(world, year):
    """The deterministic list of AcquisitionPlan of one year."""
    if year not in world.truth:
        raise ImperviousnessError(f"The sample world has no year {year} (years {world.years}).")
    rng = np.random.default_rng(np.random.SeedSequence([world.seed, year, 2]))
    days = 366 if _leap(year) else 365
    first = datetime.date(year, 1, 1)
    if world.n_dates is None:
        step = 10.6
        offsets, k = [], 0
        start = rng.uniform(1.0, 6.0)
        while True:
            day = int(round(start + k * step + rng.uniform(-2.0, 2.0)))
            if day > days - 2:
                break
            offsets.append(day)
            k += 1
    else:
        step = days / world.n_dates
        offsets = [int(round((k + 0.5) * step + rng.uniform(-0.25, 0.25) * step))
                   for k in range(world.n_dates)]
    offsets = sorted(set(min(max(day, 0), days - 1) for day in offsets))
    count = len(offsets)

    # About 40 % clear, 40 % partly cloudy, 15 % heavily clouded, and two fully cloudy dates.
    n_heavy = int(round(0.15 * count))
    n_partial = int(round(0.40 * count))
    n_clear = max(0, count - 2 - n_heavy - n_partial)
    kinds = ["full"] * 2 + ["heavy"] * n_heavy + ["partial"] * n_partial + ["clear"] * n_clear
    kinds = [str(kind) for kind in rng.permutation(np.array(kinds[:count]))]
    candidates = [i for i in range(count) if kinds[i] != "full"]
    n_strips = 1 + int(rng.random() < 0.5)
    strips = set(int(i) for i in rng.choice(candidates, size=n_strips, replace=False))
    plans = []
    for index, day in enumerate(offsets):
        kind = str(kinds[index])
        cover = {"clear": 0.0, "partial": rng.uniform(0.05, 0.5),
                 "heavy": rng.uniform(0.5, 0.9), "full": 1.0}[kind]
        cirrus = kind != "full" and bool(rng.random() < 0.25)
        plans.append(AcquisitionPlan(
            year, index, first + datetime.timedelta(days=day), "S2A" if index % 2 == 0 else "S2B",
            BASELINE_CYCLE[index % len(BASELINE_CYCLE)], kind, round(float(cover), 4), cirrus,
            index in strips))
    return plans


def _spectrum(world, name):
    library = getattr(world, "endmembers", None)
    return _SPECTRA[name] if library is None else library.spectrum(name)


def _greenness(world, cover, tau):
    library = getattr(world, "endmembers", None)
    return greenness(cover, tau) if library is None else library.green(cover, tau)


def _year_cache(world, year):
    key = ("base", year)
    if key not in world._cache:
        truth = world.truth[year]
        fractions = truth.fractions
        static = np.zeros((len(BANDS),) + fractions.shape[1:], dtype=np.float32)
        vegetation = []
        for index, cover in enumerate(COVERS):
            if not fractions[index].any():
                continue
            if cover in _VEGETATION:
                background, green = (np.array(_spectrum(world, name), dtype=np.float32)
                                     for name in _VEGETATION[cover])
                vegetation.append((cover, index, green - background))
            else:
                background = np.array(_spectrum(world, cover), dtype=np.float32)
            static += fractions[index][None] * background[:, None, None]
        world._cache[key] = (static, vegetation)
    return world._cache[key]


def surface_reflectance(world, year, date):
    """Cloud-free, noise-free surface reflectance (10, H, W) float32 of the truth at a date."""
    truth = world.truth[year]
    static, vegetation = _year_cache(world, year)
    tau = day_fraction(date)
    reflectance = static.copy()
    days = 366 if _leap(year) else 365
    local_tau = tau - truth.phenology_shift.astype(np.float64) / days
    for cover, index, difference in vegetation:
        green = (truth.fractions[index] * _greenness(world, cover, local_tau)).astype(np.float32)
        reflectance += green[None] * difference[:, None, None]
    reflectance *= world.brightness[None]
    return reflectance


def _shift(array, dr, dc):
    """out[r, c] = array[r - dr, c - dc], zero outside."""
    out = np.zeros_like(array)
    h, w = array.shape
    src_r = slice(max(0, -dr), min(h, h - dr))
    dst_r = slice(max(0, dr), min(h, h + dr))
    src_c = slice(max(0, -dc), min(w, w - dc))
    dst_c = slice(max(0, dc), min(w, w + dc))
    out[dst_r, dst_c] = array[src_r, src_c]
    return out


def _mean2(array):
    """2 x 2 block mean of the last two axes."""
    *lead, h, w = array.shape
    return array.reshape(*lead, h // 2, 2, w // 2, 2).mean(axis=(-3, -1))


def simulate_acquisition(world, plan, baseline=None):
    """Simulate one acquisition of `plan` (an AcquisitionPlan, or (year, index)).

    `baseline` overrides the plan's processing baseline; everything else (clouds, noise) is
    the same, so the DN differ by exactly the BOA offset.
    """
    if not isinstance(plan, AcquisitionPlan):
        year, index = plan
        plan = acquisition_plan(world, year)[index]
    baseline = plan.baseline if baseline is None else str(baseline)
    n, h2 = world.size, world.size // 2
    rng = np.random.default_rng(np.random.SeedSequence([world.seed, plan.year, plan.index, 3]))

    reflectance = surface_reflectance(world, plan.year, plan.date)
    gain = (1.0 + 0.01 * rng.standard_normal(len(BANDS))).astype(np.float32)
    reflectance *= gain[:, None, None]
    noise = rng.standard_normal(reflectance.shape, dtype=np.float32)
    reflectance += noise * (np.float32(0.002) + np.float32(0.01) * reflectance)

    opacity = np.zeros((n, n), dtype=np.float32)
    cirrus = np.zeros((n, n), dtype=np.float32)
    shadow = np.zeros((n, n), dtype=np.float32)
    level = rng.uniform(0.35, 0.75)
    sigma = max(4.0, n / 15.0)
    if plan.kind == "full":
        opacity = np.clip(0.86 + 0.1 * smooth_field(rng, (n, n), sigma), 0.5, 1.0).astype(np.float32)
    elif plan.cloud_cover > 0:
        blobs = smooth_field(rng, (n, n), sigma)
        threshold = np.quantile(blobs, 1.0 - plan.cloud_cover)
        opacity = (np.clip((blobs - threshold) / 0.8, 0.0, 1.0) ** 0.6).astype(np.float32)
        distance = rng.uniform(8.0, 25.0) * n / 300.0
        azimuth = math.radians(rng.uniform(-40.0, -20.0))   # shadows fall north-north-west
        dr = int(round(-distance * math.cos(azimuth)))
        dc = int(round(distance * math.sin(azimuth)))
        shadow = np.clip(1.5 * _shift(opacity, dr, dc), 0.0, 1.0)
    if plan.cirrus:
        veil = smooth_field(rng, (n, n), 2 * sigma)
        cirrus = (0.2 * np.clip((veil - 0.3) / 1.0, 0.0, 1.0)).astype(np.float32)

    reflectance *= (1.0 - 0.6 * shadow)[None]
    cloud_spectrum = (level * _CLOUD_SHAPE).astype(np.float32)[:, None, None]
    cirrus_spectrum = _CIRRUS_SPECTRUM.astype(np.float32)[:, None, None]
    reflectance += cirrus[None] * (cirrus_spectrum - reflectance)
    reflectance += opacity[None] * (cloud_spectrum - reflectance)

    # 20 m: means of 2 x 2; SCL classified from the 20 m means.
    opacity20, cirrus20, shadow20 = _mean2(opacity), _mean2(cirrus), _mean2(shadow)
    red20 = _mean2(reflectance[_BAND_INDEX["B04"]])
    nir20 = _mean2(reflectance[_BAND_INDEX["B08"]])
    water20 = _mean2(world.truth[plan.year].fractions[WATER])
    ndvi20 = (nir20 - red20) / np.maximum(nir20 + red20, 1e-6)
    scl = np.where(ndvi20 >= 0.4, 4, 5).astype(np.uint8)
    scl[water20 >= 0.5] = 6
    scl[rng.random((h2, h2)) < 0.003] = 7
    scl[(shadow20 >= 0.35) & (opacity20 < 0.2) & (cirrus20 < 0.06)] = 3
    scl[cirrus20 >= 0.06] = 10
    scl[opacity20 >= 0.2] = 7
    scl[opacity20 >= 0.45] = 8
    scl[opacity20 >= 0.7] = 9
    nodata20 = np.zeros((h2, h2), dtype=bool)
    if plan.nodata_strip:
        leg = int(round(0.2 * h2))
        nodata20 = (np.arange(h2)[:, None] + np.arange(h2)[None, :]) < leg
        scl[nodata20] = 0
    nodata10 = _up2(nodata20)

    offset = -BOA_ADD_OFFSET if baseline_has_offset(baseline) else 0
    bands = {}
    for index, band in enumerate(BANDS):
        values = reflectance[index] if band in BANDS_10M else _mean2(reflectance[index])
        dn = np.rint(np.clip(values, 1e-4, 5.0) * QUANTIFICATION).astype(np.uint16) + offset
        dn = dn.astype(np.uint16)
        dn[nodata10 if band in BANDS_10M else nodata20] = 0
        bands[band] = dn
    masks = {"cloud_opacity": opacity20.astype(np.float32), "cirrus": cirrus20.astype(np.float32),
             "shadow": shadow20.astype(np.float32), "nodata": nodata20}
    return Acquisition(plan.date, plan.spacecraft, baseline, bands, scl,
                       world.geotransform_10m, world.crs_wkt, plan.year, plan.index, plan.kind,
                       plan.cloud_cover, plan.nodata_strip, TILE, masks)


def _up2(array):
    return np.repeat(np.repeat(array, 2, axis=0), 2, axis=1)


def simulate_acquisitions(world, year, baseline=None):
    """All acquisitions of one year (list of Acquisition), in date order."""
    return [simulate_acquisition(world, plan, baseline) for plan in acquisition_plan(world, year)]
