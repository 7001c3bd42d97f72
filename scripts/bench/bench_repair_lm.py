#!/usr/bin/env python3
"""Least-squares repair on SmolLM2-135M: perplexity of one-shot structured pruning with and
without `--repair`, each conversion one whole process (`/usr/bin/time -v`: wall time and peak
RSS), too slow for the test suite (minutes per repaired conversion).

Calibration: N x 128 tokens of the Lee test documents (gensim's lee.cor); perplexity on 8 x 128
tokens of lee_background (the text the suite measures, not the calibration's).

Usage: python bench_repair_lm.py [--bin PATH] [--samples N] [--workdir DIR] [ARGS ...]
  ARGS: compression flags, one variant each, e.g. "--prune-ffn 0.25" (the default) or
  "--prune-heads 0.25"; every variant runs without and with --repair.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "Tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "scripts", "models"))

import lm_metrics  # noqa: E402
import smollm2_gguf_to_onnx as smollm2  # noqa: E402
import task_metrics  # noqa: E402

CTX, WINDOWS = 128, 8


def calibration(folder: str, tokenizer: str, samples: int) -> str:
    with open(task_metrics.trained_models.ensure("lee")["lee.cor"], "rb") as f:
        lee = lm_metrics.tokenize(f.read().decode("latin1"), tokenizer)
    for i in range(samples):
        os.makedirs(os.path.join(folder, str(i)), exist_ok=True)
        np.save(os.path.join(folder, str(i), "input_ids.npy"), np.array([lee[i * CTX:(i + 1) * CTX]], np.int64))
    return folder


def timed(argv: list[str]) -> tuple[subprocess.CompletedProcess, float, float]:
    t = time.time()
    p = subprocess.run(["/usr/bin/time", "-v", *argv], capture_output=True, text=True)
    rss = next((int(l.split(":")[1]) / 1024 for l in p.stderr.splitlines() if "Maximum resident" in l), float("nan"))
    return p, time.time() - t, rss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(REPO, ".build", "release", "onnx-slim"))
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--workdir")
    ap.add_argument("variants", nargs="*", default=["--prune-ffn 0.25"])
    a = ap.parse_args()
    work = a.workdir or tempfile.mkdtemp(prefix="bench_repair_lm_")
    lm = smollm2.ensure()
    tokens = lm_metrics.tokenize(lm_metrics.lee_background_text(), lm["tokenizer"])
    cal = calibration(os.path.join(work, "calibration"), lm["tokenizer"], a.samples)
    float_ppl = lm_metrics.perplexity(lm["model"], tokens, CTX, WINDOWS)
    print(f"SmolLM2-135M, float perplexity {float_ppl:.2f}; calibration {a.samples} x {CTX} tokens\n")
    print("| compression | repair | perplexity | × float | process s | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for variant in a.variants:
        for repair in [[], ["--repair"]]:
            out = os.path.join(work, "out.onnx")
            p, seconds, rss = timed([a.bin, "convert", lm["model"], out, *variant.split(), "--calibration", cal, *repair])
            if p.returncode != 0:
                print(f"| {variant} | {'yes' if repair else 'no'} | failed: {p.stderr.strip().splitlines()[-1][:120]} | | | |")
                continue
            ppl = lm_metrics.perplexity(out, tokens, CTX, WINDOWS)
            print(f"| {variant} | {'yes' if repair else 'no'} | {ppl:.2f} | {ppl / float_ppl:.2f} | {seconds:.0f} | {rss:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
