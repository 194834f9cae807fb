"""Which training windows to read: a survey of the reference, a spatial block split with a
buffer, and a draw stratified by density class and valid share (issue 23).

Memory stays bounded at any area because only the reference (one band) is read over the whole
raster, strip by strip, to describe every candidate window by its mean density and valid share;
the PP stack is then read for the drawn windows only (at most MAX_PATCHES for training plus the
validation and held-out sets), never for all of them.

Split (`assign_roles`): the window lattice is cut into square blocks of `block` x `block`
windows. Whole blocks go to the held-out (test) set, drawn with the run's base seed so that all
members of an ensemble are scored on the same held-out windows, and to the validation set, drawn
with each member's seed (the members' splits differ). A training window that touches (8-
neighbourhood) a window of another role is dropped: at least one patch of buffer separates
training from validation and held-out pixels, so neighbouring pixels that share a building or a
field cannot leak across. Validation picks the checkpoint; the held-out set is used for the
reported metrics only.
"""

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ImperviousnessError
from ..io.raster import Window
from ..progress import StepProgress

# Density classes of the metrics and of the stratified draw (percent, inclusive bounds).
DENSITY_CLASSES = (("0", 0, 0), ("1-30", 1, 30), ("31-80", 31, 80), ("81-100", 81, 100))
VALID_SHARE_EDGES = (0.5, 0.9)          # strata of the valid share: < 50 %, 50-90 %, >= 90 %
TRAIN, VALIDATION, HELD_OUT, BUFFER = 0, 1, 2, 3
ROLE_NAMES = {TRAIN: "training", VALIDATION: "validation", HELD_OUT: "held-out", BUFFER: "buffer"}


def density_class(percent):
    """Index into DENSITY_CLASSES of densities in percent (rounded to whole percent first)."""
    rounded = np.rint(np.asarray(percent, dtype=np.float64))
    return np.digitize(rounded, [0.5, 30.5, 80.5]).astype(np.int8)


@dataclass
class WindowSurvey:
    """The candidate windows on a regular lattice: (rows, cols) of windows of `size` px, with
    the mean reference density (0..1) over valid pixels and the valid share of each."""

    size: int
    density: np.ndarray       # (rows, cols) float64
    valid_share: np.ndarray   # (rows, cols) float64

    @property
    def shape(self):
        return self.density.shape

    def window(self, index):
        row, col = np.unravel_index(int(index), self.shape)
        return Window(int(col) * self.size, int(row) * self.size, self.size, self.size)

    def strata(self):
        """Stratum of each window: density class of its mean x valid-share bin."""
        classes = density_class(100.0 * self.density)
        shares = np.digitize(self.valid_share, VALID_SHARE_EDGES)
        return (classes * (len(VALID_SHARE_EDGES) + 1) + shares).ravel()


MIN_WINDOWS_ACROSS = 6      # the block split needs about six windows across (see block_size)


def patch_size_for(width, height, patch_size, alignment):
    """The patch edge: PATCH_SIZE rounded down to a multiple of the alignment, shrunk on small
    rasters so that about six windows fit across the shorter side (held-out, validation and
    training blocks with buffers between them), but never below four alignments."""
    fitting = min(width, height) // MIN_WINDOWS_ACROSS
    size = (min(int(patch_size), max(fitting, 4 * alignment)) // alignment) * alignment
    if size < 2 * alignment or min(width, height) // size < 4:
        raise ImperviousnessError(
            f"The PP stack ({width} x {height} px) is too small to train on: patches must be at "
            f"least {4 * alignment} px and at least four must fit across the shorter side.")
    return size


def survey_windows(reader, width, height, size, feedback=None, progress_range=(0.0, 5.0)):
    """Mean density and valid share of every window, reading the reference one strip of windows
    at a time (one band, `size` rows: a few MB at any width)."""
    rows, cols = height // size, width // size
    density = np.zeros((rows, cols))
    share = np.zeros((rows, cols))
    progress = StepProgress(feedback, rows, *progress_range)
    for row in range(rows):
        values, valid = reader.read(Window(0, row * size, cols * size, size))
        blocks = (size, cols, size)
        valid_count = valid.reshape(blocks).sum(axis=(0, 2))
        total = np.where(valid, values, 0.0).reshape(blocks).sum(axis=(0, 2), dtype=np.float64)
        density[row] = total / np.maximum(valid_count, 1)
        share[row] = valid_count / float(size * size)
        progress.step()
    return WindowSurvey(size, density, share)


def block_size(rows, cols):
    """Windows per block side: about three blocks across the shorter side, at most 8 windows
    (1 km blocks of 128 px patches) so that large areas get many blocks."""
    return int(min(8, max(1, min(rows, cols) // 3)))


def assign_roles(shape, eligible, held_out_seed, validation_seed, held_out_fraction=0.15,
                 validation_fraction=0.15):
    """Role (TRAIN / VALIDATION / HELD_OUT / BUFFER) of every window of the lattice.

    Blocks without an eligible window are never drawn as validation or held-out blocks."""
    rows, cols = shape
    block = block_size(rows, cols)
    block_of = ((np.arange(rows)[:, None] // block) * math.ceil(cols / block)
                + np.arange(cols)[None, :] // block)
    candidates = np.unique(block_of[eligible])
    if candidates.size < 3:
        raise ImperviousnessError(
            f"Only {candidates.size} block(s) of {block} x {block} patches hold enough valid "
            "reference pixels: training needs at least three (training, validation, held-out). "
            "Give a larger area or a smaller PATCH_SIZE.")
    count_held = max(1, int(round(held_out_fraction * candidates.size)))
    held = np.random.default_rng(held_out_seed).permutation(candidates)[:count_held]
    rest = np.setdiff1d(candidates, held)
    count_validation = min(rest.size - 1, max(1, int(round(validation_fraction * candidates.size))))
    validation = np.random.default_rng(validation_seed).permutation(rest)[:count_validation]
    roles = np.full(shape, TRAIN, dtype=np.int8)
    roles[np.isin(block_of, held)] = HELD_OUT
    roles[np.isin(block_of, validation)] = VALIDATION
    roles[(roles == TRAIN) & _touches_other_role(roles)] = BUFFER
    return roles


def _touches_other_role(roles):
    """True where an 8-neighbour of a window is held-out or validation."""
    other = np.pad(roles != TRAIN, 1)
    rows, cols = roles.shape
    touches = np.zeros(roles.shape, dtype=bool)
    for dr in (0, 1, 2):
        for dc in (0, 1, 2):
            touches |= other[dr:dr + rows, dc:dc + cols]
    return touches


def stratified_draw(indices, strata, count, seed):
    """Up to `count` of `indices`, as evenly as possible over their strata (round robin over
    the strata, each shuffled), so that rare classes such as sparse built-up are not swamped
    by the common ones; sorted (reading order)."""
    if count >= len(indices):
        return np.sort(np.asarray(indices))
    rng = np.random.default_rng(seed)
    groups = [list(rng.permutation(indices[strata[indices] == s])) for s in np.unique(strata[indices])]
    chosen = []
    while len(chosen) < count:
        for group in groups:
            if group and len(chosen) < count:
                chosen.append(group.pop())
    return np.sort(np.asarray(chosen))


def draw_windows(survey, roles, role, count, min_valid_fraction, seed):
    """Indices (into the flattened lattice) of up to `count` eligible windows of one role."""
    eligible = (roles.ravel() == role) & (survey.valid_share.ravel() >= min_valid_fraction)
    return stratified_draw(np.flatnonzero(eligible), survey.strata(), count, seed)
