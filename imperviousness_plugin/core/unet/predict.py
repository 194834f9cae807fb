"""U-Net raw prediction (ATBD 4.2.3, SPEC section 8): PP stack to RIMD / RIBUD with ONNX Runtime.

Tiling. The raster is covered by tiles of the contract's tile size T (256) on one global layout:
tile origins 0, S, 2S, ... with the stride S = T - overlap (a multiple of the model's alignment
2^depth, so every tile sees the same pooling grid), and the last tile of a row or column moved
back to end exactly on the raster edge (a raster smaller than T gets one tile, padded with
nodata). Each tile's output is blended with a weight that is the outer product of two 1-D
profiles: 1 in the tile's interior, 0 on the outer `overlap // 4` pixels of every side that
faces a neighbouring tile, and a linear ramp in between; sides on the raster edge are not
tapered. For regularly spaced neighbours the two ramps sum to exactly 1, so the blended result
is a partition of unity of the tiles' outputs: no seams, and a model whose receptive field
(radius) fits in `overlap // 4` gives exactly the whole-image result. Outputs are divided by
the summed weight, which also covers the clamped last tile.

Batches. Tiles of a tile row go to ONNX Runtime `batch_size` at a time (automatic: 8 on a GPU,
1 on a CPU, where larger batches were measured no faster per tile for the shipped model on 2
cores: their activations no longer fit in the caches). On a CPU the batches run in parallel, one
per core on one-thread sessions, while the calling thread reads and prepares the next strip and
blends and writes the previous one (`inference_threads`); the blending order is fixed, so the
outputs do not depend on the threads.

Block-wise. Tiles are processed one tile row at a time inside column chunks: the accumulators
hold one tile row (T rows) of the chunk, rows that no later tile touches are written and the
overlap is carried to the next tile row. Column chunks are sized so that accumulators and
features stay within a memory budget (`MEMORY_BUDGET`); tiles straddling two chunks are
computed for each (the layout is global, so results do not depend on the chunking).

Ensemble. Every model (member) gives its own blended density; the product is their mean and the
population standard deviation (ddof = 0) across members, in density units. Test-time
augmentation (`tta`): "flips" runs each tile also flipped left-right, up-down and both (4
variants), "dihedral" adds the four transposed variants (8); every (member, variant) pair then
counts as one prediction for the mean, the SD and the confidence. "auto" uses "flips" for a
single model (so a lone model still gets an SD and a confidence) and nothing for an ensemble.

Nodata. A pixel is nodata when any PP band a member uses is not valid there (NaN, +/-inf or the
declared nodata: core.io.raster.RasterInput's rule) or it lies outside the raster; its features are filled with 0 (the training mean) so neighbours are not disturbed.
Outputs: RIMD / RIBUD Byte 0..100 = round_half_even(100 x mean), 255 nodata; SD Float32, NaN
nodata; optional confidence (SPEC 8, `confidence.py`) Byte 50..100, 255 nodata.
"""

import contextlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .. import PLUGIN_DIR
from ..products import styles
from .confidence import confidence_from_members
from ..errors import ImperviousnessError
from .contract import load_contract, open_session
from .drift import as_metadata, check_input
from ..progress import StepProgress
from ..io.encoding import NODATA
from ..io.raster import RasterInput, RasterWriter, Window
DEFAULT_BATCH_SIZE = None          # automatic: GPU_BATCH_SIZE on CUDA, CPU_BATCH_SIZE on CPU
CPU_BATCH_SIZE = 1                 # larger CPU batches measured no faster per tile
GPU_BATCH_SIZE = 8
MEMORY_BUDGET = 512 * 1024 * 1024   # bytes for accumulators and features of one tile row
TTA_MODES = ("auto", "none", "flips", "dihedral")
PARALLEL_TILES = True              # CPU: tiles in parallel on one-thread sessions (inference_threads)


MODELS_DIR = os.path.join(PLUGIN_DIR, "models")


def shipped_models(target="IMD"):
    """Paths of the ensemble shipped with the plugin for a target (models/hrl_<target>_unet_m*.onnx)."""
    target = str(target).upper()
    if target not in ("IMD", "IBU"):
        raise ImperviousnessError(f"The shipped models are for IMD or IBU, not {target!r}.")
    prefix = f"hrl_{target.lower()}_unet_m"
    names = sorted(name for name in (os.listdir(MODELS_DIR) if os.path.isdir(MODELS_DIR) else [])
                   if name.startswith(prefix) and name.endswith(".onnx"))
    if not names:
        raise ImperviousnessError(f"No shipped {target} model in {MODELS_DIR}.")
    return [os.path.join(MODELS_DIR, name) for name in names]


@dataclass
class Member:
    """One ensemble member: its file, contract and ONNX Runtime session."""

    path: str
    contract: object
    session: object

    def run(self, batch):
        """Densities (n, T, T) float32 of a batch (n, C, T, T)."""
        outputs = self.session.run([self.contract.output_name],
                                   {self.contract.input_name: np.ascontiguousarray(batch)})
        return np.asarray(outputs[0], dtype=np.float32)[:, 0]


def inference_threads(threads=None):
    """(ONNX Runtime threads per session, tiles inferred at once) for `threads` cores (None: all).

    On a CPU, whole tiles run in parallel on one-thread sessions (PARALLEL_TILES): the shipped
    U-Net is small, and splitting each operator of one tile over the cores left them waiting on
    each other and idle while this thread read, blended and wrote (see bench_predict). On a GPU
    one caller feeds it batches; its sessions keep the CPU threads for their CPU operators.
    """
    from .contract import providers
    cores = int(threads or os.cpu_count() or 1)
    if PARALLEL_TILES and "CUDAExecutionProvider" not in providers():
        return 1, cores
    return cores, 1


def automatic_batch_size(members):
    """Tiles per ONNX Runtime call: several on a GPU; one on a CPU, where a 256 x 256 tile's
    activations (about 6 MB per layer) still fit in cache and larger batches are no faster."""
    on_gpu = any(member.session.get_providers()[0] == "CUDAExecutionProvider" for member in members)
    return GPU_BATCH_SIZE if on_gpu else CPU_BATCH_SIZE


def load_ensemble(model_paths, band_names=None, input_name="the PP stack", threads=None):
    """Open and validate the models; they must share target, tile size and overlap."""
    paths = [str(path) for path in (model_paths or []) if str(path).strip()]
    if not paths:
        raise ImperviousnessError("No model given: MODELS needs at least one .onnx file.")
    members = []
    for path in paths:
        session = open_session(path, threads)
        contract = load_contract(path, session)
        if band_names is not None:
            contract.check_bands(band_names, input_name)
        members.append(Member(path, contract, session))
    first = members[0].contract
    for member in members[1:]:
        contract = member.contract
        if contract.target != first.target:
            raise ImperviousnessError(
                f"The models mix targets: {first.source} predicts {first.target} but "
                f"{contract.source} predicts {contract.target}; run IMD and IBU models separately.")
        if (contract.tile_size, contract.overlap, contract.alignment) != \
                (first.tile_size, first.overlap, first.alignment):
            raise ImperviousnessError(
                f"The models disagree on tiling: {first.source} uses tiles of {first.tile_size} "
                f"px with overlap {first.overlap}, {contract.source} {contract.tile_size} px with "
                f"overlap {contract.overlap}.")
    return members


# ---------------------------------------------------------------------------------------------
# Tile layout and blending
# ---------------------------------------------------------------------------------------------

def tile_origins(length, tile, stride):
    """Tile origins along one axis: 0, stride, ..., the last moved back to end on the edge."""
    if length <= tile:
        return [0]
    origins = list(range(0, length - tile + 1, stride))
    if origins[-1] + tile < length:
        origins.append(length - tile)
    return origins


def blend_profile(tile, overlap, taper_start, taper_end):
    """1-D blending weights (tile,) float64: 0 on the outer overlap//4 pixels of a tapered side,
    a linear ramp over the middle of the overlap, 1 inside."""
    weights = np.ones(tile, dtype=np.float64)
    margin = overlap // 4
    ramp_length = overlap - 2 * margin
    if ramp_length <= 0:
        return weights
    ramp = np.clip((np.arange(overlap) + 0.5 - margin) / ramp_length, 0.0, 1.0)
    if taper_start:
        weights[:overlap] = np.minimum(weights[:overlap], ramp)
    if taper_end:
        weights[tile - overlap:] = np.minimum(weights[tile - overlap:], ramp[::-1])
    return weights


def column_chunks(width, chunk_width):
    return [(start, min(width, start + chunk_width)) for start in range(0, width, chunk_width)]


def default_chunk_width(members, predictions, stride, tile):
    """Widest chunk (a multiple of the stride) whose tile-row buffers fit in MEMORY_BUDGET."""
    feature_sets = {_feature_key(member.contract): len(member.contract.features)
                    for member in members}
    channels = sum(feature_sets.values())
    bands = len({band for member in members for band in member.contract.bands})
    per_column = 4 * tile * (predictions + 1 + 2 * (channels + bands))   # two strips in flight
    columns = max(stride, MEMORY_BUDGET // per_column)
    return max(stride, (columns // stride) * stride)


def _feature_key(contract):
    return (contract.feature_names, tuple(contract.mean), tuple(contract.std))


# ---------------------------------------------------------------------------------------------
# Test-time augmentation: (forward on (n, C, H, W), inverse on (n, H, W))
# ---------------------------------------------------------------------------------------------

def _flip_cols(a):
    return a[..., ::-1]


def _flip_rows(a):
    return a[..., ::-1, :]


def _rot180(a):
    return a[..., ::-1, ::-1]


def _transpose(a):
    return np.swapaxes(a, -1, -2)


_VARIANTS = {
    "identity": (lambda a: a, lambda a: a),
    "flip_columns": (_flip_cols, _flip_cols),
    "flip_rows": (_flip_rows, _flip_rows),
    "rotate_180": (_rot180, _rot180),
    "transpose": (_transpose, _transpose),
    "rotate_90": (lambda a: np.rot90(a, 1, axes=(-2, -1)), lambda a: np.rot90(a, -1, axes=(-2, -1))),
    "rotate_270": (lambda a: np.rot90(a, -1, axes=(-2, -1)), lambda a: np.rot90(a, 1, axes=(-2, -1))),
    "anti_transpose": (lambda a: _transpose(_rot180(a)), lambda a: _rot180(_transpose(a))),
}


def tta_variants(mode, member_count):
    """Names of the test-time augmentation variants for a mode ("auto" depends on the count)."""
    if mode not in TTA_MODES:
        raise ImperviousnessError(f"Unknown test-time augmentation {mode!r}; use one of "
                                  f"{', '.join(TTA_MODES)}.")
    if mode == "auto":
        mode = "flips" if member_count == 1 else "none"
    names = list(_VARIANTS)
    return {"none": names[:1], "flips": names[:4], "dihedral": names}[mode]


# ---------------------------------------------------------------------------------------------
# The tiling engine
# ---------------------------------------------------------------------------------------------

def predict_windows(read_bands, width, height, members, tta="none", batch_size=DEFAULT_BATCH_SIZE,
                    chunk_width=None, progress=None, workers=1):
    """Yield (window, densities (P, h, w) float32, valid (h, w) bool) covering the raster.

    `read_bands(window)` returns {band description: float32 (h, w)} for a window that may extend
    beyond the raster (NaN there). P = members x test-time augmentation variants, in the order
    member 0 variant 0, member 0 variant 1, ...

    Inference runs on `workers` threads, one batch of tiles per job (ONNX Runtime releases the
    GIL), while this thread reads and prepares the next strip, blends the results and the
    caller writes: the strip's jobs are submitted before the previous strip is yielded. The
    results are blended in a fixed order whatever the threads, so they do not depend on them.
    """
    contract = members[0].contract
    tile, overlap = contract.tile_size, contract.overlap
    stride = tile - overlap
    variants = tta_variants(tta, len(members))
    predictions = len(members) * len(variants)
    batch_size = max(1, int(batch_size or automatic_batch_size(members)))
    chunk_width = int(chunk_width or default_chunk_width(members, predictions, stride, tile))
    rows, cols = tile_origins(height, tile, stride), tile_origins(width, tile, stride)
    blend_weights = _blend_weights(tile, overlap, len(rows), len(cols))
    progress = progress or StepProgress(None, 1)
    pool = ThreadPoolExecutor(max_workers=max(1, int(workers)))
    try:
        for cx0, cx1 in column_chunks(width, chunk_width):
            chunk_cols = [j for j, ox in enumerate(cols) if ox < cx1 and ox + tile > cx0]
            ax0, ax1 = cols[chunk_cols[0]], cols[chunk_cols[-1]] + tile
            batches = [chunk_cols[start:start + batch_size]
                       for start in range(0, len(chunk_cols), batch_size)]

            def start_strip(i, previous):
                """Read and prepare strip i and submit its inference jobs."""
                inputs, valid = _strip_inputs(read_bands, members, ax0, ax1 - ax0, rows[i], tile,
                                              previous)
                jobs = [pool.submit(_infer_batch, members, variants, inputs,
                                    [cols[j] - ax0 for j in batch], tile) for batch in batches]
                return inputs, valid, jobs

            accumulator = np.zeros((predictions, tile, ax1 - ax0), dtype=np.float32)
            weight_sum = np.zeros((tile, ax1 - ax0), dtype=np.float32)
            following = start_strip(0, None)
            for i, oy in enumerate(rows):
                progress.check_cancelled()
                inputs, valid, jobs = following
                if i + 1 < len(rows):   # prepared while the workers infer strip i
                    following = start_strip(i + 1, (oy, inputs, valid))
                for j in chunk_cols:
                    weight_sum[:, cols[j] - ax0:cols[j] - ax0 + tile] += blend_weights(i, j)
                for batch, job in zip(batches, jobs):
                    progress.check_cancelled()
                    _accumulate(job.result(), [cols[j] - ax0 for j in batch],
                                [blend_weights(i, j) for j in batch], tile, accumulator)
                end = rows[i + 1] if i + 1 < len(rows) else min(height, oy + tile)
                done = end - oy
                core = slice(cx0 - ax0, cx1 - ax0)
                densities = accumulator[:, :done, core] / weight_sum[np.newaxis, :done, core]
                yield Window(cx0, oy, cx1 - cx0, done), densities, valid[:done, core].copy()
                accumulator[:, :tile - done] = accumulator[:, done:].copy()
                accumulator[:, tile - done:] = 0.0
                weight_sum[:tile - done] = weight_sum[done:].copy()
                weight_sum[tile - done:] = 0.0
                progress.step()
    finally:   # cancelled or abandoned: queued jobs are dropped, running ones finish
        pool.shutdown(wait=True, cancel_futures=True)


def _blend_weights(tile, overlap, row_count, col_count):
    """weights(i, j): the blend weights (tile, tile) float32 of tile (i, j), made once for each
    of the nine kinds (first, inner, last row x column)."""
    made = {}

    def weights(i, j):
        key = (i > 0, i < row_count - 1, j > 0, j < col_count - 1)
        if key not in made:
            made[key] = np.outer(blend_profile(tile, overlap, key[0], key[1]),
                                 blend_profile(tile, overlap, key[2], key[3])).astype(np.float32)
        return made[key]

    return weights


def count_steps(width, height, members, tta="none", chunk_width=None):
    """Progress steps of predict_windows (tile rows x column chunks)."""
    contract = members[0].contract
    stride = contract.tile_size - contract.overlap
    predictions = len(members) * len(tta_variants(tta, len(members)))
    chunk_width = int(chunk_width or default_chunk_width(members, predictions, stride,
                                                         contract.tile_size))
    return len(tile_origins(height, contract.tile_size, stride)) * len(column_chunks(width, chunk_width))


def _strip_inputs(read_bands, members, x0, width, oy, tile, previous):
    """Model inputs and valid mask of the strip of rows [oy, oy + tile).

    Consecutive strips overlap by the tiles' overlap (a quarter of each strip at 256 / 192):
    the rows the previous strip (`previous` = (its origin, inputs, valid)) already read and
    prepared are reused, as features are computed pixel by pixel; only the rest is read."""
    if previous is None or previous[0] + tile <= oy:
        return _prepare_inputs(members, read_bands(Window(x0, oy, width, tile)))
    last_oy, last_inputs, last_valid = previous
    shift = oy - last_oy
    new_inputs, new_valid = _prepare_inputs(members, read_bands(Window(x0, last_oy + tile, width, shift)))
    joined = {}   # members sharing features share one array
    for old, new in zip(last_inputs, new_inputs):
        if id(old) not in joined:
            joined[id(old)] = np.concatenate([old[:, shift:], new], axis=1)
    inputs = [joined[id(old)] for old in last_inputs]
    return inputs, np.concatenate([last_valid[shift:], new_valid])


def _prepare_inputs(members, bands):
    """Per member its model input for the strip (shared between members with the same
    features and normalisation) and the valid mask common to all members."""
    cache, inputs, valid = {}, [], None
    for member in members:
        key = _feature_key(member.contract)
        if key not in cache:
            cache[key] = member.contract.prepare(bands)
        features, member_valid = cache[key]
        inputs.append(features)
        valid = member_valid if valid is None else valid & member_valid
    return inputs, valid


def _infer_batch(members, variants, inputs, offsets, tile):
    """A worker's job: densities (n, T, T) of the tiles at `offsets` of a strip for every
    (member, variant) in order; members sharing features share the stacked batch."""
    stacked, results = {}, []
    for member, features in zip(members, inputs):
        batch = stacked.get(id(features))
        if batch is None:
            batch = stacked[id(features)] = np.stack([features[:, :, x:x + tile] for x in offsets])
        for name in variants:
            forward, inverse = _VARIANTS[name]
            results.append(inverse(member.run(forward(batch))))
    return results


def _accumulate(results, offsets, weights, tile, accumulator):
    """Add each (member, variant)'s weighted densities of a batch to its accumulator plane."""
    for index, densities in enumerate(results):
        for k, x in enumerate(offsets):
            accumulator[index, :, x:x + tile] += weights[k] * densities[k]


# ---------------------------------------------------------------------------------------------
# In-memory and raster front ends
# ---------------------------------------------------------------------------------------------

def array_reader(band_arrays):
    """read_bands for in-memory {band: (H, W) array}: windows padded with NaN outside."""
    height, width = next(iter(band_arrays.values())).shape

    def read(window):
        out = {}
        r0, c0 = max(window.row, 0), max(window.col, 0)
        r1, c1 = min(window.row + window.height, height), min(window.col + window.width, width)
        for band, values in band_arrays.items():
            block = np.full((window.height, window.width), np.nan, dtype=np.float32)
            if r1 > r0 and c1 > c0:
                block[r0 - window.row:r1 - window.row, c0 - window.col:c1 - window.col] = \
                    values[r0:r1, c0:c1]
            out[band] = block
        return out

    return read, width, height


def predict_arrays(band_arrays, members, tta="none", batch_size=DEFAULT_BATCH_SIZE,
                   chunk_width=None):
    """Whole-raster densities (P, H, W) float32 and the valid mask of in-memory PP bands."""
    read, width, height = array_reader(band_arrays)
    predictions = len(members) * len(tta_variants(tta, len(members)))
    densities = np.full((predictions, height, width), np.nan, dtype=np.float32)
    valid = np.zeros((height, width), dtype=bool)
    for window, block, block_valid in predict_windows(read, width, height, members, tta,
                                                      batch_size, chunk_width):
        densities[(slice(None),) + window.slices] = block
        valid[window.slices] = block_valid
    return densities, valid


def ensemble_statistics(densities, valid):
    """Mean as Byte percent (round half to even, 255 nodata) and population SD (NaN nodata)."""
    as_double = densities.astype(np.float64)   # one copy for both
    mean = as_double.mean(axis=0)
    sd = as_double.std(axis=0)
    percent = np.where(valid, np.clip(np.rint(100.0 * mean), 0, 100), NODATA).astype(np.uint8)
    sd = np.where(valid, sd, np.nan).astype(np.float32)
    return percent, sd


def run_predict(input_path, model_paths, output_path, output_sd_path=None,
                output_confidence_path=None, tta="auto", batch_size=DEFAULT_BATCH_SIZE,
                threads=None, chunk_width=None, feedback=None):
    """Write RIMD / RIBUD (and optionally the SD and confidence) from a PP stack; returns a summary."""
    started = time.perf_counter()
    source = RasterInput(input_path, "INPUT")
    session_threads, workers = inference_threads(threads)
    members = load_ensemble(model_paths, source.descriptions, source.label, session_threads)
    grid = source.grid
    bands = {band: source.band_number(band)
             for band in sorted({band for member in members for band in member.contract.bands})}

    def read_bands(window):
        # Windows overhang the raster at its edges: outside and nodata pixels are NaN.
        return {band: source.read_float(window, number, np.float32) for band, number in bands.items()}

    contract = members[0].contract
    variants = tta_variants(tta, len(members))
    progress = StepProgress(feedback, count_steps(grid.width, grid.height, members, tta, chunk_width))
    progress.info(f"{len(members)} {contract.target} model(s) x {len(variants)} test-time "
                  f"variant(s); tiles of {contract.tile_size} px, overlap {contract.overlap}; "
                  f"grid {grid.describe()}.")
    drift = check_input(source, members, progress=progress)
    for warning in drift["warnings"]:
        progress.warn(warning)
    metadata = {"TARGET": contract.target, "MODELS": ";".join(os.path.basename(m.path) for m in members),
                "TEST_TIME_AUGMENTATION": ",".join(variants), "PREDICTIONS": len(members) * len(variants),
                "INPUT_WARNINGS": as_metadata(drift)}
    product = contract.product
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(RasterWriter(
            output_path, grid, 1, np.uint8, NODATA,
            [f"{product} raw {contract.target} density (%), ensemble mean of "
             f"{len(members) * len(variants)} prediction(s)"],
            color_table=styles.color_table("imd"), metadata=metadata))
        sd_writer = confidence_writer = None
        if output_sd_path:
            sd_writer = stack.enter_context(RasterWriter(
                output_sd_path, grid, 1, np.float32, np.nan,
                [f"{product}_sd ensemble standard deviation (density 0..1, population)"],
                metadata=metadata))
        if output_confidence_path:
            confidence_writer = stack.enter_context(RasterWriter(
                output_confidence_path, grid, 1, np.uint8, NODATA,
                [f"{contract.target}CL confidence (%) 50..100"],
                color_table=styles.color_table("confidence"), metadata=metadata))
        for window, densities, valid in predict_windows(read_bands, grid.width, grid.height,
                                                        members, tta, batch_size, chunk_width,
                                                        progress, workers):
            percent, sd = ensemble_statistics(densities, valid)
            writer.write(window, percent)
            if sd_writer:
                sd_writer.write(window, sd)
            if confidence_writer:
                confidence_writer.write(window, confidence_from_members(densities, valid))
    styles.write_style_beside(output_path, "imd")
    if output_confidence_path:
        styles.write_style_beside(output_confidence_path, "confidence")
    seconds = time.perf_counter() - started
    progress.info(f"{product} written in {seconds:.1f} s.")
    return {"target": contract.target, "product": product, "members": len(members),
            "variants": variants, "grid": grid, "seconds": seconds, "input_check": drift}
