#!/usr/bin/env python3
"""Low-rank factorization of paraphrase-MiniLM-L3-v2 at 75% of its dense layers' parameters,
side by side in one run.

Each run is one whole process (`/usr/bin/time -v`: wall time and peak RSS include loading,
calibration on 32 lee_background sentences, the factorizations and writing). Quality is the
task metric on the trained model (mean sentence-embedding cosine to the float model over the
Lee documents and polarity sentences, and the Lee human-similarity correlation), plus size and
single-thread onnxruntime latency (median of --runs, interleaved rounds).

  onnx-slim whitened   --low-rank 0.75 (activation-aware SVD, ranks allocated across layers)
  onnx-slim plain      --low-rank 0.75 --low-rank-data none (plain SVD, same allocation)
  numpy uniform SVD    what a user script does without an optimizer: every MatMul weight
                       read with onnx, truncated by numpy's SVD at 75% of its own parameters
                       (one ratio per layer), written back as two MatMuls. No ONNX tool
                       factorizes dense layers (onnxsim's low-rank is int4 error compensation).

Usage: python bench_low_rank.py [--bin PATH] [--runs N] [--workdir DIR] [--keep 0.75]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from bench_pruning import evaluate, interleaved_latencies, timed  # noqa: E402
import task_metrics as tm  # noqa: E402


def numpy_uniform_svd(src: str, out: str, keep: float) -> None:
    """Every MatMul with a 2-D initializer weight W (m×n) of its own: rank ⌊keep·m·n/(m+n)⌋,
    W ≈ (U√Σ)(√ΣVᵀ), MatMul(x, W) → MatMul(MatMul(x, A), B)."""
    m = onnx.load(src)
    inits = {t.name: t for t in m.graph.initializer}
    uses: dict[str, int] = {}
    for n in m.graph.node:
        for i in n.input:
            uses[i] = uses.get(i, 0) + 1
    outputs = {o.name for o in m.graph.output}
    nodes = []
    for n in m.graph.node:
        w = inits.get(n.input[1]) if n.op_type == "MatMul" and len(n.input) > 1 else None
        if w is None or len(w.dims) != 2 or uses[w.name] != 1 or n.output[0] in outputs:
            nodes.append(n)
            continue
        a = numpy_helper.to_array(w).astype(np.float64)
        r = int(keep * a.shape[0] * a.shape[1] / sum(a.shape))
        u, s, vt = np.linalg.svd(a, full_matrices=False)
        root = np.sqrt(s[:r])
        first = numpy_helper.from_array((u[:, :r] * root).astype(np.float32), w.name + "_a")
        second = numpy_helper.from_array((root[:, None] * vt[:r]).astype(np.float32), w.name)
        m.graph.initializer.remove(inits[w.name])
        m.graph.initializer.extend([first, second])
        hidden = n.output[0] + "_low_rank"
        nodes.append(helper.make_node("MatMul", [n.input[0], first.name], [hidden]))
        nodes.append(helper.make_node("MatMul", [hidden, w.name], list(n.output), name=n.name))
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.save(m, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(REPO, ".build", "release", "onnx-slim"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--keep", type=float, default=0.75)
    ap.add_argument("--workdir")
    ap.add_argument("--peer-job", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer_job:
        spec = json.loads(args.peer_job)
        numpy_uniform_svd(spec["input"], spec["output"], spec["keep"])
        return
    work = args.workdir or tempfile.mkdtemp(prefix="bench_low_rank_")
    os.makedirs(work, exist_ok=True)
    float_path = tm.trained_models.ensure("minilm")["model"]
    calibration = os.path.join(work, "minilm_calibration")
    if not os.path.isdir(calibration):
        tm.write_minilm_calibration(calibration)
    feeds, _ = tm.minilm_feeds(tm.lee_data()[0][:1])
    rows = {"float": evaluate("minilm", float_path, float_path, feeds[0], args.runs)}
    keep = str(args.keep)
    for label, extra in [("onnx-slim whitened", []), ("onnx-slim plain", ["--low-rank-data", "none"])]:
        out = os.path.join(work, label.split()[1] + ".onnx")
        run = timed([args.bin, "convert", float_path, out, "--low-rank", keep, "--calibration", calibration, *extra])
        rows[label] = {**run, **(evaluate("minilm", out, float_path, feeds[0], args.runs) if run["rc"] == 0 else {})}
    out = os.path.join(work, "numpy.onnx")
    spec = {"input": float_path, "output": out, "keep": args.keep}
    run = timed([sys.executable, os.path.abspath(__file__), "--peer-job", json.dumps(spec)])
    rows["numpy uniform SVD"] = {**run, **(evaluate("minilm", out, float_path, feeds[0], args.runs) if run["rc"] == 0 else {})}
    interleaved_latencies(rows, feeds[0], args.runs)
    print(f"\n### MiniLM-L3, low rank at {args.keep:.0%} of the dense layers' parameters\n")
    print("| variant | params M | size MB | checker | emb cos | Lee r | latency ms (1 thread) | process s | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        m = r.get("metrics", {})
        cells = [name, f"{r['params'] / 1e6:.2f}" if "params" in r else "-", f"{r.get('bytes', 0) / 1e6:.1f}",
                 r.get("checker", r.get("stderr", "-")), f"{m['emb_cos_mean']:.4f}" if m else r.get("error", "-"),
                 f"{m['lee_pearson']:.4f}" if m else "-", f"{r['latency_ms']:.2f}" if r.get("latency_ms") else "-",
                 f"{r['seconds']:.1f}" if r.get("seconds") else "-", f"{r['rss_mb']:.0f}" if r.get("rss_mb") else "-"]
        print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
