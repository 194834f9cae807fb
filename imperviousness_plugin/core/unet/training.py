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
are kept (`select_best`; otherwise the last ones).

Runs (`run_train_model`, issue 23): the windows are surveyed on the reference alone, split into
spatial blocks with a one-patch buffer (held-out blocks shared by all members, validation blocks
per member) and drawn stratified by density class and valid share (`sampling`); only the drawn
windows of the PP stack are read, so memory does not grow with the area. MEMBERS networks are
trained with seeds seed, seed + 1, ... and their own validation blocks and training draws, and
written as an ensemble (<stem>_m1.onnx ..). Each is scored on the held-out blocks, as is their
mean and a per-pixel baseline fitted on the first member's training pixels (`evaluation`); the
numbers go into every member's contract (hrl.training) and the log, with a warning when the
U-Net does not beat the baseline. DEVICE auto / cpu / cuda: model and batches on the device,
bf16 autocast on CUDA GPUs that support it, deterministic cuDNN settings (`_set_up_device`);
the CPU path runs float32 with `threads` PyTorch threads. The .onnx is always exported on the CPU.

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
from . import sampling
from .evaluation import IBU_THRESHOLD, PixelBaseline, compare, density_metrics, held_out_metrics, pixel_sample

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
# ONNX export: the graph is traced from the torch module (one network definition)
# ---------------------------------------------------------------------------------------------

_DYNAMIC_AXES = {0: "batch", 2: "rows", 3: "columns"}


def export_onnx(module, contract):
    """The ONNX ModelProto of a torch U-Net, carrying `contract` in its metadata.

    torch.onnx.export's TorchScript exporter (`dynamo=False`) traces the module in evaluation mode
    (dropout off) at opset OPSET with dynamic batch, rows and columns. It needs no package beyond
    torch and onnx (the newer torch.export-based exporter also needs onnxscript) and writes the
    same bytes for the same weights, which keeps the shipped models reproducible. Initialiser
    names are the module's state-dict names ("layers.stem.weight"); `read_onnx_weights` also
    reads the bare names of older models ("stem.weight").
    """
    import io
    import warnings
    torch, onnx = require_torch(), require_onnx()
    spec = module.spec
    was_training = module.training
    module.eval()
    sample = torch.zeros(1, spec.in_channels, 2 * spec.alignment, 2 * spec.alignment)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter is deprecated in favour of the dynamo one (see above), and
        # tracing warns about Python-level branches, which are constant here.
        warnings.simplefilter("ignore")
        torch.onnx.export(_cpu_copy(torch, module), (sample,), buffer, dynamo=False,
                          opset_version=OPSET, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: _DYNAMIC_AXES, OUTPUT_NAME: _DYNAMIC_AXES},
                          do_constant_folding=True)
    module.train(was_training)
    model = onnx.load_from_string(buffer.getvalue())
    model.producer_name, model.producer_version = "imperviousness_plugin", "1"
    model.doc_string = (f"HRL Imperviousness U-Net for {contract.target} "
                        f"({contract.product}); see the hrl.* metadata for the contract.")
    attach_contract(model, contract)
    onnx.checker.check_model(model)
    return model


def _cpu_copy(torch, module):
    """The module itself on the CPU, or a CPU copy of a module on another device (export traces
    on the CPU so that the file does not depend on the device trained on)."""
    parameter = next(module.parameters())
    if parameter.device.type == "cpu":
        return module
    import copy
    return copy.deepcopy(module).to("cpu")


def save_onnx(model, path):
    """Write the ModelProto atomically (nothing half-written under `path`)."""
    onnx = require_onnx()
    path = os.path.abspath(str(path))
    with atomic.atomic_path(path) as temporary:
        onnx.save(model, temporary)
    return path


def _weight_name(name):
    """Exported models name weights "layers.stem.weight" (the state dict), models written before
    the export "stem.weight": both give "stem.weight"."""
    return name[len("layers."):] if name.startswith("layers.") else name


def read_onnx_weights(path):
    """(contract, UNetSpec, {name: array}) of a model of this plugin (exported or shipped)."""
    onnx = require_onnx()
    contract = load_contract(path)
    model = onnx.load(str(path))
    weights = {_weight_name(init.name): onnx.numpy_helper.to_array(init).astype(np.float32)
               for init in model.graph.initializer}
    architecture = contract.architecture or {}
    if architecture.get("type") != "unet" or "widths" not in architecture:
        raise ImperviousnessError(f"Model {path} is not a U-Net of this plugin (its contract has "
                                  "no architecture widths), so it cannot initialise training.")
    spec = UNetSpec(len(contract.features), tuple(architecture["widths"]),
                    float(architecture.get("dropout", 0.1)))
    return contract, spec, weights


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
    validation_fraction: float = 0.15     # share of the blocks (sampling.assign_roles)
    held_out_fraction: float = 0.15
    validate_every: int = 50
    max_patches: int = 400                # training patches per member; validation and held-out
    min_valid_fraction: float = 0.25      # sets get an eighth of it each
    seed: int = 0
    threads: int = None
    crop_size: int = None          # random crops of this size from larger patches (None: whole)
    select_best: bool = True       # keep the weights of the best validation loss (else the last)
    tile_size: int = DEFAULT_TILE_SIZE
    overlap: int = DEFAULT_OVERLAP
    members: int = 3               # ensemble members (seeds and validation blocks differ)
    device: str = "auto"           # auto (CUDA when PyTorch sees one), cpu, cuda
    baseline_pixels: int = 300_000

    @property
    def evaluation_patches(self):
        return max(1, int(self.max_patches) // 8)


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
    module: object = None
    device: dict = field(default_factory=dict)


def normalisation_of(patches_inputs, patch_valid):
    """Per-feature mean and SD over valid pixels of raw (unnormalised) patch features (one
    channel at a time: no copy of all patches)."""
    mean, std = [], []
    for channel in range(patches_inputs.shape[1]):
        values = patches_inputs[:, channel][patch_valid]
        if values.size < 2:
            raise ImperviousnessError("Too few valid pixels to derive the feature normalisation.")
        mean.append(float(values.mean(dtype=np.float64)))
        std.append(float(max(values.std(dtype=np.float64), 1e-6)))
    return tuple(mean), tuple(std)


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


DEVICES = ("auto", "cpu", "cuda")


def resolve_device(torch, choice):
    """The torch device of DEVICE: auto takes CUDA when PyTorch sees a GPU, else the CPU; cuda
    without a GPU is refused (a silent fall-back would hide a wrong install)."""
    choice = str(choice or "auto").lower()
    if choice not in DEVICES:
        raise ImperviousnessError(f"DEVICE must be one of {', '.join(DEVICES)}, not {choice!r}.")
    has_cuda = bool(torch.cuda.is_available())
    if choice == "cuda" and not has_cuda:
        raise ImperviousnessError(
            "DEVICE cuda was asked for, but PyTorch sees no CUDA GPU (torch.cuda.is_available() "
            f"is False; torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}). "
            "Install a CUDA build of PyTorch and a GPU driver, or choose DEVICE cpu or auto.")
    return torch.device("cuda" if has_cuda and choice != "cpu" else "cpu")


def _set_up_device(torch, device, threads):
    """Threads on the CPU; on CUDA deterministic cuDNN kernels (no autotuning, so that a seed
    repeats a run on the same GPU; a few kernels such as max-pool backward may still add in
    another order, within float noise). Returns whether bf16 autocast is used: on CUDA GPUs
    that support bf16 (Ampere and newer), where it roughly halves the convolution time; the
    CPU path stays float32 (bf16 on CPUs without AMX is slower)."""
    if device.type == "cpu":
        torch.set_num_threads(int(threads or os.cpu_count() or 1))
        return False
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    return bool(torch.cuda.is_bf16_supported())


def _module_device(module):
    return next(module.parameters()).device


def predict_patches(module, inputs, batch_size=8):
    """Densities (N, h, w) of a torch module on patches, in evaluation mode."""
    torch = require_torch()
    module.eval()
    device = _module_device(module)
    outputs = []
    with torch.no_grad():
        for start in range(0, len(inputs), batch_size):
            batch = torch.from_numpy(np.ascontiguousarray(inputs[start:start + batch_size])).to(device)
            outputs.append(module(batch)[:, 0].float().cpu().numpy())
    return np.concatenate(outputs) if outputs else np.zeros((0,) + inputs.shape[2:], np.float32)


def validation_loss(module, patches, batch_size=8):
    torch = require_torch()
    module.eval()
    device = _module_device(module)
    total, weight = 0.0, 0.0
    with torch.no_grad():
        for start in range(0, len(patches), batch_size):
            part = slice(start, start + batch_size)
            x = torch.from_numpy(np.ascontiguousarray(patches.inputs[part])).to(device)
            y = torch.from_numpy(patches.targets[part][:, None]).to(device)
            w = torch.from_numpy(patches.weights[part][:, None]).to(device)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                module(x, logits=True).float(), y, reduction="none")
            total += float((loss * w).sum())
            weight += float(w.sum())
    return total / max(weight, 1.0)


def fit_unet(train, validation, spec, options, init_weights=None, feedback=None,
             progress_range=(0.0, 100.0)):
    """Train a U-Net on normalised patches; returns FitResult with the best validation weights
    (and the module holding them, on its device)."""
    torch = require_torch()
    started = time.perf_counter()
    device = resolve_device(torch, options.device)
    bf16 = _set_up_device(torch, device, options.threads)
    module = build_module(spec, init_weights, seed=options.seed).to(device)
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
        x, y, w = (torch.stack([item[k] for item in batch]).to(device) for k in range(3))
        optimiser.zero_grad()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = module(x, logits=True)
        loss = _masked_bce(torch, logits.float(), y, w)
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
                     time.perf_counter() - started, module,
                     {"device": device.type, "precision": "bfloat16 autocast" if bf16 else "float32"})


# ---------------------------------------------------------------------------------------------
# Patches from rasters
# ---------------------------------------------------------------------------------------------

def split_patches(count, validation_fraction, seed):
    """Indices (train, validation) of an 80/20-style random split of whole patches (the shipped
    models' simulated chunks, which lie apart already; areas use sampling.assign_roles)."""
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


class PatchSource:
    """The PP stack and the reference of a training run, read window by window."""

    def __init__(self, pp_path, reference, target, features, clcplus=None):
        from ..io.raster import RasterInput
        self.pp = RasterInput(pp_path, "INPUT")
        self.grid = self.pp.grid
        self.features = tuple(features)
        probe = ModelContract(target, self.features, (0.0,) * len(features), (1.0,) * len(features),
                              source="(new model)")
        probe.check_bands(self.pp.descriptions, self.pp.label)
        self.bands = probe.bands
        self.reader = ReferenceReader(reference, target, self.grid, clcplus)

    def read(self, survey, indices, min_valid_fraction, feedback=None, progress_range=(0.0, 0.0)):
        """Raw features (N, C, s, s), targets and validity of the windows `indices` of the
        survey; windows whose valid share (PP and reference) falls below the minimum are left
        out. Only these windows are read: memory is that of the patches, at any area."""
        size = survey.size
        inputs = np.zeros((len(indices), len(self.features), size, size), dtype=np.float32)
        targets = np.zeros((len(indices), size, size), dtype=np.float32)
        valid = np.zeros((len(indices), size, size), dtype=bool)
        progress = StepProgress(feedback, len(indices), *progress_range)
        kept = 0
        with _gdal_cache_limit(READ_CACHE_BYTES):
            for index in indices:
                progress.step()
                if self._read_window(survey.window(index), inputs[kept], targets, valid, kept,
                                     min_valid_fraction):
                    kept += 1
        return inputs[:kept], targets[:kept], valid[:kept]

    def _read_window(self, window, features, targets, valid, slot, min_valid_fraction):
        """Features, target and validity of one window into slot `slot`; False when too few of
        its pixels are valid (the slot is then reused)."""
        density, reference_valid = self.reader.read(window)
        bands = {band: self.pp.read_float(window, self.pp.band_number(band), np.float32)
                 for band in self.bands}
        for channel, feature in enumerate(self.features):
            features[channel] = feature.compute(bands)
        mask = reference_valid & np.all(np.isfinite(features), axis=0)
        if mask.mean() < min_valid_fraction:
            return False
        features[:, ~mask] = 0.0
        targets[slot], valid[slot] = density, mask
        return True


# GDAL's block cache (default 5 % of the RAM, process-wide) would fill with the decoded PP tiles
# of the drawn windows and count in the training's memory; the windows are read in raster order,
# so a small cache loses nothing. The previous limit is restored afterwards (QGIS shares it).
READ_CACHE_BYTES = 256 * 1024 * 1024


class _gdal_cache_limit:
    def __init__(self, limit):
        self.limit = limit

    def __enter__(self):
        from osgeo import gdal
        self.previous = gdal.GetCacheMax()
        gdal.SetCacheMax(min(self.previous, self.limit))

    def __exit__(self, *exc):
        from osgeo import gdal
        gdal.SetCacheMax(self.previous)
        return False


def normalise_in_place(inputs, valid, mean, std):
    """PatchSet of raw patches normalised in place (no second copy); invalid pixels: features 0,
    weight 0."""
    inputs -= np.asarray(mean, dtype=np.float32)[None, :, None, None]
    inputs /= np.asarray(std, dtype=np.float32)[None, :, None, None]
    inputs *= valid[:, None]
    return inputs


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
    """Train an ensemble of U-Nets on a PP stack against a reference and write the .onnx
    members with their contracts; returns their paths and the held-out metrics."""
    options = options or TrainOptions()
    target = str(target).upper()
    if target not in TARGETS:
        raise ImperviousnessError(f"TARGET must be IMD or IBU, not {target!r}.")
    if int(options.members) < 1:
        raise ImperviousnessError(f"MEMBERS must be at least 1, not {options.members}.")
    torch = require_torch()
    require_onnx()
    resolve_device(torch, options.device)        # refuse a missing GPU before reading anything
    progress = StepProgress(feedback, 1)
    init = _initial_model(init_model, options, progress)
    features = init[0].features if init else _features_of(pp_path)
    source = PatchSource(pp_path, reference, target, features, clcplus)
    grid, alignment = source.grid, 2 ** (len(options.widths) - 1)
    size = sampling.patch_size_for(grid.width, grid.height, options.patch_size, alignment)
    survey = sampling.survey_windows(source.reader, grid.width, grid.height, size, feedback, (0.0, 4.0))
    eligible = survey.valid_share >= options.min_valid_fraction
    progress.info(f"Reference surveyed: {survey.shape[0]} x {survey.shape[1]} windows of {size} px, "
                  f"{int(eligible.sum())} with at least {100 * options.min_valid_fraction:.0f} % valid pixels.")
    if not eligible.any():
        raise ImperviousnessError(
            f"No patch of {size} x {size} px has at least {100 * options.min_valid_fraction:.0f} % "
            "valid reference pixels: do the PP stack and the reference overlap?")
    roles = _roles(survey, eligible, options, options.seed)
    held = source.read(survey, sampling.draw_windows(survey, roles, sampling.HELD_OUT,
                                                     options.evaluation_patches,
                                                     options.min_valid_fraction, options.seed),
                       options.min_valid_fraction, feedback, (4.0, 5.0))
    if len(held[0]) == 0:
        raise ImperviousnessError("No held-out patch has enough valid pixels in both the PP stack and "
                                  "the reference: give a larger area or a smaller PATCH_SIZE.")
    mean, std = (init[0].mean, init[0].std) if init else (None, None)
    spec = UNetSpec(len(features), tuple(options.widths), options.dropout)
    span = 95.0 / options.members
    members, baseline, held_inputs, ensemble_sum = [], None, None, None
    for index in range(options.members):
        member = _train_member(source, survey, eligible, options, index, spec, init, mean, std,
                               feedback, (5.0 + index * span, 5.0 + (index + 1) * span))
        train = member.pop("train")
        if baseline is None:                      # the first member's training pixels
            mean, std = member["mean"], member["std"]
            baseline = _fit_baseline(target, train, options)
            held_inputs = normalise_in_place(held[0], held[2], mean, std)
        del train
        predicted = predict_patches(member.pop("module"), held_inputs)
        member["held_out"] = held_out_metrics(predicted, held[1], held[2])
        ensemble_sum = predicted if ensemble_sum is None else ensemble_sum + predicted
        members.append(member)
    comparison = _comparison(target, ensemble_sum / len(members), baseline, held_inputs, held)
    paths = _write_members(members, comparison, survey, options, init_model, target, features, spec,
                           output_path, pp_path, reference, clcplus, provenance, len(held[0]))
    _report(progress, comparison, target)
    first = members[0]
    return {"output": paths[0], "members": paths, "metrics": first["fit"].validation_metrics,
            "held_out": comparison, "history": first["fit"].history,
            "best_step": first["fit"].best_step,
            "patches": (first["patches"]["train"], first["patches"]["validation"], len(held[0])),
            "seconds": sum(member["fit"].seconds for member in members)}


def _initial_model(init_model, options, progress):
    """(contract, spec, weights) of INIT_MODEL, whose architecture then wins; None without."""
    if not init_model:
        return None
    contract, spec, weights = read_onnx_weights(init_model)
    options.widths = tuple(spec.widths)
    progress.info(f"Transfer learning: starting from {os.path.basename(str(init_model))} "
                  f"({contract.target}, widths {list(spec.widths)}).")
    return contract, spec, weights


def _features_of(pp_path):
    from ..io.raster import band_descriptions
    order = sum(1 for name in band_descriptions(pp_path) if name.startswith("NDVI_A"))
    return default_features(max(order, 1))


def _roles(survey, eligible, options, member_seed):
    # Held-out blocks from the base seed (the same for every member), validation from the member's.
    return sampling.assign_roles(survey.shape, eligible, options.seed, member_seed + 7919,
                                 options.held_out_fraction, options.validation_fraction)


def _train_member(source, survey, eligible, options, index, spec, init, mean, std, feedback,
                  progress_range):
    """One member: its own validation blocks, training draw and seed."""
    seed = int(options.seed) + index
    roles = _roles(survey, eligible, options, seed)
    start, end = progress_range
    reading = start + 0.1 * (end - start)
    train_raw = source.read(survey, sampling.draw_windows(survey, roles, sampling.TRAIN, options.max_patches,
                                                          options.min_valid_fraction, seed),
                            options.min_valid_fraction, feedback, (start, reading))
    validation_raw = source.read(survey, sampling.draw_windows(survey, roles, sampling.VALIDATION,
                                                               options.evaluation_patches,
                                                               options.min_valid_fraction, seed),
                                 options.min_valid_fraction)
    for name, patches in (("training", train_raw), ("validation", validation_raw)):
        if len(patches[0]) == 0:
            raise ImperviousnessError(
                f"Member {index + 1}: no {name} patch of {survey.size} px has enough valid pixels "
                "after the spatial split: give a larger area or a smaller PATCH_SIZE.")
    if mean is None:
        mean, std = normalisation_of(train_raw[0], train_raw[2])
    train = PatchSet(normalise_in_place(train_raw[0], train_raw[2], mean, std), train_raw[1],
                     train_raw[2].astype(np.float32))
    validation = PatchSet(normalise_in_place(validation_raw[0], validation_raw[2], mean, std),
                          validation_raw[1], validation_raw[2].astype(np.float32))
    StepProgress(feedback, 1).info(
        f"Member {index + 1}/{options.members} (seed {seed}): {len(train)} training and "
        f"{len(validation)} validation patches of {survey.size} x {survey.size} px "
        f"({_role_counts(roles)}).")
    member_options = TrainOptions(**{**asdict(options), "seed": seed})
    fit = fit_unet(train, validation, spec, member_options, init[2] if init else None, feedback,
                   (reading, end))
    return {"index": index, "seed": seed, "fit": fit, "module": fit.module, "mean": mean, "std": std,
            "train": train, "patches": {"train": len(train), "validation": len(validation)}}


def _role_counts(roles):
    counts = np.bincount(roles.ravel(), minlength=4)
    return ", ".join(f"{sampling.ROLE_NAMES[role]} {counts[role]}" for role in range(4)) + " windows"


def _fit_baseline(target, train, options):
    features, targets = pixel_sample(train.inputs, train.targets, train.weights,
                                     options.baseline_pixels, options.seed)
    return PixelBaseline(target).fit(features, targets)


def _comparison(target, ensemble, baseline, held_inputs, held):
    unet = held_out_metrics(ensemble, held[1], held[2])
    reference = held_out_metrics(baseline.predict(held_inputs), held[1], held[2])
    reference["method"] = baseline.method
    return {"unet_ensemble": unet, "baseline": reference,
            "warning": compare(unet, reference, target)}


def _member_paths(output_path, count):
    """The members' files: OUTPUT itself for one member, else <stem>_m1.onnx .. <stem>_mN.onnx
    beside it (the naming of the shipped ensembles, models/hrl_imd_unet_m1..m3.onnx)."""
    output_path = os.path.abspath(str(output_path))
    if count == 1:
        return [output_path]
    stem, extension = os.path.splitext(output_path)
    return [f"{stem}_m{index}{extension or '.onnx'}" for index in range(1, count + 1)]


def _write_members(members, comparison, survey, options, init_model, target, features, spec,
                   output_path, pp_path, reference, clcplus, provenance, held_count):
    """Every member's .onnx with its contract, all or none."""
    paths = _member_paths(output_path, len(members))
    block = sampling.block_size(*survey.shape)
    written = []
    try:
        for member, path in zip(members, paths):
            fit = member["fit"]
            training = {
                "data": provenance or f"PP stack {os.path.basename(str(pp_path))} against "
                                      f"{os.path.basename(str(reference))}"
                                      + (f" cleaned with CLCplus {os.path.basename(str(clcplus))}" if clcplus else ""),
                "pp_year": _year_of(pp_path), "target": target,
                "member": member["index"] + 1, "members": len(members),
                "patches": {"size": survey.size, "train": member["patches"]["train"],
                            "validation": member["patches"]["validation"], "held_out": held_count,
                            "split": f"spatial blocks of {block} x {block} patches: held-out "
                                     f"{options.held_out_fraction:.0%} of the blocks (seed {options.seed}, "
                                     f"the same for every member), validation {options.validation_fraction:.0%} "
                                     f"(member seed), training the rest less a buffer of one patch",
                            "sampling": "stratified by the density class of the window mean (0, 1-30, "
                                        "31-80, 81-100 %) and its valid share (< 50, 50-90, >= 90 %), "
                                        f"at most {options.max_patches} training patches"},
                "loss": "binary cross-entropy on the reference density (soft labels), valid pixels only",
                "steps": options.steps, "best_step": fit.best_step, "seed": member["seed"],
                "init_model": os.path.basename(str(init_model)) if init_model else None,
                "device": fit.device,
                "validation_metrics": fit.validation_metrics,
                "held_out_metrics": {"unet_member": member["held_out"], **comparison},
                "trained": datetime.date.today().isoformat(), "options": _jsonable(asdict(options)),
            }
            contract = ModelContract(target, tuple(features), tuple(member["mean"]), tuple(member["std"]),
                                     options.tile_size, options.overlap, spec.alignment,
                                     architecture=spec.as_json(), training=training,
                                     source=os.path.basename(path))
            module = build_module(spec, fit.weights)
            written.append(save_onnx(export_onnx(module, contract), path))
    except BaseException:
        for path in written:                      # all members or none
            os.remove(path)
        raise
    return written


def _report(progress, comparison, target):
    unet, baseline = comparison["unet_ensemble"], comparison["baseline"]
    progress.info(f"Held-out blocks ({unet.get('pixels', 0)} px), U-Net ensemble vs per-pixel baseline:")
    for name, key in (("MAE (pp)", "mae_pp"), ("RMSE (pp)", "rmse_pp"), ("bias (pp)", "bias_pp"),
                      ("F1 at 10 %", "f1_at_10"), ("precision at 10 %", "precision_at_10"),
                      ("recall at 10 %", "recall_at_10")):
        progress.info(f"  {name}: {unet.get(key, float('nan')):.3f} vs {baseline.get(key, float('nan')):.3f}")
    for name, part in unet.get("by_class", {}).items():
        other = baseline["by_class"].get(name, {})
        progress.info(f"  density {name} % ({part.get('pixels', 0)} px): MAE {part.get('mae_pp', float('nan')):.2f}"
                      f" vs {other.get('mae_pp', float('nan')):.2f} pp")
    if comparison["warning"]:
        progress.warn(comparison["warning"])


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))
