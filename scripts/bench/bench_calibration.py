#!/usr/bin/env python3
"""Static int8 calibration: onnx-slim vs onnxruntime's quantize_static, side by side.

Model: BERT-base (12 layers, hidden 768, ~440 MB) exported by PyTorch (scripts/models/torch_bert.py,
cached in --workdir). Both tools calibrate on the same 32 samples (batch 1, sequence 128) with
min/max ranges and write a QDQ model. Each runs in its own process; we report its wall time and
peak resident memory (ru_maxrss of the child), the bound the issue sets (model size + 256 MiB),
and the cosine of each quantized model against the float model, both run by onnxruntime on 4
held-out samples.

Usage: python bench_calibration.py [--bin PATH] [--workdir DIR] [--size base|small] [--samples N]
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
import torch_bert  # noqa: E402

ORT_QUANTIZE = """
import sys, glob, os, numpy as np
from onnxruntime.quantization import quantize_static, CalibrationDataReader
folders = sorted(glob.glob(os.path.join(sys.argv[3], "*")))
class Reader(CalibrationDataReader):
    def __init__(self): self.it = iter(folders)
    def get_next(self):
        f = next(self.it, None)
        return None if f is None else {n[:-4]: np.load(os.path.join(f, n)) for n in os.listdir(f)}
quantize_static(sys.argv[1], sys.argv[2], Reader())
"""


def measured(args):
    """Runs a child process; returns (seconds, peak RSS in bytes). A fresh Python forks for each so
    RUSAGE_CHILDREN's max is that child's own."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "r = subprocess.run(sys.argv[1:]); dt = time.perf_counter() - t; "
             "print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")
    proc = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {proc.stderr.strip()[-2000:]}")
    seconds, kib = proc.stdout.strip().splitlines()[-1].split()
    return float(seconds), int(kib) * 1024


def cosines(reference, candidate, feeds):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 4
    a, b = ort.InferenceSession(reference, so), ort.InferenceSession(candidate, so)
    worst = None
    for feed in feeds:
        for x, y in zip(a.run(None, feed), b.run(None, feed)):
            x, y = x.astype(np.float64).ravel(), y.astype(np.float64).ravel()
            c = float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))
            worst = c if worst is None else min(worst, c)
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=".build/release/onnx-slim")
    ap.add_argument("--workdir", default="/tmp/onnx-slim-bench")
    ap.add_argument("--size", default="base", choices=sorted(torch_bert.SIZES))
    ap.add_argument("--samples", type=int, default=32)
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    os.makedirs(args.workdir, exist_ok=True)
    model = os.path.join(args.workdir, f"torch_bert_{args.size}.onnx")
    if not os.path.exists(model):
        import warnings
        warnings.filterwarnings("ignore")
        torch_bert.export(model, args.size)
    vocab = torch_bert.SIZES[args.size]["vocab_size"]
    size = os.path.getsize(model)
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        calib = os.path.join(tmp, "calibration")
        for k in range(args.samples):
            folder = os.path.join(calib, f"s{k:02d}")
            os.makedirs(folder)
            for name, v in torch_bert.sample(rng, vocab).items():
                np.save(os.path.join(folder, f"{name}.npy"), v)
        held_out = [torch_bert.sample(rng, vocab) for _ in range(4)]
        ours, theirs = os.path.join(tmp, "slim.onnx"), os.path.join(tmp, "ort.onnx")
        rows = []
        t, rss = measured([binary, "convert", model, ours, "--quantize", "int8", "--int8-mode", "static",
                           "--calibration", calib, "--calibration-method", "minmax"])
        rows.append(("onnx-slim", t, rss, cosines(model, ours, held_out)))
        t, rss = measured([sys.executable, "-c", ORT_QUANTIZE, model, theirs, calib])
        rows.append(("onnxruntime quantize_static", t, rss, cosines(model, theirs, held_out)))
    bound = size + 256 * 2**20
    print(f"model {os.path.basename(model)}: {size / 2**20:.0f} MiB; {args.samples} calibration samples; "
          f"RSS bound (model + 256 MiB) {bound / 2**20:.0f} MiB")
    print("\n| tool | time | peak RSS | RSS over model | min cosine (4 held-out) |")
    print("|---|---|---|---|---|")
    for name, t, rss, cos in rows:
        print(f"| {name} | {t:.1f} s | {rss / 2**20:.0f} MiB | {(rss - size) / 2**20:+.0f} MiB | {cos:.5f} |")
    (_, t0, r0, _), (_, t1, r1, _) = rows
    print(f"\nonnx-slim / onnxruntime: time {t0 / t1:.2f}x, peak RSS {r0 / r1:.2f}x; "
          f"within bound: {'yes' if r0 <= bound else 'NO'}")


if __name__ == "__main__":
    main()
