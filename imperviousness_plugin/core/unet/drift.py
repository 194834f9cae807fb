"""Is the input of `predict` like the data the models were trained on? (issue 13)

A U-Net only knows the feature distribution of its training data; its contract records that
distribution as the normalisation (mean and standard deviation of every feature). Before a
prediction the PP stack is compared with it, and with what the harmonic NDVI model needs:

* Out of distribution: for each model's normalisation, the share of valid pixels whose feature
  lies more than Z_LIMIT (4) standard deviations from the training mean. When that share exceeds
  SHARE_LIMIT (5 %) in any feature, the run warns, names the features with their shares and says
  what to do: train a model on year A of this area (`trainmodel`, or the model
  hrl_imperviousness_train). A Gaussian feature lies beyond 4 SD for 0.006 % of pixels; 5 % is
  a shift of the bulk of the data, not a tail.
* Too few clear observations: NOBS (the PP band counting clear observations) below the number of
  coefficients of the NDVI model (3 N + 1 for order N: constant, N Legendre terms, N harmonic
  pairs) on more than SHARE_LIMIT of the valid pixels: the fit is then held only by its ridge.
* Part of the year: the PP stack's FIRST_DATE..LAST_DATE (preprocess metadata) span less than
  MIN_SPAN_DAYS (270 days): the annual harmonic model extrapolates outside the observed season.

All counts are accumulated block by block (bounded memory). Nothing here stops a run: it warns.
"""

import datetime
import json
import re

import numpy as np

from ..io.raster import DEFAULT_BLOCK_SIZE, iter_blocks

Z_LIMIT = 4.0
SHARE_LIMIT = 0.05
MIN_SPAN_DAYS = 270
ADVICE = ("Train a model on year A of this area with imperviousness:trainmodel (or run the model "
          "hrl_imperviousness_train) and predict year B with it.")


class _Counts:
    """Valid pixels and pixels beyond Z_LIMIT per feature of one normalisation."""

    def __init__(self, contract):
        self.contract = contract
        self.models = []
        self.valid = 0
        self.outside = np.zeros(len(contract.features), dtype=np.int64)

    def add(self, band_values):
        inputs, valid = self.contract.prepare(band_values)
        self.valid += int(valid.sum())
        self.outside += (np.abs(inputs[:, valid]) > Z_LIMIT).sum(axis=1)

    def shares(self):
        total = max(self.valid, 1)
        return {name: float(count) / total for name, count in zip(self.contract.feature_names, self.outside)}


def _harmonic_order(source):
    """Order N of the PP stack's NDVI model: the number of its amplitude bands NDVI_A1..NDVI_AN."""
    return sum(1 for name in source.descriptions if name and re.fullmatch(r"NDVI_A\d+", name))


def _date_span(source):
    """(first, last, days) from the PP stack's metadata, or None when it does not say."""
    metadata = source.dataset.GetMetadata() or {}
    try:
        first = datetime.date.fromisoformat(metadata["FIRST_DATE"])
        last = datetime.date.fromisoformat(metadata["LAST_DATE"])
    except (KeyError, ValueError):
        return None
    return first.isoformat(), last.isoformat(), (last - first).days


def check_input(source, members, block_size=DEFAULT_BLOCK_SIZE, progress=None):
    """Compare the PP stack `source` (a RasterInput) with the models' training; returns a dict.

    {"z_limit", "share_limit", "normalisations": [{"models", "valid_pixels", "shares",
    "flagged"}], "observations": {...}, "season": {...}, "warnings": [sentences]}.
    """
    groups = {}
    for member in members:
        contract = member.contract   # members sharing a normalisation are counted once
        group = groups.setdefault((contract.feature_names, contract.mean, contract.std), _Counts(contract))
        group.models.append(member.contract.source.rsplit("/", 1)[-1])
    bands = sorted({band for member in members for band in member.contract.bands})
    numbers = {band: source.band_number(band) for band in bands}
    order = _harmonic_order(source)
    needed = 3 * order + 1       # the NDVI model's coefficients (ndvi_model.design_matrix)
    nobs_band = source.band_number("NOBS") if "NOBS" in source.descriptions else None
    nobs_valid = nobs_few = 0
    grid = source.grid
    for window in iter_blocks(grid.width, grid.height, block_size):
        if progress is not None:
            progress.check_cancelled()
        values = {band: source.read_float(window, number, np.float32) for band, number in numbers.items()}
        for group in groups.values():
            group.add(values)
        if nobs_band is not None:
            nobs = source.read_float(window, nobs_band, np.float32)
            finite = np.isfinite(nobs)
            nobs_valid += int(finite.sum())
            nobs_few += int((finite & (nobs < needed)).sum())
    return _summarise(groups, nobs_valid, nobs_few, needed, _date_span(source))


def _summarise(groups, nobs_valid, nobs_few, needed, span):
    warnings, normalisations = [], []
    for group in groups.values():
        shares = group.shares()
        flagged = {name: share for name, share in shares.items() if share > SHARE_LIMIT}
        normalisations.append({"models": group.models, "valid_pixels": group.valid,
                               "shares": shares, "flagged": flagged})
        if flagged:
            listed = ", ".join(f"{name} {100 * share:.1f} %" for name, share in
                               sorted(flagged.items(), key=lambda item: -item[1]))
            warnings.append(
                f"The input lies outside the training data of {', '.join(group.models)}: share of "
                f"pixels more than {Z_LIMIT:g} SD from the training mean: {listed}. The prediction "
                f"there is an extrapolation. {ADVICE}")
    few_share = nobs_few / nobs_valid if nobs_valid else 0.0
    observations = {"needed": needed, "valid_pixels": nobs_valid, "pixels_below": nobs_few,
                    "share_below": few_share}
    if few_share > SHARE_LIMIT:
        warnings.append(
            f"{100 * few_share:.1f} % of the pixels have fewer than {needed} clear observations "
            f"(NOBS), the number of coefficients of the NDVI model: the features there "
            "rest on too few dates. Add acquisitions of that year (a longer period, other orbits) "
            "or relax the cloud filter.")
    season = None
    if span is not None:
        first, last, days = span
        season = {"first_date": first, "last_date": last, "days": days, "min_days": MIN_SPAN_DAYS}
        if days < MIN_SPAN_DAYS:
            warnings.append(
                f"The PP stack covers only {first} to {last} ({days} days): the annual harmonic "
                "NDVI model extrapolates outside that season, and its features differ from those "
                f"of a full year the models were trained on. Pre-process the whole year. {ADVICE}")
    return {"z_limit": Z_LIMIT, "share_limit": SHARE_LIMIT, "normalisations": normalisations,
            "observations": observations, "season": season, "warnings": warnings}


def as_metadata(check):
    """The warnings as one metadata item (JSON list) for the product the report reads."""
    return json.dumps(check["warnings"])
