"""Benchmark of imperviousness:trainmodel (issue 23): wall time, peak memory, held-out metrics.

One training run with the defaults (TrainOptions(): 3 members of 600 steps of 8 patches of 128 px,
at most 400 training patches per member) on a PP stack and its IMD reference, in this process:
wall time in total and per member, peak RSS (VmHWM: interpreter, torch, GDAL and the patches)
and the held-out table of the U-Net ensemble against the per-pixel baseline by density class.
Targets (issue 23): peak RSS < 2 GB at any area, <= 10 min per member on 2 cores.

Synthetic areas of any size: `PYTHONPATH=. .venv/bin/python tools/training_data.py FOLDER SIZE SEED`
writes FOLDER/pp.tif and FOLDER/imd.tif (a full 10980 px tile is ~8 GB: put it in /tmp, delete it
afterwards).

Run: `PYTHONPATH=. .venv/bin/python benchmarks/bench_training.py PP REFERENCE [MEMBERS [STEPS [THREADS [INIT_MODEL]]]]`
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from imperviousness_plugin.core.unet import training  # noqa: E402


def peak_rss_mib():
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class Log:
    def __init__(self):
        self.started = time.perf_counter()

    def setProgress(self, percent):
        pass

    def isCanceled(self):
        return False

    def pushInfo(self, message):
        print(f"[{time.perf_counter() - self.started:7.1f} s wall, {time.process_time():7.1f} s CPU, "
              f"{peak_rss_mib():6.0f} MiB] {message}", flush=True)

    pushWarning = pushInfo


def table(held_out):
    rows = [("all", held_out["unet_ensemble"], held_out["baseline"])]
    rows += [(name, held_out["unet_ensemble"]["by_class"][name], held_out["baseline"]["by_class"][name])
             for name in held_out["unet_ensemble"]["by_class"]]
    lines = ["| density class | pixels | U-Net MAE | baseline MAE | U-Net RMSE | baseline RMSE | U-Net bias | baseline bias |",
             "|---|---|---|---|---|---|---|---|"]
    for name, unet, base in rows:
        lines.append(f"| {name} | {unet.get('pixels', 0)} | {unet.get('mae_pp', float('nan')):.2f} | "
                     f"{base.get('mae_pp', float('nan')):.2f} | {unet.get('rmse_pp', float('nan')):.2f} | "
                     f"{base.get('rmse_pp', float('nan')):.2f} | {unet.get('bias_pp', float('nan')):+.2f} | "
                     f"{base.get('bias_pp', float('nan')):+.2f} |")
    unet, base = held_out["unet_ensemble"], held_out["baseline"]
    lines.append(f"IBU (>= 10 %): U-Net precision {unet['precision_at_10']:.3f} recall {unet['recall_at_10']:.3f} "
                 f"F1 {unet['f1_at_10']:.3f}; baseline precision {base['precision_at_10']:.3f} recall "
                 f"{base['recall_at_10']:.3f} F1 {base['f1_at_10']:.3f}")
    return "\n".join(lines)


def main(pp, reference, members=3, steps=600, threads=2, init_model=None):
    options = training.TrainOptions(members=int(members), steps=int(steps), threads=int(threads))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="train-bench-") as folder:
        result = training.run_train_model(pp, reference, "IMD", os.path.join(folder, "imd.onnx"),
                                          init_model=init_model, options=options, feedback=Log())
    wall = time.perf_counter() - started
    print(f"\n{steps} steps, {threads} thread(s): wall {wall:.0f} s for {members} member(s) ({result['seconds'] / int(members):.0f} s of "
          f"fitting per member), {time.process_time():.0f} s CPU, peak RSS {peak_rss_mib():.0f} MiB "
          f"(target < 2048 MiB); load "
          f"{os.getloadavg()[0]:.1f}")
    print(f"patches of member 1: {result['patches'][0]} training, {result['patches'][1]} validation, "
          f"{result['patches'][2]} held-out")
    print(table(result["held_out"]))
    if result["held_out"]["warning"]:
        print("WARNING:", result["held_out"]["warning"])


if __name__ == "__main__":
    main(*sys.argv[1:])
