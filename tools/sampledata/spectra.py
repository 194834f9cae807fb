"""Spectra and phenology: end-member reflectances, greenness curves, NDVI (public: the
model-training simulation reuses them)."""

import calendar
from dataclasses import dataclass, field

import numpy as np

from imperviousness_plugin.core.errors import ImperviousnessError
from imperviousness_plugin.core.kernels import ndvi_model
from .constants import _BAND_INDEX, BANDS, COVERS


#                           B02    B03    B04    B05    B06    B07    B08    B8A    B11    B12
_SPECTRA = {
    "water":           (0.070, 0.060, 0.030, 0.020, 0.012, 0.010, 0.008, 0.007, 0.004, 0.003),
    "paved":           (0.080, 0.090, 0.100, 0.110, 0.120, 0.128, 0.133, 0.138, 0.160, 0.150),
    "roof":            (0.130, 0.150, 0.180, 0.200, 0.215, 0.228, 0.238, 0.246, 0.280, 0.260),
    "bare":            (0.090, 0.120, 0.160, 0.190, 0.210, 0.228, 0.240, 0.250, 0.330, 0.280),
    # backgrounds of vegetated covers
    "soil":            (0.070, 0.100, 0.150, 0.175, 0.190, 0.202, 0.210, 0.220, 0.300, 0.250),
    "dry_grass":       (0.060, 0.090, 0.120, 0.150, 0.180, 0.200, 0.220, 0.230, 0.320, 0.240),
    "litter":          (0.040, 0.060, 0.070, 0.090, 0.130, 0.150, 0.170, 0.180, 0.240, 0.160),
    "rock":            (0.100, 0.130, 0.170, 0.200, 0.220, 0.236, 0.250, 0.260, 0.320, 0.270),
    # green canopies
    "green_leaf":      (0.025, 0.060, 0.025, 0.090, 0.280, 0.360, 0.400, 0.420, 0.190, 0.090),
    "green_broadleaf": (0.020, 0.050, 0.020, 0.080, 0.260, 0.340, 0.380, 0.400, 0.170, 0.080),
    "green_conifer":   (0.015, 0.035, 0.018, 0.060, 0.170, 0.210, 0.230, 0.240, 0.120, 0.060),
    "green_shrub":     (0.030, 0.060, 0.040, 0.090, 0.200, 0.250, 0.280, 0.290, 0.200, 0.110),
}
# vegetated cover -> (background spectrum, green spectrum)
_VEGETATION = {
    "grass": ("dry_grass", "green_leaf"),
    "winter_crop": ("soil", "green_leaf"),
    "summer_crop": ("soil", "green_leaf"),
    "broadleaf": ("litter", "green_broadleaf"),
    "conifer": ("litter", "green_conifer"),
    "shrub": ("rock", "green_shrub"),
}
# Phenology of the green fraction over tau (0 on 1 January, 1 on 31 December):
#   bump:   gmin + amp * exp(-0.5 |d / width|^p), d the circular distance to the peak
#   season: gmin + amp * leaf-on logistic * leaf-off logistic
#   cosine: base + amp * cos(2 pi (tau - peak))
_PHENOLOGY = {
    "grass": ("bump", 0.15, 0.60, 0.13, 0.17, 2.5),          # green Dec..Apr, dry in summer
    "winter_crop": ("bump", 0.03, 0.90, 0.19, 0.12, 3.0),    # sown Nov, peak mid-March, cut June
    "summer_crop": ("bump", 0.03, 0.90, 0.58, 0.085, 3.0),   # June..September, peak early Aug
    "broadleaf": ("season", 0.25, 0.65, 0.30, 0.83, 0.025),  # leaves on late April..November
    "conifer": ("cosine", 0.78, 0.05, 0.45),
    "shrub": ("cosine", 0.50, 0.10, 0.20),
}
_CLOUD_SHAPE = np.array((1.00, 0.98, 0.97, 0.96, 0.95, 0.95, 0.94, 0.94, 0.80, 0.65))
_CIRRUS_SPECTRUM = np.array((0.50, 0.48, 0.46, 0.45, 0.44, 0.44, 0.43, 0.43, 0.30, 0.22))


def _cover_name(cover):
    if isinstance(cover, (int, np.integer)):
        return COVERS[int(cover)]
    if cover not in COVERS:
        raise ImperviousnessError(f"Unknown cover {cover!r}; covers are {', '.join(COVERS)}.")
    return cover


def greenness(cover, tau):
    """Fraction of green canopy of a cover at tau = (day_of_year - 1) / days_in_year.

    `tau` may be a number or an array (any shape); non-vegetated covers have greenness 0.
    """
    cover = _cover_name(cover)
    tau = np.asarray(tau, dtype=np.float64)
    if cover not in _PHENOLOGY:
        return np.zeros_like(tau)
    kind, *p = _PHENOLOGY[cover]
    if kind == "bump":
        gmin, amp, peak, width, power = p
        d = (tau - peak + 0.5) % 1.0 - 0.5
        return gmin + amp * np.exp(-0.5 * np.abs(d / width) ** power)
    if kind == "season":
        gmin, amp, on, off, k = p
        t = tau % 1.0
        return gmin + amp / (1.0 + np.exp(-(t - on) / k)) / (1.0 + np.exp((t - off) / k))
    base, amp, peak = p
    return base + amp * np.cos(2.0 * np.pi * (tau - peak))


def endmember_reflectance(cover, tau=0.5):
    """Surface reflectance (..., 10 bands in `BANDS` order) of a pure cover at tau.

    Vegetated covers are background + greenness(tau) x (green canopy - background); the others
    do not depend on tau. `tau` may be an array: the result has shape tau.shape + (10,).
    """
    cover = _cover_name(cover)
    tau = np.asarray(tau, dtype=np.float64)
    if cover in _VEGETATION:
        background, green = (np.array(_SPECTRA[name]) for name in _VEGETATION[cover])
        g = greenness(cover, tau)[..., None]
        return background + g * (green - background)
    return np.broadcast_to(np.array(_SPECTRA[cover]), tau.shape + (len(BANDS),)).copy()


def endmember_table(tau=0.5):
    """All covers' reflectances at one tau: array (len(COVERS), 10)."""
    return np.stack([endmember_reflectance(cover, float(tau)) for cover in COVERS])


def ndvi(reflectance):
    """NDVI of reflectances (..., 10) in `BANDS` order."""
    reflectance = np.asarray(reflectance)
    red, nir = reflectance[..., _BAND_INDEX["B04"]], reflectance[..., _BAND_INDEX["B08"]]
    return (nir - red) / (nir + red)


def ndvi_curve(cover, tau):
    """NDVI of a pure cover over tau (array like tau)."""
    return ndvi(endmember_reflectance(cover, tau))


def day_fraction(date):
    """tau = (day_of_year - 1) / days_in_year, as in SPEC section 4 (the plugin's own rule)."""
    return float(ndvi_model.day_fraction([date])[0])


_leap = calendar.isleap   # the standard library's leap-year rule, as ndvi_model.day_fraction


@dataclass
class EndmemberLibrary:
    """Spectra and phenology that replace the defaults in one World's simulation.

    Used to vary the end-members of simulated training data (the model-training simulation):
    `spectra` maps names of the spectra table (covers, and the backgrounds / green canopies of
    vegetated covers: soil, dry_grass, litter, rock, green_leaf, green_broadleaf, green_conifer,
    green_shrub) to 10 reflectances in `BANDS` order; `greenness` maps vegetated covers to a
    function of tau (array) giving the green fraction. Missing entries keep the defaults; a World
    without a library (the default) simulates exactly as before.
    """

    spectra: dict = field(default_factory=dict)
    greenness: dict = field(default_factory=dict)

    def spectrum(self, name):
        return tuple(self.spectra.get(name, _SPECTRA[name]))

    def green(self, cover, tau):
        function = self.greenness.get(cover)
        return greenness(cover, tau) if function is None else np.asarray(function(tau))


def default_spectra():
    """A copy of the default spectra table {name: 10 reflectances in BANDS order}."""
    return {name: tuple(values) for name, values in _SPECTRA.items()}
