"""U-Net training and ONNX export (ATBD 4.3.1 for IMD, 4.4.1 for IBU, SPEC sections 3 and 8).

PyTorch is an optional dependency: it is imported inside the functions that need it
(`require_torch`), so the rest of the plugin, prediction included, works without it. Writing
the .onnx file needs the `onnx` package (also imported lazily).

Network (`UNetSpec`, depth D = len(widths) - 1, default widths 24, 32, 48, 64 so D = 3):

    stem     1x1 conv C -> w0, ReLU              full resolution: per-pixel spectral mixing
    enc0     3x3 conv w0 -> w0, ReLU             skip 0
    enc{l}   2x2 max-pool, two 3x3 convs -> w_l   l = 1..D-1, skip l
    bott     2x2 max-pool, two 3x3 convs -> w_D, dropout
    up{l}    2x2 transposed conv (stride 2) -> w_l, concatenated with skip l,
    dec{l}   3x3 conv 2 w_l -> w_l, ReLU, dropout   l = D-1..1
    up0/dec0 2x2 transposed conv -> w0, concat skip 0, 1x1 conv 2 w0 -> w0, ReLU
    head     1x1 conv w0 -> 1, sigmoid: the density in [0, 1]

No normalisation layers: the exported graph is exactly the trained network (nothing to fold), and
an existing .onnx model can be loaded back as initial weights bit for bit (transfer learning).
Full-resolution work is limited to one 3x3 and a few 1x1 convolutions so that a 256 x 256 tile
costs about 15 ms per model on two CPU cores; context comes from the pooled levels.
Dropout (10 %, channel-wise) acts only during training. Tiles must be multiples of 2^D and tile
origins stay on multiples of 2^D (the contract's `alignment`).

Training (`fit_unet`): patches of the PP stack (features per the model contract, normalised with
the training patches' mean and SD, or with the initial model's normalisation when fine-tuning),
random flips and 90-degree rotations, binary cross-entropy between the sigmoid output and the
reference density (soft labels in [0, 1]) over valid pixels only, Adam with a cosine-decaying
learning rate; the validation loss is measured every `validate_every` steps and the best weights
are kept (`select_best`; otherwise the last ones). The split is 80/20 by whole patches
(spatially disjoint).

References (`run_train_model`):
* IMD: REFERENCE = IMD of year A (Byte 0..100, other values / nodata excluded), density =
  IMD / 100, resampled by area average onto the PP grid when on another grid. With CLCPLUS,
  pixels where the two disagree are left out (they are likely changes or errors between the
  reference year and the PP): IMD_A >= 30 where CLCplus says a vegetated class or water
  (2..8, 10, 11), or IMD_A = 0 where CLCplus says sealed (1). CLCplus values 0 and >= 12 do not
  vote.
* IBU: REFERENCE = building footprints: a raster (0/1, or percent 0..100 for integer rasters
  whose values exceed 1, or float shares 0..1), averaged onto the PP grid when finer (the share
  of the pixel covered by buildings), or a polygon vector layer rasterised onto the PP grid with
  5 x 5 sub-pixels per pixel (the covered share, in steps of 4 %). The density target is that
  share; IBU = RIBUD >= 10 % then follows SPEC 8.
"""

import datetime
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import ImperviousnessError
from ..io import atomic
from .contract import (DEFAULT_OVERLAP, DEFAULT_TILE_SIZE, INPUT_NAME, OUTPUT_NAME, ModelContract,
                             attach_contract, default_features, load_contract)
from ..progress import StepProgress

IBU_THRESHOLD = 0.10           # SPEC 8: IBU = RIBUD >= 10 %
TARGETS = ("IMD", "IBU")
OPSET = 17
CLCPLUS_SEALED = 1
CLCPLUS_NOT_SEALED = (2, 3, 4, 5, 6, 7, 8, 10, 11)
AGREEMENT_MIN_IMD = 30


# ---------------------------------------------------------------------------------------------
# Optional dependencies
# ---------------------------------------------------------------------------------------------

def require_torch():
    """Import PyTorch or raise a clear error (the rest of the plugin does not need it)."""
    try:
        import torch
    except ImportError:
        raise ImperviousnessError(
            "Training needs PyTorch, which is not installed in QGIS's Python. Install the CPU "
            "build, e.g. `python3 -m pip install torch==2.13.0` (see requirements-train.txt), "
            "and restart QGIS. Prediction works without it.") from None
    return torch


def require_onnx():
    try:
        import onnx
    except ImportError:
        raise ImperviousnessError("Writing .onnx models needs the `onnx` package "
                                  "(`python3 -m pip install onnx==1.23.2`).") from None
    return onnx


# ---------------------------------------------------------------------------------------------
# Architecture
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UNetSpec:
    in_channels: int
    widths: tuple = (24, 32, 48, 64)
    dropout: float = 0.1

    @property
    def depth(self):
        return len(self.widths) - 1

    @property
    def alignment(self):
        return 2 ** self.depth

    def layers(self):
        """[(name, kind, in, out, kernel)] of every weighted layer, in forward order."""
        w, depth = self.widths, self.depth
        if depth < 1:
            raise ImperviousnessError("A U-Net needs at least two widths (depth >= 1).")
        table = [("stem", "conv", self.in_channels, w[0], 1), ("enc0", "conv", w[0], w[0], 3)]
        for level in range(1, depth):
            table += [(f"enc{level}a", "conv", w[level - 1], w[level], 3),
                      (f"enc{level}b", "conv", w[level], w[level], 3)]
        table += [("botta", "conv", w[depth - 1], w[depth], 3),
                  ("bottb", "conv", w[depth], w[depth], 3)]
        for level in range(depth - 1, 0, -1):
            table += [(f"up{level}", "convT", w[level + 1], w[level], 2),
                      (f"dec{level}", "conv", 2 * w[level], w[level], 3)]
        table += [("up0", "convT", w[1], w[0], 2), ("dec0", "conv", 2 * w[0], w[0], 1),
                  ("head", "conv", w[0], 1, 1)]
        return table

    def as_json(self):
        return {"type": "unet", "widths": list(self.widths), "depth": self.depth,
                "dropout": self.dropout, "normalisation_layers": "none",
                "layers": [list(layer) for layer in self.layers()],
                "output": "sigmoid density"}


def weight_shapes(spec):
    """{parameter name: shape} in PyTorch / ONNX layout (Conv: out,in,k,k; ConvTranspose: in,out,k,k)."""
    shapes = {}
    for name, kind, cin, cout, kernel in spec.layers():
        shapes[f"{name}.weight"] = (cout, cin, kernel, kernel) if kind == "conv" else (cin, cout, kernel, kernel)
        shapes[f"{name}.bias"] = (cout,)
    return shapes


_MODULE_CLASS = None


def _module_class():
    """The torch module class, defined on first use so that importing this file needs no torch."""
    global _MODULE_CLASS
    if _MODULE_CLASS is not None:
        return _MODULE_CLASS
    torch = require_torch()
    nn, functional = torch.nn, torch.nn.functional

    class UNet(nn.Module):
        def __init__(self, spec):
            super().__init__()
            self.spec = spec
            layers = {}
            for name, kind, cin, cout, kernel in spec.layers():
                if kind == "conv":
                    layers[name] = nn.Conv2d(cin, cout, kernel, padding=kernel // 2)
                else:
                    layers[name] = nn.ConvTranspose2d(cin, cout, kernel, stride=2)
            self.layers = nn.ModuleDict(layers)
            self.dropout = nn.Dropout2d(spec.dropout)

        def forward(self, x, logits=False):
            layer, relu, depth = self.layers, functional.relu, self.spec.depth
            x = relu(layer["enc0"](relu(layer["stem"](x))))
            skips = [x]
            for level in range(1, depth):
                x = functional.max_pool2d(x, 2)
                x = relu(layer[f"enc{level}b"](relu(layer[f"enc{level}a"](x))))
                skips.append(x)
            x = functional.max_pool2d(x, 2)
            x = self.dropout(relu(layer["bottb"](relu(layer["botta"](x)))))
            for level in range(depth - 1, 0, -1):
                x = torch.cat([layer[f"up{level}"](x), skips[level]], dim=1)
                x = self.dropout(relu(layer[f"dec{level}"](x)))
            x = torch.cat([layer["up0"](x), skips[0]], dim=1)
            x = layer["head"](relu(layer["dec0"](x)))
            return x if logits else torch.sigmoid(x)

    _MODULE_CLASS = UNet
    return UNet


def build_module(spec, weights=None, seed=0):
    """A torch U-Net; `weights` ({name: array}, e.g. from an .onnx file) initialise it exactly."""
    torch = require_torch()
    torch.manual_seed(int(seed))
    module = _module_class()(spec)
    if weights is not None:
        load_weights(module, weights)
    return module


def load_weights(module, weights):
    torch = require_torch()
    expected = weight_shapes(module.spec)
    missing = [name for name in expected if name not in weights]
    wrong = [name for name in expected if name in weights and tuple(weights[name].shape) != expected[name]]
    if missing or wrong:
        raise ImperviousnessError(
            "The initial model's weights do not fit this U-Net: "
            + ("; missing " + ", ".join(missing) if missing else "")
            + ("; other shapes for " + ", ".join(wrong) if wrong else ""))
    state = {f"layers.{name}": torch.from_numpy(np.array(weights[name], dtype=np.float32))
             for name in expected}
    module.load_state_dict(state)


def module_weights(module):
    """{name: float32 array} of a torch U-Net (names as in the ONNX initialisers)."""
    return {name[len("layers."):]: tensor.detach().cpu().numpy().astype(np.float32)
            for name, tensor in module.state_dict().items() if name.startswith("layers.")}


# ---------------------------------------------------------------------------------------------
# ONNX graph: built directly from the weights (no exporter), one node per layer
# ---------------------------------------------------------------------------------------------

def build_onnx(spec, weights, contract):
    """The ONNX ModelProto of the U-Net with `weights`, carrying `contract` in its metadata."""
    onnx = require_onnx()
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    nodes, initialisers = [], []
    expected = weight_shapes(spec)
    for name, shape in expected.items():
        array = np.asarray(weights[name], dtype=np.float32)
        if array.shape != shape:
            raise ImperviousnessError(f"Weight {name} has shape {array.shape}, expected {shape}.")
        initialisers.append(numpy_helper.from_array(array, name))
    kinds = {name: (kind, kernel) for name, kind, _, _, kernel in spec.layers()}

    def layer(name, source, relu=True):
        kind, kernel = kinds[name]
        if kind == "conv":
            pad = kernel // 2
            nodes.append(helper.make_node("Conv", [source, f"{name}.weight", f"{name}.bias"],
                                          [f"{name}.out"], kernel_shape=[kernel, kernel],
                                          pads=[pad] * 4, name=name))
        else:
            nodes.append(helper.make_node("ConvTranspose", [source, f"{name}.weight", f"{name}.bias"],
                                          [f"{name}.out"], kernel_shape=[2, 2], strides=[2, 2],
                                          name=name))
        if not relu:
            return f"{name}.out"
        nodes.append(helper.make_node("Relu", [f"{name}.out"], [f"{name}.relu"], name=f"{name}_relu"))
        return f"{name}.relu"

    def pool(source, name):
        nodes.append(helper.make_node("MaxPool", [source], [name], kernel_shape=[2, 2],
                                      strides=[2, 2], name=name))
        return name

    def concat(a, b, name):
        nodes.append(helper.make_node("Concat", [a, b], [name], axis=1, name=name))
        return name

    depth = spec.depth
    x = layer("enc0", layer("stem", INPUT_NAME))
    skips = [x]
    for level in range(1, depth):
        x = layer(f"enc{level}b", layer(f"enc{level}a", pool(x, f"pool{level}")))
        skips.append(x)
    x = layer("bottb", layer("botta", pool(x, f"pool{depth}")))
    for level in range(depth - 1, 0, -1):
        x = layer(f"dec{level}", concat(layer(f"up{level}", x, relu=False), skips[level], f"cat{level}"))
    x = layer("dec0", concat(layer("up0", x, relu=False), skips[0], "cat0"))
    logits = layer("head", x, relu=False)
    nodes.append(helper.make_node("Sigmoid", [logits], [OUTPUT_NAME], name="density"))

    graph = helper.make_graph(
        nodes, "hrl_unet",
        [helper.make_tensor_value_info(INPUT_NAME, onnx.TensorProto.FLOAT,
                                       ["batch", spec.in_channels, "rows", "columns"])],
        [helper.make_tensor_value_info(OUTPUT_NAME, onnx.TensorProto.FLOAT,
                                       ["batch", 1, "rows", "columns"])],
        initialisers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="imperviousness_plugin", producer_version="1")
    model.ir_version = 8
    model.doc_string = (f"HRL Imperviousness U-Net for {contract.target} "
                        f"({contract.product}); see the hrl.* metadata for the contract.")
    attach_contract(model, contract)
    onnx.checker.check_model(model)
    return model


def save_onnx(model, path):
    """Write the ModelProto atomically (nothing half-written under `path`)."""
    onnx = require_onnx()
    path = os.path.abspath(str(path))
    with atomic.atomic_path(path) as temporary:
        onnx.save(model, temporary)
    return path


def read_onnx_weights(path):
    """(contract, UNetSpec, {name: array}) of a model written by `build_onnx`."""
    onnx = require_onnx()
    contract = load_contract(path)
    model = onnx.load(str(path))
    weights = {init.name: onnx.numpy_helper.to_array(init).astype(np.float32)
               for init in model.graph.initializer}
    architecture = contract.architecture or {}
    if architecture.get("type") != "unet" or "widths" not in architecture:
        raise ImperviousnessError(f"Model {path} is not a U-Net of this plugin (its contract has "
                                  "no architecture widths), so it cannot initialise training.")
    spec = UNetSpec(len(contract.features), tuple(architecture["widths"]),
                    float(architecture.get("dropout", 0.1)))
    return contract, spec, weights


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------

def density_metrics(predicted, truth, valid=None):
    """MAE / RMSE / bias in percentage points and F1 / precision / recall of density >= 10 %."""
    predicted = np.asarray(predicted, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    mask = np.isfinite(predicted) & np.isfinite(truth)
    if valid is not None:
        mask &= np.asarray(valid, dtype=bool)
    p, t = predicted[mask], truth[mask]
    if p.size == 0:
        return {"pixels": 0}
    error = 100.0 * (p - t)
    yes_p, yes_t = p >= IBU_THRESHOLD - 1e-9, t >= IBU_THRESHOLD - 1e-9
    tp = float(np.sum(yes_p & yes_t))
    fp, fn = float(np.sum(yes_p & ~yes_t)), float(np.sum(~yes_p & yes_t))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pixels": int(p.size), "mae_pp": float(np.abs(error).mean()),
            "rmse_pp": float(np.sqrt((error ** 2).mean())), "bias_pp": float(error.mean()),
            "f1_at_10": f1, "precision_at_10": precision, "recall_at_10": recall}


# ---------------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------------

@dataclass
class TrainOptions:
    widths: tuple = (24, 32, 48, 64)
    dropout: float = 0.1
    patch_size: int = 128
    batch_size: int = 8
    steps: int = 600
    learning_rate: float = 2e-3
    final_learning_rate_fraction: float = 0.05
    validation_fraction: float = 0.2
    validate_every: int = 50
    max_patches: int = 400
    min_valid_fraction: float = 0.25
    seed: int = 0
    threads: int = None
    crop_size: int = None          # random crops of this size from larger patches (None: whole)
    select_best: bool = True       # keep the weights of the best validation loss (else the last)
    tile_size: int = DEFAULT_TILE_SIZE
    overlap: int = DEFAULT_OVERLAP


@dataclass
class PatchSet:
    """Training or validation patches: inputs (N, C, h, w), targets and loss weights (N, h, w)."""

    inputs: np.ndarray
    targets: np.ndarray
    weights: np.ndarray

    def __len__(self):
        return len(self.inputs)


@dataclass
class FitResult:
    weights: dict
    history: list = field(default_factory=list)
    best_step: int = 0
    best_validation_loss: float = float("nan")
    validation_metrics: dict = field(default_factory=dict)
    seconds: float = 0.0


def normalisation_of(patches_inputs, patch_valid):
    """Per-feature mean and SD over valid pixels of raw (unnormalised) patch features."""
    channels = patches_inputs.shape[1]
    values = np.moveaxis(patches_inputs, 1, -1)[patch_valid]       # (pixels, C)
    if values.shape[0] < 2:
        raise ImperviousnessError("Too few valid pixels to derive the feature normalisation.")
    mean = values.mean(axis=0, dtype=np.float64)
    std = np.maximum(values.std(axis=0, dtype=np.float64), 1e-6)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std[:channels])


def _augment(torch, inputs, targets, weights, generator):
    """Random flip / 90-degree rotation per patch (the same for inputs, targets and weights)."""
    k = int(torch.randint(0, 4, (1,), generator=generator))
    flip = bool(torch.randint(0, 2, (1,), generator=generator))
    tensors = [inputs, targets, weights]
    if flip:
        tensors = [torch.flip(t, dims=(-1,)) for t in tensors]
    if k:
        tensors = [torch.rot90(t, k, dims=(-2, -1)) for t in tensors]
    return tensors


def _crop(inputs, targets, weights, size, sampler):
    """A random size x size crop (the whole patch when size is None or not smaller)."""
    height, width = inputs.shape[-2:]
    if not size or (size >= height and size >= width):
        return inputs, targets, weights
    row = int(sampler.integers(0, height - size + 1))
    col = int(sampler.integers(0, width - size + 1))
    window = (Ellipsis, slice(row, row + size), slice(col, col + size))
    return inputs[window], targets[window], weights[window]


def _masked_bce(torch, logits, targets, weights):
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return (loss * weights).sum() / weights.sum().clamp_min(1.0)


def predict_patches(module, inputs, batch_size=8):
    """Densities (N, h, w) of a torch module on patches, in evaluation mode."""
    torch = require_torch()
    module.eval()
    outputs = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(inputs[start:start + batch_size]))
            outputs.append(module(batch)[:, 0].numpy())
    return np.concatenate(outputs) if outputs else np.zeros((0,) + inputs.shape[2:], np.float32)


def validation_loss(module, patches, batch_size=8):
    torch = require_torch()
    module.eval()
    total, weight = 0.0, 0.0
    with torch.no_grad():
        for start in range(0, len(patches), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(patches.inputs[start:start + batch_size]))
            y = torch.from_numpy(patches.targets[start:start + batch_size][:, None])
            w = torch.from_numpy(patches.weights[start:start + batch_size][:, None])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                module(x, logits=True), y, reduction="none")
            total += float((loss * w).sum())
            weight += float(w.sum())
    return total / max(weight, 1.0)


def fit_unet(train, validation, spec, options, init_weights=None, feedback=None,
             progress_range=(0.0, 100.0)):
    """Train a U-Net on normalised patches; returns FitResult with the best validation weights."""
    torch = require_torch()
    started = time.perf_counter()
    torch.set_num_threads(int(options.threads or os.cpu_count() or 1))
    module = build_module(spec, init_weights, seed=options.seed)
    generator = torch.Generator().manual_seed(int(options.seed))
    sampler = np.random.default_rng(options.seed)
    optimiser = torch.optim.Adam(module.parameters(), lr=options.learning_rate)
    steps = max(0, int(options.steps))
    final = options.final_learning_rate_fraction

    def learning_rate(step):
        return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * step / max(steps, 1)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, learning_rate)
    progress = StepProgress(feedback, max(steps, 1), *progress_range)
    best = {"loss": validation_loss(module, validation), "step": 0, "weights": module_weights(module)}
    history = [{"step": 0, "validation_loss": best["loss"]}]
    inputs = torch.from_numpy(train.inputs)
    targets = torch.from_numpy(train.targets[:, None])
    weights = torch.from_numpy(train.weights[:, None])
    for step in range(1, steps + 1):
        module.train()
        chosen = sampler.choice(len(train), size=min(options.batch_size, len(train)),
                                replace=len(train) < options.batch_size)
        batch = [_augment(torch, *_crop(inputs[i], targets[i], weights[i], options.crop_size,
                                        sampler), generator) for i in chosen]
        x, y, w = (torch.stack([item[k] for item in batch]) for k in range(3))
        optimiser.zero_grad()
        loss = _masked_bce(torch, module(x, logits=True), y, w)
        loss.backward()
        optimiser.step()
        scheduler.step()
        progress.step()
        if step % options.validate_every == 0 or step == steps:
            current = validation_loss(module, validation)
            history.append({"step": step, "train_loss": loss.item(), "validation_loss": current})
            progress.info(f"step {step}/{steps}: training loss {loss.item():.4f}, "
                          f"validation loss {current:.4f}")
            if current < best["loss"] or (not options.select_best and step == steps):
                best = {"loss": current, "step": step, "weights": module_weights(module)}
    load_weights(module, best["weights"])
    predicted = predict_patches(module, validation.inputs)
    metrics = density_metrics(predicted, validation.targets, validation.weights > 0)
    metrics["bce"] = best["loss"]
    return FitResult(best["weights"], history, best["step"], best["loss"], metrics,
                     time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------
# Patches from rasters
# ---------------------------------------------------------------------------------------------

def patch_windows(width, height, patch_size, alignment):
    """Non-overlapping patch windows on a regular grid; the patch edge is rounded down to a
    multiple of the alignment and shrinks for small rasters."""
    from ..io.raster import Window
    size = (min(int(patch_size), width, height) // alignment) * alignment
    if size < 2 * alignment:
        raise ImperviousnessError(
            f"The PP stack ({width} x {height} px) is too small to train on: patches must be at "
            f"least {2 * alignment} px.")
    return [Window(col, row, size, size)
            for row in range(0, height - size + 1, size)
            for col in range(0, width - size + 1, size)], size


def split_patches(count, validation_fraction, seed):
    """Indices (train, validation) of an 80/20-style random split of whole patches."""
    if count < 2:
        raise ImperviousnessError(
            f"Only {count} patch(es) with enough valid reference pixels: training needs at least "
            "two (one to train, one to validate). Give a larger area or a smaller PATCH_SIZE.")
    order = np.random.default_rng(seed).permutation(count)
    n_validation = min(count - 1, max(1, int(round(validation_fraction * count))))
    return np.sort(order[n_validation:]), np.sort(order[:n_validation])


def _split_source(source):
    """(path, layer name or None) of a file name or a QGIS source "path|layername=name"."""
    parts = str(source).split("|")
    layer = next((part.split("=", 1)[1] for part in parts[1:] if part.startswith("layername=")), None)
    return parts[0], layer


def _reference_kind(path):
    from osgeo import gdal
    try:
        raster = gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_READONLY)
    except RuntimeError:
        raster = None
    if raster is not None:
        return "raster"
    try:
        vector = gdal.OpenEx(str(path), gdal.OF_VECTOR | gdal.OF_READONLY)
    except RuntimeError:
        vector = None
    if vector is not None and vector.GetLayerCount() > 0:
        return "vector"
    raise ImperviousnessError(f"Cannot open the reference {path} as a raster or a vector layer.")


class ReferenceReader:
    """Target density and validity of the reference on the PP grid, window by window."""

    def __init__(self, path, target, grid, clcplus=None):
        from ..io.raster import RasterInput
        path, self.layer_name = _split_source(path)
        self.path, self.target, self.grid = str(path), target, grid
        self.kind = _reference_kind(path)
        self.clcplus = RasterInput(clcplus, "CLCPLUS", grid=grid) if clcplus else None
        if self.kind == "vector":
            if target != "IBU":
                raise ImperviousnessError("A vector REFERENCE (building footprints) only trains IBU "
                                          "models; IMD needs the IMD raster of year A.")
            self._vector_layer()
            return
        # Averaged onto the PP grid; the reference's nodata stays out of the average.
        self.source = RasterInput(path, "REFERENCE", grid=grid, resampling="average", float_output=True)
        if target == "IMD":
            self.scale = 100.0                      # IMD is percent, whatever its data type
        elif self.source.dtype.kind == "f":
            self.scale = 1.0                        # footprint shares 0..1
        else:                                       # 0/1 footprints, or percent 0..100
            self.scale = 1.0 if self._largest_value() <= 1 else 100.0

    def _largest_value(self):
        from ..io.raster import open_raster
        dataset = open_raster(self.path)   # held: a band outliving its dataset crashes GDAL
        return dataset.GetRasterBand(1).ComputeRasterMinMax(False)[1]

    def _vector_layer(self):
        from osgeo import gdal, ogr
        self.vector = gdal.OpenEx(self.path, gdal.OF_VECTOR | gdal.OF_READONLY)
        layer = self.vector.GetLayerByName(self.layer_name) if self.layer_name else self.vector.GetLayer(0)
        if layer is None:
            raise ImperviousnessError(f"{self.path} has no layer {self.layer_name!r}.")
        self.layer_name = layer.GetName()
        geometry = ogr.GeometryTypeToName(layer.GetGeomType()).lower()
        if "polygon" not in geometry and "unknown" not in geometry:
            raise ImperviousnessError(f"The footprint layer {self.path} holds {geometry} "
                                      "geometries; building footprints must be polygons.")

    def read(self, window):
        """(density float32 in 0..1, valid bool) of a window."""
        if self.kind == "vector":
            density = self._rasterise(window)
            valid = np.ones(density.shape, dtype=bool)
        else:
            values, valid = self.source.read(window)
            density = values.astype(np.float64) / self.scale
            valid &= (density >= 0) & (density <= 1.0 + 1e-6)
            density = np.clip(np.where(valid, density, 0.0), 0.0, 1.0).astype(np.float32)
        if self.clcplus is not None:
            valid &= self._agreement(window, density)
        return density, valid

    def _agreement(self, window, density):
        clc, _ = self.clcplus.read(window)
        sealed_disagrees = (density == 0) & (clc == CLCPLUS_SEALED)
        natural_disagrees = (density >= AGREEMENT_MIN_IMD / 100.0) & np.isin(clc, CLCPLUS_NOT_SEALED)
        return ~(sealed_disagrees | natural_disagrees)

    def _rasterise(self, window, sub=5):
        from osgeo import gdal
        x0, px, _, y1, _, py = self.grid.geotransform
        target = gdal.GetDriverByName("MEM").Create("", window.width * sub, window.height * sub, 1,
                                                     gdal.GDT_Byte)
        target.SetGeoTransform((x0 + window.col * px, px / sub, 0.0, y1 + window.row * py, 0.0, py / sub))
        target.SetProjection(self.grid.crs_wkt)
        gdal.Rasterize(target, self.vector, burnValues=[1], layers=[self.layer_name])
        fine = target.ReadAsArray().astype(np.float32)
        return fine.reshape(window.height, sub, window.width, sub).mean(axis=(1, 3))


def _year_of(path):
    from osgeo import gdal
    dataset = gdal.OpenEx(str(path), gdal.OF_RASTER | gdal.OF_READONLY)
    first = (dataset.GetMetadata() or {}).get("FIRST_DATE", "")
    return first[:4] if first else "unknown"


def collect_patches(pp_path, reference, target, contract_features, options, clcplus=None,
                    feedback=None):
    """Raw features, targets and validity of patches of the PP stack against the reference."""
    from ..io.raster import RasterInput
    pp = RasterInput(pp_path, "INPUT")
    grid = pp.grid
    probe = ModelContract(target, contract_features, (0.0,) * len(contract_features),
                          (1.0,) * len(contract_features), source="(new model)")
    probe.check_bands(pp.descriptions, pp.label)
    reader = ReferenceReader(reference, target, grid, clcplus)
    alignment = 2 ** (len(options.widths) - 1)
    windows, size = patch_windows(grid.width, grid.height, options.patch_size, alignment)
    progress = StepProgress(feedback, len(windows), 0.0, 10.0)
    raw, targets, valid_masks = [], [], []
    for window in windows:
        progress.step()
        density, reference_valid = reader.read(window)
        bands = {band: pp.read_float(window, pp.band_number(band), np.float32) for band in probe.bands}
        features = np.stack([feature.compute(bands) for feature in contract_features])
        valid = reference_valid & np.all(np.isfinite(features), axis=0)
        if valid.mean() < options.min_valid_fraction:
            continue
        raw.append(np.where(valid, features, 0.0).astype(np.float32))
        targets.append(density.astype(np.float32))
        valid_masks.append(valid)
    if len(raw) > options.max_patches:
        keep = np.sort(np.random.default_rng(options.seed).choice(len(raw), options.max_patches,
                                                                  replace=False))
        raw = [raw[i] for i in keep]
        targets = [targets[i] for i in keep]
        valid_masks = [valid_masks[i] for i in keep]
    if not raw:
        raise ImperviousnessError(
            f"No patch of {size} x {size} px has at least {100 * options.min_valid_fraction:.0f} % "
            "pixels that are valid in both the PP stack and the reference: do they overlap?")
    return np.stack(raw), np.stack(targets), np.stack(valid_masks), grid, size


def make_patch_sets(raw, targets, valid, mean, std, indices):
    """Normalised PatchSet of the chosen patches (invalid pixels: features 0, weight 0)."""
    mean = np.asarray(mean, dtype=np.float32)[None, :, None, None]
    std = np.asarray(std, dtype=np.float32)[None, :, None, None]
    inputs = (raw[indices] - mean) / std
    inputs = np.where(valid[indices][:, None], inputs, 0.0).astype(np.float32)
    return PatchSet(np.ascontiguousarray(inputs), targets[indices].astype(np.float32),
                    valid[indices].astype(np.float32))


def run_train_model(pp_path, reference, target, output_path, init_model=None, clcplus=None,
                    options=None, feedback=None, provenance=None):
    """Train a U-Net on a PP stack against a reference and write the .onnx with its contract."""
    options = options or TrainOptions()
    target = str(target).upper()
    if target not in TARGETS:
        raise ImperviousnessError(f"TARGET must be IMD or IBU, not {target!r}.")
    require_torch()
    require_onnx()
    progress = StepProgress(feedback, 1)
    init_contract = init_spec = init_weights = None
    if init_model:
        init_contract, init_spec, init_weights = read_onnx_weights(init_model)
        features = init_contract.features
        options.widths = tuple(init_spec.widths)
        progress.info(f"Transfer learning: starting from {os.path.basename(str(init_model))} "
                      f"({init_contract.target}, widths {list(init_spec.widths)}).")
    else:
        from ..io.raster import band_descriptions
        order = sum(1 for name in band_descriptions(pp_path) if name.startswith("NDVI_A"))
        features = default_features(max(order, 1))
    raw, targets, valid, grid, size = collect_patches(pp_path, reference, target, features,
                                                      options, clcplus, feedback)
    train_idx, val_idx = split_patches(len(raw), options.validation_fraction, options.seed)
    if init_contract is not None:
        mean, std = init_contract.mean, init_contract.std
    else:
        mean, std = normalisation_of(raw[train_idx], valid[train_idx])
    train = make_patch_sets(raw, targets, valid, mean, std, train_idx)
    validation = make_patch_sets(raw, targets, valid, mean, std, val_idx)
    progress.info(f"{len(raw)} patches of {size} x {size} px: {len(train)} for training, "
                  f"{len(validation)} for validation.")
    spec = UNetSpec(len(features), tuple(options.widths), options.dropout)
    result = fit_unet(train, validation, spec, options, init_weights, feedback, (10.0, 100.0))
    training = {
        "data": provenance or f"PP stack {os.path.basename(str(pp_path))} against "
                              f"{os.path.basename(str(reference))}"
                              + (f" cleaned with CLCplus {os.path.basename(str(clcplus))}" if clcplus else ""),
        "pp_year": _year_of(pp_path), "target": target,
        "patches": {"size": size, "train": len(train), "validation": len(validation),
                    "split": "random 80/20 of whole non-overlapping patches"},
        "loss": "binary cross-entropy on the reference density (soft labels), valid pixels only",
        "steps": options.steps, "best_step": result.best_step, "seed": options.seed,
        "init_model": os.path.basename(str(init_model)) if init_model else None,
        "validation_metrics": result.validation_metrics,
        "trained": datetime.date.today().isoformat(), "options": _jsonable(asdict(options)),
    }
    contract = ModelContract(target, tuple(features), tuple(mean), tuple(std), options.tile_size,
                             options.overlap, spec.alignment, architecture=spec.as_json(),
                             training=training, source=os.path.basename(str(output_path)))
    save_onnx(build_onnx(spec, result.weights, contract), output_path)
    metrics = result.validation_metrics
    progress.info(
        f"Validation ({metrics.get('pixels', 0)} px): MAE {metrics.get('mae_pp', float('nan')):.2f} pp, "
        f"RMSE {metrics.get('rmse_pp', float('nan')):.2f} pp, F1 at 10 % "
        f"{metrics.get('f1_at_10', float('nan')):.3f}, BCE {metrics.get('bce', float('nan')):.4f}.")
    return {"output": str(output_path), "metrics": metrics, "history": result.history,
            "best_step": result.best_step, "patches": (len(train), len(validation)),
            "seconds": result.seconds}


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))
