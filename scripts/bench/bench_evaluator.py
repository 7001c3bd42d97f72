#!/usr/bin/env python3
"""Evaluator latency: `onnx-slim run` vs onnxruntime, single-threaded, side by side.

Models (generated and cached by models.py): the ~90 MB BERT-style transformer at batch 1 x
sequence 128, and the YOLO-style CNN (1x3x320x320). For each, in alternating rounds:

  slim        onnx-slim run --threads 1 --repeat R (the evaluator's own median over R runs, after
              one warm-up run inside the same process; model loading excluded)
  ort-noopt   onnxruntime, one intra-op thread, graph optimizations disabled (ORT_DISABLE_ALL)
  ort-opt     onnxruntime, one intra-op thread, all graph optimizations (ORT_ENABLE_ALL)

Reported: median latency of each over the rounds, and the ratios slim / ort-noopt (the issue's
bound is 2x) and slim / ort-opt. Outputs of slim and ort-noopt are compared as a sanity check.

Usage: python bench_evaluator.py [--bin PATH] [--workdir DIR] [--models bert,yolo] [--rounds N] [--runs R]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402


def ort_session(path, optimize):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 4
    so.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                   else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_median(session, feed, runs):
    session.run(None, feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def slim_median(binary, path, folder, runs, outputs=None):
    args = [binary, "run", path, "--inputs", folder, "--threads", "1", "--repeat", str(runs + 1), "--json"]
    if outputs:
        args += ["--outputs", outputs]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip())
    return json.loads(proc.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=".build/release/onnx-slim")
    ap.add_argument("--workdir", default="/tmp/onnx-slim-bench")
    ap.add_argument("--models", default="bert,yolo")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    os.makedirs(args.workdir, exist_ok=True)
    rows = []
    for name in args.models.split(","):
        path = models.ensure(name, args.workdir)
        feed = models.feeds(name)[0]
        with tempfile.TemporaryDirectory() as tmp:
            inputs = os.path.join(tmp, "in")
            os.makedirs(inputs)
            for k, v in feed.items():
                np.save(os.path.join(inputs, f"{k}.npy"), v)
            noopt, opt = ort_session(path, False), ort_session(path, True)
            times = {"slim": [], "ort-noopt": [], "ort-opt": []}
            written = None
            for r in range(args.rounds):
                report = slim_median(binary, path, inputs, args.runs, os.path.join(tmp, "out") if r == 0 else None)
                written = written or report
                times["slim"].append(report["seconds"])
                times["ort-noopt"].append(ort_median(noopt, feed, args.runs))
                times["ort-opt"].append(ort_median(opt, feed, args.runs))
            expected = noopt.run(None, feed)
            ours = [np.load(os.path.join(tmp, "out", os.path.basename(o["file"]))) for o in written["outputs"]]
            err = max(float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-6)) for a, b in zip(ours, expected))
        med = {k: statistics.median(v) for k, v in times.items()}
        rows.append((name, med, err))
        print(f"{name} (OpenBLAS kernels: {written.get('blas_core', '?')}): slim {med['slim'] * 1e3:.1f} ms, ort-noopt {med['ort-noopt'] * 1e3:.1f} ms, "
              f"ort-opt {med['ort-opt'] * 1e3:.1f} ms; slim/ort-noopt {med['slim'] / med['ort-noopt']:.2f}x, "
              f"slim/ort-opt {med['slim'] / med['ort-opt']:.2f}x; max relative difference {err:.2g}", flush=True)
    print("\n| model | onnx-slim run | ORT no opt | ORT all opt | vs no opt | vs all opt |")
    print("|---|---|---|---|---|---|")
    for name, med, _ in rows:
        print(f"| {name} | {med['slim'] * 1e3:.1f} ms | {med['ort-noopt'] * 1e3:.1f} ms | {med['ort-opt'] * 1e3:.1f} ms "
              f"| {med['slim'] / med['ort-noopt']:.2f}x | {med['slim'] / med['ort-opt']:.2f}x |")


if __name__ == "__main__":
    main()
