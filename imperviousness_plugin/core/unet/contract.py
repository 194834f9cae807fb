"""The model contract: what an .onnx model of this plugin promises, stored inside the file.

A U-Net model (ATBD 4.2.3, SPEC section 8) is only usable when the predictor knows which PP bands
feed it, in which order, how they are transformed and normalised, which tile size and overlap it
was made for and what its output means. All of that travels inside the .onnx file as
`metadata_props` (string key/value pairs of the ONNX ModelProto), so a model file is
self-describing and cannot be separated from its description. Keys (all values are strings;
structured values are JSON):

    hrl.contract_version   "1"
    hrl.target             "IMD" (imperviousness) or "IBU" (built-up)
    hrl.features           [{"name", "transform", "bands"}, ...] in the model's input channel order
    hrl.normalisation      {"method": "standardise", "mean": [...], "std": [...], "nodata_fill": 0}
    hrl.tile_size          "256"   tile edge (pixels) the predictor feeds the model
    hrl.overlap            "64"    overlap of neighbouring tiles (pixels)
    hrl.alignment          "8"     2^depth: tile origins stay on multiples of it (pooling grid)
    hrl.input              {"name": "features", "layout": "NCHW float32"}
    hrl.output             {"name": "density", "meaning": ..., "scale": ..., "product": "RIMD"}
    hrl.architecture       {"type": "unet", "widths": [...], ...} (informative)
    hrl.training           training provenance: data, years, split, metrics (informative)

Feature transforms (`TRANSFORMS`): `identity` (one band as is), and for the NDVI harmonics the
pair (amplitude, phase) mapped back to the linear coefficients, `amplitude_sin_phase`
a sin(phi) and `amplitude_cos_phase` a cos(phi) (SPEC 4: a sin(2 pi k tau + phi) =
a cos(phi) sin(2 pi k tau) + a sin(phi) cos(2 pi k tau)). Phases themselves are angles with a
jump at +-pi and are meaningless where the amplitude is ~0, so they are never fed raw.

Normalisation: feature f becomes (f - mean_f) / std_f. A pixel is *valid* when every PP band the
model uses is finite (NaN is the PP nodata); invalid pixels get `nodata_fill` (0, the mean of the
training data) in every channel so they do not disturb their neighbours, and their outputs are
nodata.

Reading a model (`load_contract`) needs only onnxruntime; writing the metadata
(`attach_contract`) needs the `onnx` package, imported only there (training and tests).
"""

import json
import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import ImperviousnessError

CONTRACT_VERSION = 1
PREFIX = "hrl."
TARGETS = {
    "IMD": {"product": "RIMD",
            "meaning": "imperviousness density: fraction of the 10 m pixel that is sealed"},
    "IBU": {"product": "RIBUD",
            "meaning": "built-up density: fraction of the 10 m pixel covered by buildings"},
}
OUTPUT_SCALE = ("density 0..1 (sigmoid output); the products store round_half_even(100 x density) "
                "as Byte percent, 255 = nodata")
TRANSFORMS = {"identity": 1, "amplitude_sin_phase": 2, "amplitude_cos_phase": 2}
DEFAULT_TILE_SIZE = 256
DEFAULT_OVERLAP = 64
# The largest tile edge a contract may ask for: the predictor holds a few float32 arrays of
# tile x width per channel (predict.py); 65536 would ask for tens of GiB.
MAX_TILE_SIZE = 4096
INPUT_NAME = "features"
OUTPUT_NAME = "density"


@dataclass(frozen=True)
class Feature:
    """One input channel: a transform of one or two PP bands (named by band description)."""

    name: str
    transform: str
    bands: tuple

    def compute(self, band_values):
        """The feature from {band description: float array}; NaN where a band is NaN."""
        values = [np.asarray(band_values[band], dtype=np.float32) for band in self.bands]
        if self.transform == "identity":
            return values[0]
        amplitude, phase = values
        if self.transform == "amplitude_sin_phase":
            return amplitude * np.sin(phase)
        return amplitude * np.cos(phase)

    def as_json(self):
        return {"name": self.name, "transform": self.transform, "bands": list(self.bands)}


def default_features(harmonic_order=3):
    """The features of the shipped models: Q20 of the ten bands, Q90_NDVI, NDVI_P0..PN, and for
    each harmonic k the linear coefficients a_k sin(phi_k), a_k cos(phi_k). NOBS is left out so
    the models do not depend on how many acquisitions a year happens to have."""
    bands = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
    features = [Feature(f"Q20_{band}", "identity", (f"Q20_{band}",)) for band in bands]
    features.append(Feature("Q90_NDVI", "identity", ("Q90_NDVI",)))
    features += [Feature(f"NDVI_P{k}", "identity", (f"NDVI_P{k}",)) for k in range(harmonic_order + 1)]
    for k in range(1, harmonic_order + 1):
        pair = (f"NDVI_A{k}", f"NDVI_PHI{k}")
        features.append(Feature(f"NDVI_A{k}_SIN_PHI{k}", "amplitude_sin_phase", pair))
        features.append(Feature(f"NDVI_A{k}_COS_PHI{k}", "amplitude_cos_phase", pair))
    return tuple(features)


@dataclass
class ModelContract:
    """The decoded contract of one model (see the module docstring for the meaning of fields)."""

    target: str
    features: tuple
    mean: tuple
    std: tuple
    tile_size: int = DEFAULT_TILE_SIZE
    overlap: int = DEFAULT_OVERLAP
    alignment: int = 8
    input_name: str = INPUT_NAME
    output_name: str = OUTPUT_NAME
    architecture: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    source: str = ""

    @property
    def product(self):
        return TARGETS[self.target]["product"]

    @property
    def bands(self):
        """The PP band descriptions the model reads, without repetition, in first-use order."""
        seen = []
        for feature in self.features:
            seen += [band for band in feature.bands if band not in seen]
        return tuple(seen)

    @property
    def feature_names(self):
        return tuple(feature.name for feature in self.features)

    def validate(self):
        """Raise ImperviousnessError when the contract is inconsistent in itself."""
        where = f"Model {self.source or '(unnamed)'}"
        if self.target not in TARGETS:
            raise ImperviousnessError(f"{where}: unknown target {self.target!r}; expected IMD or IBU.")
        if not self.features:
            raise ImperviousnessError(f"{where}: the contract lists no input feature.")
        for feature in self.features:
            if feature.transform not in TRANSFORMS:
                raise ImperviousnessError(
                    f"{where}: feature {feature.name} has the unknown transform "
                    f"{feature.transform!r} (known: {', '.join(TRANSFORMS)}).")
            if len(feature.bands) != TRANSFORMS[feature.transform]:
                raise ImperviousnessError(
                    f"{where}: feature {feature.name} ({feature.transform}) needs "
                    f"{TRANSFORMS[feature.transform]} band(s), the contract gives {len(feature.bands)}.")
        count = len(self.features)
        if len(self.mean) != count or len(self.std) != count:
            raise ImperviousnessError(
                f"{where}: the normalisation has {len(self.mean)} means and {len(self.std)} standard "
                f"deviations for {count} features.")
        if not all(math.isfinite(v) for v in self.mean) or \
                not all(math.isfinite(v) and v > 0 for v in self.std):
            raise ImperviousnessError(f"{where}: the normalisation must have finite means and "
                                      "positive standard deviations.")
        if not 1 <= self.tile_size <= MAX_TILE_SIZE:
            raise ImperviousnessError(
                f"{where}: tile size {self.tile_size} is outside 1..{MAX_TILE_SIZE} pixels.")
        if self.alignment < 1 or self.tile_size < self.alignment or self.tile_size % self.alignment:
            raise ImperviousnessError(
                f"{where}: tile size {self.tile_size} is not a multiple of the alignment "
                f"{self.alignment}.")
        stride = self.tile_size - self.overlap
        if not 0 <= self.overlap <= self.tile_size // 2 or stride % self.alignment:
            raise ImperviousnessError(
                f"{where}: overlap {self.overlap} must lie in 0..tile_size/2 and leave a stride "
                f"(tile size - overlap) that is a multiple of the alignment {self.alignment}.")
        return self

    def check_bands(self, band_names, input_name="the PP stack"):
        """Raise a clear error when the PP stack lacks a band the model needs."""
        available = list(band_names)
        missing = [band for band in self.bands if band not in available]
        if missing:
            raise ImperviousnessError(
                f"Model {self.source} needs the PP band(s) {', '.join(missing)}, which "
                f"{input_name} does not have (its bands: {', '.join(b or '?' for b in available)}). "
                "Pre-process with the harmonic order and bands the model was trained with.")

    def prepare(self, band_values):
        """Model input (C, H, W) float32 and the valid mask (H, W) from {band: array}.

        Features are transformed and normalised; pixels where any used band is NaN are invalid
        and filled with 0 (the normalised training mean) in every channel.
        """
        valid = None
        for band in self.bands:
            finite = np.isfinite(band_values[band])
            valid = finite if valid is None else valid & finite
        shape = valid.shape
        out = np.empty((len(self.features),) + shape, dtype=np.float32)
        for index, feature in enumerate(self.features):
            plane = out[index]   # normalised in place: the same float32 operations, no temporaries
            np.subtract(feature.compute(band_values), np.float32(self.mean[index]), out=plane)
            np.divide(plane, np.float32(self.std[index]), out=plane)
        if not valid.all():
            out[:, ~valid] = 0.0
        return out, valid

    def to_metadata(self):
        """The contract as metadata_props strings."""
        target = TARGETS.get(self.target, {})
        return {
            PREFIX + "contract_version": str(CONTRACT_VERSION),
            PREFIX + "target": self.target,
            PREFIX + "features": json.dumps([f.as_json() for f in self.features]),
            PREFIX + "normalisation": json.dumps({
                "method": "standardise", "formula": "(feature - mean) / std",
                "mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std],
                "nodata_fill": 0.0,
                "nodata_rule": "a pixel is nodata when any PP band the model uses is NaN; its "
                               "features are set to nodata_fill and its output is nodata"}),
            PREFIX + "tile_size": str(int(self.tile_size)),
            PREFIX + "overlap": str(int(self.overlap)),
            PREFIX + "alignment": str(int(self.alignment)),
            PREFIX + "input": json.dumps({"name": self.input_name, "layout": "NCHW float32",
                                          "channels": len(self.features)}),
            PREFIX + "output": json.dumps({"name": self.output_name, "layout": "N1HW float32",
                                           "meaning": target.get("meaning", ""),
                                           "scale": OUTPUT_SCALE,
                                           "product": target.get("product", "")}),
            PREFIX + "architecture": json.dumps(self.architecture, sort_keys=True),
            PREFIX + "training": json.dumps(self.training, sort_keys=True),
        }


def contract_from_metadata(metadata, source=""):
    """Decode (and validate) a contract from metadata_props; clear errors for what is wrong."""
    where = f"Model {source}"
    if PREFIX + "contract_version" not in metadata:
        raise ImperviousnessError(
            f"{where} carries no HRL model contract (metadata key {PREFIX}contract_version): it "
            "was not made for this plugin. Train it with imperviousness:trainmodel or add the "
            "contract described in the models documentation.")
    version = metadata[PREFIX + "contract_version"]
    if version != str(CONTRACT_VERSION):
        raise ImperviousnessError(f"{where} has contract version {version}; this plugin reads "
                                  f"version {CONTRACT_VERSION}.")

    def value(key, parse=str):
        if PREFIX + key not in metadata:
            raise ImperviousnessError(f"{where}: the contract lacks {PREFIX}{key}.")
        try:
            return parse(metadata[PREFIX + key])
        except (ValueError, TypeError) as error:
            raise ImperviousnessError(f"{where}: {PREFIX}{key} is not valid ({error}).") from None

    try:
        features = tuple(Feature(str(item["name"]), str(item["transform"]), tuple(item["bands"]))
                         for item in value("features", json.loads))
        normalisation = value("normalisation", json.loads)
        mean, std = tuple(normalisation["mean"]), tuple(normalisation["std"])
        model_input, model_output = value("input", json.loads), value("output", json.loads)
        input_name, output_name = model_input["name"], model_output["name"]
    except (KeyError, TypeError) as error:
        raise ImperviousnessError(f"{where}: the contract is incomplete ({error}).") from None
    optional = {}
    for key in ("architecture", "training"):
        if PREFIX + key in metadata:
            optional[key] = value(key, json.loads)
    contract = ModelContract(
        target=value("target"), features=features, mean=mean, std=std,
        tile_size=value("tile_size", int), overlap=value("overlap", int),
        alignment=value("alignment", int), input_name=input_name, output_name=output_name,
        source=source, **optional)
    return contract.validate()


def check_session(contract, session):
    """Raise a clear error when the ONNX graph's shapes disagree with the contract."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    where = f"Model {contract.source}"
    if len(inputs) != 1 or inputs[0].name != contract.input_name:
        raise ImperviousnessError(
            f"{where}: the contract names the input {contract.input_name!r} but the graph has "
            f"{', '.join(repr(i.name) for i in inputs)}.")
    if not any(o.name == contract.output_name for o in outputs):
        raise ImperviousnessError(
            f"{where}: the contract names the output {contract.output_name!r} but the graph has "
            f"{', '.join(repr(o.name) for o in outputs)}.")
    shape = inputs[0].shape
    if len(shape) != 4:
        raise ImperviousnessError(f"{where}: the input must be 4-D (batch, channels, rows, "
                                  f"columns), the graph's is {shape}.")
    channels = shape[1]
    if isinstance(channels, int) and channels != len(contract.features):
        raise ImperviousnessError(
            f"{where}: the graph expects {channels} input channels but the contract lists "
            f"{len(contract.features)} features ({', '.join(contract.feature_names)}).")
    if not isinstance(channels, int):
        _probe_channels(contract, session, shape, where)
    for axis in (2, 3):
        if isinstance(shape[axis], int) and shape[axis] != contract.tile_size:
            raise ImperviousnessError(
                f"{where}: the graph's input is {shape[axis]} pixels along axis {axis}, but the "
                f"contract's tile size is {contract.tile_size}.")
    output = next(o for o in outputs if o.name == contract.output_name)
    if len(output.shape) != 4 or (isinstance(output.shape[1], int) and output.shape[1] != 1):
        raise ImperviousnessError(f"{where}: the output must be (batch, 1, rows, columns), the "
                                  f"graph's is {output.shape}.")


def _probe_channels(contract, session, shape, where):
    """A graph that leaves its channel count open is run once on a small zero tile with the
    contract's channels: a mismatch fails here, naming the model, not inside the first tile."""
    size = [axis if isinstance(axis, int) else 2 * contract.alignment for axis in shape[2:]]
    probe = np.zeros([1, len(contract.features)] + size, dtype=np.float32)
    try:
        session.run([contract.output_name], {contract.input_name: probe})
    except Exception as error:  # onnxruntime raises its own exception types
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise ImperviousnessError(
            f"{where}: the graph leaves its number of input channels open and does not accept the "
            f"contract's {len(contract.features)} features ({', '.join(contract.feature_names)}); "
            f"ONNX Runtime says: {reason}") from None


def load_contract(path, session=None):
    """The validated contract of the .onnx file at `path` (read through onnxruntime)."""
    session = session or open_session(path)
    metadata = session.get_modelmeta().custom_metadata_map
    contract = contract_from_metadata(metadata, source=os.path.basename(str(path)))
    check_session(contract, session)
    return contract


def session_options(threads=None):
    """ONNX Runtime options for speed on CPU: every graph optimisation, one thread per core.

    Idle worker threads do not spin: an ensemble holds one session (one thread pool) per member
    and calls them in turn, and spinning pools of the members not running stole the cores from
    the one that was (measured: 3 members, 2 cores, 63 ms instead of 23 ms per tile).
    """
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = int(threads or os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def providers():
    """CUDA first when this onnxruntime build offers it, CPU always."""
    import onnxruntime as ort
    available = ort.get_available_providers()
    chosen = [name for name in ("CUDAExecutionProvider",) if name in available]
    return chosen + ["CPUExecutionProvider"]


def open_session(path, threads=None):
    """An onnxruntime InferenceSession of the model, with a clear error for unreadable files."""
    import onnxruntime as ort
    if not os.path.isfile(str(path)):
        raise ImperviousnessError(f"Model file {path} does not exist.")
    try:
        return ort.InferenceSession(str(path), sess_options=session_options(threads),
                                    providers=providers())
    except Exception as error:  # onnxruntime raises its own exception types
        raise ImperviousnessError(f"Cannot load model {path} with ONNX Runtime: {error}") from None


def attach_contract(model_proto, contract):
    """Write the contract into an onnx ModelProto's metadata_props (replacing older keys)."""
    contract.validate()
    kept = [(p.key, p.value) for p in model_proto.metadata_props if not p.key.startswith(PREFIX)]
    del model_proto.metadata_props[:]
    for key, value in kept + sorted(contract.to_metadata().items()):
        entry = model_proto.metadata_props.add()
        entry.key, entry.value = key, value
    return model_proto
