"""Confidence layers IMDCL / IBUCL (ATBD 4.7, SPEC section 8).

Definition (SPEC 8): binarise each ensemble member's density at 50 % (a member says "impervious"
or "built-up" when its density is >= 0.5), take the population standard deviation (ddof = 0) of
these binary predictions, and CL = round(100 - 100 x SD). For P predictions of which a fraction
q says 1, SD = sqrt(q (1 - q)) <= 0.5, so CL lies in 50..100: 100 when all agree, 50 when half
and half. Rounding is half to even (numpy.rint). Byte, 255 = nodata.

Inputs, one of:
* the members' densities during prediction (imperviousness:predict OUTPUT_CONFIDENCE), unrounded;
* PREDICTIONS: one raster per member on one grid: Byte / integer rasters are percent 0..100
  (binarised at >= THRESHOLD, default 50), float rasters are densities 0..1 (binarised at
  >= THRESHOLD / 100);
* INPUT_SD: a precomputed SD raster that must already be the population SD of the *binarised*
  member predictions, in density units 0..0.5.
Nodata of every input: the one rule of core.io.raster.RasterInput (the declared nodata, NaN,
+/-inf, and 255 in Byte rasters). Note that
  predict's OUTPUT_SD is the SD of the continuous densities; it also lies in 0..0.5 but is not
  the SPEC's definition, so it gives a different (smoother) layer.

With a single model there is no ensemble: predict's test-time augmentation (flips/rotations of
each tile, TTA) stands in for it, every variant counting as one prediction.
"""

import numpy as np

from ..products import styles
from ..errors import ImperviousnessError
from ..progress import StepProgress
from ..io.encoding import NODATA
from ..io.raster import RasterInput, RasterWriter, count_blocks, iter_blocks, require_same_grid

DEFAULT_THRESHOLD = 50.0   # percent
BLOCK_SIZE = 1024


def binary_sd(votes):
    """Population SD of binary predictions (P, ...) along axis 0."""
    share = np.asarray(votes, dtype=np.float64).mean(axis=0)
    return np.sqrt(share * (1.0 - share))


def confidence_from_sd(sd, valid=None):
    """CL = round_half_even(100 - 100 x SD) as Byte; 255 where not valid or SD is NaN."""
    sd = np.asarray(sd, dtype=np.float64)
    ok = np.isfinite(sd) if valid is None else (np.asarray(valid, dtype=bool) & np.isfinite(sd))
    level = np.rint(100.0 - 100.0 * np.where(ok, sd, 0.0))
    return np.where(ok, np.clip(level, 50, 100), NODATA).astype(np.uint8)


def confidence_from_members(densities, valid=None, threshold=0.5):
    """Confidence from member densities (P, ...) in 0..1; a NaN density makes the pixel nodata."""
    densities = np.asarray(densities)
    finite = np.all(np.isfinite(densities), axis=0)
    valid = finite if valid is None else (np.asarray(valid, dtype=bool) & finite)
    votes = np.where(np.isfinite(densities), densities, 0.0) >= threshold
    return confidence_from_sd(binary_sd(votes), valid)


def _check_range(layer, values, valid, low, high, unit):
    inside = values[valid]
    if inside.size and (inside.min() < low - 1e-6 or inside.max() > high + 1e-6):
        raise ImperviousnessError(
            f"{layer.name} {layer.path} holds {inside.min():g}..{inside.max():g}; expected "
            f"{unit} {low:g}..{high:g}.")


def _open_inputs(predictions, input_sd):
    if bool(predictions) == bool(input_sd):
        raise ImperviousnessError("Give either PREDICTIONS (the ensemble members' rasters) or "
                                  "INPUT_SD (the SD of their binarised predictions), not both "
                                  "and not neither.")
    if input_sd:
        return [RasterInput(input_sd, "INPUT_SD")]
    layers = [RasterInput(path, "PREDICTIONS") for path in predictions]
    require_same_grid(layers, "confidence")
    return layers


def _read(layer, window):
    """(values float64, valid) of a window of one input."""
    values, valid = layer.read(window)
    return values.astype(np.float64), valid


def run_confidence(output, predictions=None, input_sd=None, threshold=DEFAULT_THRESHOLD,
                   feedback=None):
    """Write IMDCL / IBUCL (Byte 50..100, 255 nodata); returns the grid."""
    if not 0 < threshold <= 100:
        raise ImperviousnessError(f"THRESHOLD must lie in 0..100 (percent), not {threshold:g}.")
    layers = _open_inputs(list(predictions or []), input_sd)
    grid = layers[0].grid
    progress = StepProgress(feedback, count_blocks(grid.width, grid.height, BLOCK_SIZE))
    if input_sd:
        description = "confidence (%) 50..100 from a precomputed SD of binarised predictions"
    else:
        description = (f"confidence (%) 50..100 from {len(layers)} prediction(s) binarised "
                       f"at {threshold:g} %")
    with RasterWriter(output, grid, 1, np.uint8, NODATA, [description],
                      color_table=styles.color_table("confidence"),
                      metadata={"THRESHOLD": f"{threshold:g}", "INPUTS": len(layers)}) as writer:
        for window in iter_blocks(grid.width, grid.height, BLOCK_SIZE):
            progress.check_cancelled()
            if input_sd:
                values, valid = _read(layers[0], window)
                _check_range(layers[0], values, valid, 0.0, 0.5, "a standard deviation in density units")
                writer.write(window, confidence_from_sd(np.clip(values, 0.0, 0.5), valid))
            else:
                writer.write(window, _block_from_predictions(layers, window, threshold))
            progress.step()
    styles.write_style_beside(output, "confidence")
    return grid


def _block_from_predictions(layers, window, threshold):
    votes, valid = [], None
    for layer in layers:
        values, layer_valid = _read(layer, window)
        if layer.dtype.kind == "f":
            _check_range(layer, values, layer_valid, 0.0, 1.0, "densities")
            votes.append(values >= threshold / 100.0)
        else:
            _check_range(layer, values, layer_valid, 0.0, 100.0, "percentages")
            votes.append(values >= threshold)
        valid = layer_valid if valid is None else valid & layer_valid
    return confidence_from_sd(binary_sd(np.stack(votes)), valid)
