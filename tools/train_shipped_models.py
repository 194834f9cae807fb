#!/usr/bin/env python3
"""Reproduce models/ end to end: simulated training data, U-Net ensembles, held-out evaluation.

    .venv/bin/python tools/train_shipped_models.py            # full run (~25-35 min, 2 cores)
    .venv/bin/python tools/train_shipped_models.py --quick    # smoke test (a few minutes)
    .venv/bin/python tools/train_shipped_models.py --readme-only  # README from evaluation.json

Steps (see models/README.md for the account of the result):
1. Simulate one year of Sentinel-2 L2A for every 256 x 256 px chunk of the Malta grid with at
   least 20 % land (tools/training_data.py: real HRL/CLC fraction maps, real end-members from
   ../shared/data/s2) and pre-process it with the production code. Chunks are cached in
   build/model_training/chunks so a rerun does not simulate again.
2. Hold out Gozo and Comino (every chunk whose centre lies north of row 1100) and four chunks of
   the main island; they are used for nothing but the final evaluation.
3. Train three IMD members and three IBU members (core/unet/training.py): IMD member 1 from scratch,
   members 2 and 3 fine-tuned from member 1 on other 80/20 splits of the training chunks (the
   ATBD's transfer from neighbouring tiles; they keep their last weights); IBU member 1 starts
   from IMD member 1 (transfer across targets), IBU members 2 and 3 from IBU member 1.
4. Baselines on the same features, fitted on the training chunks' land pixels: a per-pixel
   linear regression on NDVI_P0 and a per-pixel gradient-boosting regressor (scikit-learn
   HistGradientBoostingRegressor) on the 21 features the U-Nets see.
5. Evaluate on the held-out chunks (land pixels): MAE of IMD in percentage points, F1 of IBU at
   the 10 % threshold; the U-Nets run through the production tiling (core/unet/predict.py).
6. Check the ensembles on the project's own synthetic sample (sampledata.generate_sample,
   preprocess 2021 on the reference grid, predict) against its truth.
7. Write models/*.onnx (contract + provenance + held-out metrics), models/evaluation.json and
   models/README.md.
"""

import argparse
import datetime
import json
import os
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from imperviousness_plugin.core.unet import training as tr  # noqa: E402
from tools import training_data as td  # noqa: E402
from imperviousness_plugin.core.unet.contract import ModelContract, default_features  # noqa: E402
from imperviousness_plugin.core.unet.predict import load_ensemble, predict_arrays  # noqa: E402

SIMULATION_NOTE = (
    "SIMULATED TRAINING DATA: no public Sentinel-2 time series with HRL labels was available, so "
    "this model was trained on simulated PP stacks: real Copernicus HRL 2018 IMD/TCD/GRA and CORINE "
    "Land Cover 2018 fraction maps of Malta, Sentinel-2 L2A acquisitions simulated from them "
    "(tools.sampledata, with end-member spectra and crop phenology measured on "
    "real Sentinel-2 data), pre-processed by the plugin's own preprocess code. Check it against "
    "reference data before relying on it for a real area; retrain with imperviousness:trainmodel.")
HELD_OUT_MALTA = 4
FEATURES = default_features(3)


def log(message):
    print(f"[{datetime.datetime.now():%H:%M:%S}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

def chunk_seed(row, col):
    return 10_000 + (row // td.CHUNK) * 100 + col // td.CHUNK


def plan_chunks(layers, quick):
    origins = td.malta_chunk_origins(layers)
    gozo = [rc for rc in origins if td.is_gozo(*rc)]
    malta = [rc for rc in origins if not td.is_gozo(*rc)]
    step = max(1, len(malta) // HELD_OUT_MALTA)
    held_malta = malta[step // 2::step][:HELD_OUT_MALTA]
    train = [rc for rc in malta if rc not in held_malta]
    held = gozo + held_malta
    if quick:
        train, held = train[::8][:6], gozo[:1] + held_malta[:1]
    return train, held, gozo


def load_chunks(layers, real, origins, cache):
    cache.mkdir(parents=True, exist_ok=True)
    chunks = []
    for number, (row, col) in enumerate(origins, start=1):
        path = cache / f"chunk_r{row:04d}_c{col:04d}.npz"
        if path.exists():
            chunk = td.SimulatedChunk.load(path)
        else:
            started = time.perf_counter()
            chunk = td.simulate_malta_chunk(layers, row, col, chunk_seed(row, col), real)
            chunk.save(path)
            log(f"simulated chunk {number}/{len(origins)} ({row}, {col}) in "
                f"{time.perf_counter() - started:.1f} s: IMD {100 * chunk.imd.mean():.1f} %, "
                f"{chunk.info['acquisitions']} acquisitions, real end-member weight "
                f"{chunk.info['real_endmember_weight']}")
        chunks.append(chunk)
    return chunks


def raw_features(chunk):
    """(C, h, w) raw features (0 where invalid) and the valid mask of a chunk."""
    bands = chunk.bands()
    features = np.stack([feature.compute(bands) for feature in FEATURES]).astype(np.float32)
    valid = np.all(np.isfinite(features), axis=0)
    return np.where(valid, features, 0.0).astype(np.float32), valid


def training_arrays(chunks):
    raw, valid = zip(*(raw_features(chunk) for chunk in chunks))
    height = min(r.shape[1] for r in raw) // 8 * 8
    width = min(r.shape[2] for r in raw) // 8 * 8
    crop = (slice(0, height), slice(0, width))
    return (np.stack([r[(slice(None),) + crop] for r in raw]), np.stack([v[crop] for v in valid]),
            {"IMD": np.stack([c.imd[crop] for c in chunks]).astype(np.float32),
             "IBU": np.stack([c.built_up[crop] for c in chunks]).astype(np.float32)},
            np.stack([c.land[crop] for c in chunks]))


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

class Feedback:
    """Prints the trainer's messages (a QgsProcessingFeedback stand-in)."""

    def setProgress(self, percent):
        pass

    def isCanceled(self):
        return False

    def pushInfo(self, message):
        log("    " + message)


def train_member(name, target, raw, valid, targets, mean, std, seed, steps, init, learning_rate,
                 quick, select_best=True):
    train_idx, val_idx = tr.split_patches(len(raw), 0.2, seed)
    train = tr.make_patch_sets(raw, targets[target], valid, mean, std, train_idx)
    validation = tr.make_patch_sets(raw, targets[target], valid, mean, std, val_idx)
    options = tr.TrainOptions(steps=steps, batch_size=16, crop_size=96, learning_rate=learning_rate,
                              validate_every=25 if quick else 100, seed=seed, select_best=select_best)
    spec = tr.UNetSpec(len(FEATURES), options.widths, options.dropout)
    log(f"training {name}: {len(train)} training / {len(validation)} validation chunks, "
        f"{steps} steps" + (f", starting from {init[0]}" if init else ", from scratch"))
    result = tr.fit_unet(train, validation, spec, options, init[1] if init else None, Feedback())
    log(f"  {name}: best step {result.best_step}, validation {result.validation_metrics}, "
        f"{result.seconds:.0f} s")
    return {"name": name, "target": target, "spec": spec, "weights": result.weights,
            "options": options, "result": result, "init": init[0] if init else None,
            "split_seed": seed, "train_chunks": len(train), "validation_chunks": len(validation)}


def member_contract(member, mean, std, held_out, chunk_summary):
    result = member["result"]
    training = {
        "data": SIMULATION_NOTE,
        "fraction_maps": "Copernicus HRL IMD 2018, TCD 2018, GRA 2018 (10 m) and CORINE Land Cover "
                         "2018 over Malta (EEA copernicus_quality_tools test data)",
        "endmembers": "sampledata defaults blended per chunk with Sentinel-2 L2A end-members "
                      "(Antwerp port 2023 Q4, Hesbaye 2020-2021 monthly composites)",
        "simulated_years": "one of 2018..2021 per chunk",
        "chunks": chunk_summary,
        "split": f"random 80/20 of the training chunks (seed {member['split_seed']}): "
                 f"{member['train_chunks']} training, {member['validation_chunks']} validation",
        "loss": "binary cross-entropy on the true density (soft labels), 10 % dropout, Adam, "
                "cosine learning rate, random 96 x 96 crops with flips and rotations",
        "label": "imperviousness density (paved + roof fraction)" if member["target"] == "IMD"
                 else "built-up density (roof fraction); IBU = density >= 10 %",
        "steps": member["options"].steps, "best_step": result.best_step,
        "init_model": member["init"],
        "validation_metrics": result.validation_metrics,
        "held_out_metrics_ensemble": held_out,
        "script": "tools/train_shipped_models.py",
        "trained": datetime.date.today().isoformat(),
    }
    return ModelContract(member["target"], FEATURES, mean, std, architecture=member["spec"].as_json(),
                         training=training, alignment=member["spec"].alignment,
                         source=member["name"] + ".onnx")


def write_members(members, mean, std, held_out, chunk_summary, out_dir):
    paths = []
    for member in members:
        contract = member_contract(member, mean, std, held_out.get(member["target"]), chunk_summary)
        path = out_dir / f"{member['name']}.onnx"
        tr.save_onnx(tr.export_onnx(tr.build_module(member["spec"], member["weights"]), contract), path)
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------------
# Baselines and evaluation
# ---------------------------------------------------------------------------------------------

def fit_baselines(raw, valid, targets, seed=0, sample=400_000):
    """Both baselines, fitted on the training chunks' valid land pixels (the evaluation domain;
    with the sea included the NDVI_P0 line would be flat)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    p0 = FEATURES.index(next(f for f in FEATURES if f.name == "NDVI_P0"))
    pixels = np.moveaxis(raw, 1, -1)[valid]                        # (n, C)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pixels), size=min(sample, len(pixels)), replace=False)
    baselines = {}
    for target, values in targets.items():
        y = values[valid]
        slope, intercept = np.polyfit(pixels[:, p0].astype(np.float64), y.astype(np.float64), 1)
        started = time.perf_counter()
        model = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.1, max_leaf_nodes=63,
                                              random_state=seed)
        model.fit(pixels[chosen], y[chosen])
        log(f"baselines {target}: NDVI_P0 line {intercept:.4f} + {slope:.4f} x p0; gradient "
            f"boosting fitted in {time.perf_counter() - started:.0f} s")
        baselines[target] = {"linear": (float(intercept), float(slope)), "gbm": model}
    return baselines, p0


def predict_baselines(baselines, p0, raw):
    pixels = np.moveaxis(raw, 0, -1)                                # (h, w, C)
    out = {}
    for target, models in baselines.items():
        intercept, slope = models["linear"]
        linear = np.clip(intercept + slope * pixels[..., p0], 0.0, 1.0)
        gbm = np.clip(models["gbm"].predict(pixels.reshape(-1, pixels.shape[-1])), 0.0, 1.0)
        out[target] = {"ndvi_p0_linear": linear, "gradient_boosting": gbm.reshape(pixels.shape[:2])}
    return out


def evaluate(chunks, ensembles, baselines, p0):
    """Pixel-pooled metrics of every method on the held-out chunks (land pixels)."""
    pooled = {}
    for chunk in chunks:
        raw, valid = raw_features(chunk)
        mask = valid & chunk.land
        truths = {"IMD": chunk.imd, "IBU": chunk.built_up}
        predictions = predict_baselines(baselines, p0, raw)
        for target, members in ensembles.items():
            densities, predicted_valid = predict_arrays(chunk.bands(), members)
            predictions[target]["unet_ensemble"] = densities.mean(axis=0)
            for index in range(len(members)):
                predictions[target][f"unet_member_{index + 1}"] = densities[index]
            mask_target = mask & predicted_valid
            for method, values in predictions[target].items():
                store = pooled.setdefault(target, {}).setdefault(method, ([], []))
                store[0].append(values[mask_target])
                store[1].append(truths[target][mask_target])
    return {target: {method: tr.density_metrics(np.concatenate(p), np.concatenate(t))
                     for method, (p, t) in methods.items()}
            for target, methods in pooled.items()}


def sample_check(work, model_paths, baselines, p0):
    """RIMD / RIBUD of the shipped ensembles on the project's synthetic sample vs its truth."""
    from imperviousness_plugin.core.unet.predict import run_predict
    from imperviousness_plugin.core.features.preprocess import PreprocessOptions, run_preprocess
    from imperviousness_plugin.core.io.raster import Grid, open_raster
    from tools.sampledata import generate_sample

    sample_dir = work / "sample"
    sample = generate_sample(sample_dir)
    year_a, year_b = sample["years"]
    reference = Grid.of_dataset(open_raster(sample_dir / "reference" / f"IMD_{year_a}_010m.tif"))
    pp = work / f"sample_PP_{year_b}_010m.tif"
    run_preprocess(str(sample_dir / "s2" / str(year_b)), str(pp),
                   PreprocessOptions(target_crs_wkt=reference.crs_wkt, extent=reference.bounds))
    results = {}
    for target, truth_name in (("IMD", f"IMD_{year_b}_010m.tif"), ("IBU", f"IBU_{year_b}_010m.tif")):
        output = work / f"sample_R{target}_{year_b}.tif"
        run_predict(str(pp), [str(p) for p in model_paths[target]], str(output))
        predicted = open_raster(output).ReadAsArray().astype(np.float64)
        truth_raster = open_raster(sample_dir / "truth" / truth_name).ReadAsArray().astype(np.float64)
        valid = (predicted != 255) & (truth_raster != 255)
        if target == "IMD":
            truth = truth_raster / 100.0
        else:
            truth = truth_raster * 1.0        # 0/1: F1 at 10 % counts 1 as built-up
        results[target] = {"unet_ensemble": tr.density_metrics(predicted / 100.0, truth, valid)}
        stack = open_raster(pp)
        from imperviousness_plugin.core.io.raster import band_descriptions
        names = band_descriptions(str(pp))
        bands = {name: stack.GetRasterBand(i + 1).ReadAsArray() for i, name in enumerate(names)}
        raw = np.stack([feature.compute(bands) for feature in FEATURES])
        ok = np.all(np.isfinite(raw), axis=0)
        for method, values in predict_baselines({target: baselines[target]}, p0,
                                                np.where(ok, raw, 0.0))[target].items():
            results[target][method] = tr.density_metrics(values, truth, valid & ok)
    results["note"] = (f"sampledata.generate_sample (300 x 300 px, seed 2021), PP {year_b} by "
                       "preprocess on the reference grid, predict with the shipped ensembles; "
                       f"truth/IMD_{year_b}_010m.tif and truth/IBU_{year_b}_010m.tif")
    return results


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def fmt(value, digits=2):
    return "n/a" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def write_readme(out_dir, evaluation):
    held = evaluation["held_out"]
    sample = evaluation["sample_check"]
    methods = [("unet_ensemble", "U-Net ensemble (3 members, shipped)"),
               ("unet_member_1", "U-Net member 1 alone"),
               ("gradient_boosting", "per-pixel gradient boosting, same 21 features"),
               ("ndvi_p0_linear", "per-pixel linear regression on NDVI_P0")]
    rows = []
    for key, label in methods:
        imd, ibu = held["IMD"].get(key, {}), held["IBU"].get(key, {})
        rows.append(f"| {label} | {fmt(imd.get('mae_pp'))} | {fmt(imd.get('rmse_pp'))} | "
                    f"{fmt(ibu.get('f1_at_10'), 3)} | {fmt(ibu.get('precision_at_10'), 3)} | "
                    f"{fmt(ibu.get('recall_at_10'), 3)} |")
    sample_rows = []
    for key, label in methods[:1] + methods[2:]:
        imd, ibu = sample["IMD"].get(key, {}), sample["IBU"].get(key, {})
        sample_rows.append(f"| {label} | {fmt(imd.get('mae_pp'))} | {fmt(ibu.get('f1_at_10'), 3)} |")
    info = evaluation["data"]
    text = f"""# Shipped U-Net models

**These models were trained on simulated data.** No public Sentinel-2 time series with HRL
Imperviousness labels was available to this project, so the training stacks are simulated: real
fraction maps (Copernicus HRL IMD, TCD and GRA 2018 and CORINE Land Cover 2018 over Malta) are
observed by the project's Sentinel-2 L2A simulator (clouds, shadows, SCL, processing baselines,
noise) with end-member spectra and crop phenology blended from the simulator's defaults and
values measured on real Sentinel-2 L2A series (../shared/data/s2), and pre-processed by the
plugin's own `preprocess` code. The same statement is in every model's metadata
(`hrl.training`). Accuracy on real scenes is unknown: check the models against reference data of
your area, and retrain or fine-tune them with `imperviousness:trainmodel` (INIT_MODEL) on your
own PP stack and reference.

| file | target | product | role |
|---|---|---|---|
| `hrl_imd_unet_m1.onnx` | IMD | RIMD | trained from scratch |
| `hrl_imd_unet_m2.onnx`, `hrl_imd_unet_m3.onnx` | IMD | RIMD | fine-tuned from m1 on other 80/20 splits (transfer learning), last weights kept |
| `hrl_ibu_unet_m1.onnx` | IBU | RIBUD | initialised from the IMD m1 weights (transfer across targets) |
| `hrl_ibu_unet_m2.onnx`, `hrl_ibu_unet_m3.onnx` | IBU | RIBUD | fine-tuned from IBU m1 on other splits, last weights kept |

Members 2 and 3 keep their last weights rather than those of their best validation loss: their
validation chunks were partly training chunks of member 1, so that choice would favour member 1's
unchanged weights and remove the ensemble's diversity. Member 1 keeps its best validation weights.

Give the three files of one target together to `imperviousness:predict` (MODELS) for the
ensemble mean, the SD and the confidence layer.

## Model contract

Each file carries its contract in the ONNX metadata (`hrl.*` keys, see
`imperviousness_plugin/core/unet/contract.py`): target, the 21 input features by PP band
description in input order (`Q20_B02 .. Q20_B12`, `Q90_NDVI`, `NDVI_P0 .. NDVI_P3`, and for each
harmonic k `NDVI_Ak x sin(NDVI_PHIk)` and `NDVI_Ak x cos(NDVI_PHIk)`; `NOBS` is not used),
standardisation (mean and SD of the training pixels), tile size 256, overlap 64, alignment 8,
output meaning (density 0..1, sigmoid) and training provenance with the metrics below.
Architecture: U-Net of depth 3, widths {', '.join(str(w) for w in evaluation['widths'])}, no normalisation layers, 10 % dropout in
training, {evaluation['parameters']} parameters, about {evaluation['file_kib']} KiB per file.

## Training data

{info['train_chunks']} chunks of 256 x 256 px (10 m) of the main island of Malta for training,
each simulated for one year (2018..2021, {info['dates_range']} acquisitions; per chunk the
end-members are the simulator's defaults or a random blend towards the real ones). Held out,
never seen in training or validation: **Gozo and Comino ({info['gozo_chunks']} chunks) and
{info['held_malta_chunks']} chunks of the main island** ({info['held_pixels']:,} land pixels).
Labels: IMD = paved + roof fraction, built-up density = roof fraction, both averaged onto the
PP's EEA grid; IBU = built-up density >= 10 %.

## Accuracy on the held-out areas (simulated scenes)

Pixel-pooled over the land pixels of the held-out chunks; the U-Nets run through the production
tiling of `imperviousness:predict`; both baselines are fitted on the same training chunks and
features in the same run. MAE and RMSE of IMD in percentage points; F1, precision and recall of
IBU at the 10 % threshold (SPEC 8).

| method | IMD MAE (pp) | IMD RMSE (pp) | IBU F1 @10 % | IBU precision | IBU recall |
|---|---|---|---|---|---|
{chr(10).join(rows)}

## Check on the project's synthetic sample

The demo's own sample (`sampledata.generate_sample`, 300 x 300 px, seed 2021) pre-processed for
2021 on its reference grid and predicted with the shipped ensembles, against
`truth/IMD_2021_010m.tif` and `truth/IBU_2021_010m.tif` (all valid pixels):

| method | IMD MAE (pp) | IBU F1 @10 % |
|---|---|---|
{chr(10).join(sample_rows)}

The sample's landscape is drawn differently from the Malta-derived training scenes (houses of
8..15 m on 26 m plots straddling pixel edges, a block-grid town core, industrial halls), so this
check shows how the models transfer to unseen patterns. Its truth IBU is binary (built-up share
>= 10 % after warping), the hardest target here: built-up pixels whose roof share is close to
10 % are where models and truth disagree most.

## Reproduce

```bash
.venv/bin/python -m pip install -r requirements-train.txt   # PyTorch CPU, onnx, scikit-learn
.venv/bin/python tools/train_shipped_models.py             # about {evaluation['minutes']:.0f} minutes on 2 cores
```

The script reads the real layers from `../shared/data` (never copied into the repository),
caches the simulated chunks in `build/model_training/`, and rewrites `models/*.onnx`,
`models/evaluation.json` and this file. Seeds are fixed; PyTorch on CPU may still differ in the
last bits between machines.
"""
    (out_dir / "README.md").write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--work", default=str(ROOT / "build" / "model_training"))
    parser.add_argument("--out", default=str(ROOT / "models"))
    parser.add_argument("--quick", action="store_true", help="a small smoke run (not for shipping)")
    parser.add_argument("--readme-only", action="store_true",
                        help="rewrite README.md from the existing evaluation.json, train nothing")
    args = parser.parse_args()
    if args.readme_only:
        out_dir = pathlib.Path(args.out)
        write_readme(out_dir, json.loads((out_dir / "evaluation.json").read_text()))
        return
    started = time.perf_counter()
    work, out_dir = pathlib.Path(args.work), pathlib.Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    tr.require_torch()

    layers = td.malta_layers(args.shared)
    real = td.real_endmembers(args.shared)
    train_origins, held_origins, gozo = plan_chunks(layers, args.quick)
    log(f"{len(train_origins)} training chunks, {len(held_origins)} held-out chunks")
    train_chunks = load_chunks(layers, real, train_origins, work / "chunks")
    held_chunks = load_chunks(layers, real, held_origins, work / "chunks")

    raw, valid, targets, land = training_arrays(train_chunks)
    mean, std = tr.normalisation_of(raw, valid)
    steps = {"first": 40, "ibu_first": 30, "fine": 20} if args.quick else \
        {"first": 3000, "ibu_first": 1500, "fine": 600}

    imd1 = train_member("hrl_imd_unet_m1", "IMD", raw, valid, targets, mean, std, 1,
                        steps["first"], None, 2e-3, args.quick)
    imd_members = [imd1] + [
        train_member(f"hrl_imd_unet_m{k}", "IMD", raw, valid, targets, mean, std, k, steps["fine"],
                     ("hrl_imd_unet_m1.onnx", imd1["weights"]), 1e-3, args.quick, False) for k in (2, 3)]
    ibu1 = train_member("hrl_ibu_unet_m1", "IBU", raw, valid, targets, mean, std, 4,
                        steps["ibu_first"], ("hrl_imd_unet_m1.onnx", imd1["weights"]), 2e-3, args.quick)
    ibu_members = [ibu1] + [
        train_member(f"hrl_ibu_unet_m{k}", "IBU", raw, valid, targets, mean, std, 3 + k, steps["fine"],
                     ("hrl_ibu_unet_m1.onnx", ibu1["weights"]), 1e-3, args.quick, False) for k in (2, 3)]

    baselines, p0 = fit_baselines(raw, valid & land, targets)
    chunk_summary = {"training": len(train_chunks), "held_out_gozo": len([o for o in held_origins if o in gozo]),
                     "held_out_malta": len([o for o in held_origins if o not in gozo]),
                     "held_out_origins": [list(o) for o in held_origins]}
    # First write without held-out metrics so the evaluation runs the real files.
    paths = write_members(imd_members + ibu_members, mean, std, {}, chunk_summary, out_dir)
    model_paths = {"IMD": paths[:3], "IBU": paths[3:]}
    ensembles = {target: load_ensemble([str(p) for p in model_paths[target]]) for target in model_paths}
    log("evaluating on the held-out chunks")
    held_out = evaluate(held_chunks, ensembles, baselines, p0)
    for target, methods in held_out.items():
        for method, metrics in methods.items():
            log(f"  {target} {method}: MAE {metrics['mae_pp']:.2f} pp, F1@10 {metrics['f1_at_10']:.3f}")
    summary = {target: {"mae_pp": held_out[target]["unet_ensemble"]["mae_pp"],
                        "f1_at_10": held_out[target]["unet_ensemble"]["f1_at_10"],
                        "area": "Gozo, Comino and 4 chunks of Malta (held out)"} for target in held_out}
    paths = write_members(imd_members + ibu_members, mean, std, summary, chunk_summary, out_dir)
    log("checking on the project's synthetic sample")
    sample = sample_check(work, model_paths, baselines, p0)
    for target in ("IMD", "IBU"):
        log(f"  sample {target}: {sample[target]['unet_ensemble']}")

    acquisitions = [c.info["acquisitions"] for c in train_chunks + held_chunks]
    evaluation = {
        "held_out": held_out, "sample_check": sample,
        "baselines": {target: {"ndvi_p0_linear": {"intercept": b["linear"][0], "slope": b["linear"][1]},
                               "gradient_boosting": "HistGradientBoostingRegressor(max_iter=300, "
                                                    "learning_rate=0.1, max_leaf_nodes=63), 400k pixels"}
                      for target, b in baselines.items()},
        "data": {"train_chunks": len(train_chunks), "gozo_chunks": chunk_summary["held_out_gozo"],
                 "held_malta_chunks": chunk_summary["held_out_malta"],
                 "held_pixels": int(held_out["IMD"]["unet_ensemble"]["pixels"]),
                 "dates_range": f"{min(acquisitions)}..{max(acquisitions)}",
                 "held_out_origins": chunk_summary["held_out_origins"]},
        "members": {m["name"]: {"best_step": m["result"].best_step, "steps": m["options"].steps,
                                "init": m["init"], "validation": m["result"].validation_metrics,
                                "seconds": round(m["result"].seconds, 1)}
                    for m in imd_members + ibu_members},
        "parameters": int(sum(np.prod(s) for s in tr.weight_shapes(imd1["spec"]).values())),
        "widths": list(imd1["spec"].widths),
        "file_kib": int(round(os.path.getsize(paths[0]) / 1024)),
        "minutes": (time.perf_counter() - started) / 60.0,
        "quick": bool(args.quick),
    }
    (out_dir / "evaluation.json").write_text(json.dumps(evaluation, indent=2, sort_keys=True, default=float))
    write_readme(out_dir, evaluation)
    log(f"done in {evaluation['minutes']:.1f} min; models in {out_dir}")


if __name__ == "__main__":
    main()
