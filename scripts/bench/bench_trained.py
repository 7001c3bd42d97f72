#!/usr/bin/env python3
"""Every `--quantize` format of onnx-slim on the trained models, with task-level accuracy.

Models (scripts/models/trained_models.py, built from PyPI wheels into the model cache):
paraphrase-MiniLM-L3-v2 (sentence embeddings), EfficientNet-Lite0 (ImageNet classifier),
Open-NSFW (ResNet-50-thin, NHWC); and SmolLM2-135M (decoder LM, scripts/models/smollm2_gguf_to_onnx.py).
Metrics (Tests/integration/task_metrics.py, lm_metrics.py) on real data: gensim's Lee corpus with
human similarity ratings and Pang-Lee polarity sentences; scikit-image and matplotlib photos with
deterministic augmentations; perplexity on 8 x 128 tokens of gensim's lee_background text.

Variants: float; onnx-slim --quantize int8 (--int8-mode auto, weight-only, dynamic, folded), uint8,
int4, uint4, fp8, fp16, bf16; onnxruntime's quantize_dynamic() with its defaults and with
per_channel=True, reduce_range=True. For each: whether the conversion succeeded, file size,
onnx.checker full_check, whether onnxruntime loads and runs it, the task metrics against the float
model, and single-thread onnxruntime latency on one sample (median of --runs runs after a warm-up;
for SmolLM2 a 128-token prefill).
Failures are recorded in the table, never raised. Prints one markdown table per model.

Usage: python bench_trained.py [--bin PATH] [--models minilm,efficientnet_lite0,open_nsfw,smollm2]
                               [--runs N] [--workdir DIR] [--json-out FILE]
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
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "Tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "scripts", "models"))
import lm_metrics  # noqa: E402
import smollm2_gguf_to_onnx as smollm2  # noqa: E402
import task_metrics as tm  # noqa: E402
import trained_models  # noqa: E402

LM = "smollm2"
LM_CTX, LM_WINDOWS = 128, 8
MODELS = [*tm.METRICS, LM]
_lm_cache: dict = {}


def lm_tokens() -> list[int]:
    if "tokens" not in _lm_cache:
        _lm_cache["tokens"] = lm_metrics.tokenize(lm_metrics.lee_background_text(), smollm2.ensure()["tokenizer"])
    return _lm_cache["tokens"]


def source_model(name: str) -> str:
    return smollm2.ensure()["model"] if name == LM else trained_models.ensure(name)["model"]


def metrics(name: str, path: str, src: str) -> dict:
    if name != LM:
        return tm.task_metrics(name, path, src)
    def ppl(p):
        return float(np.exp(np.mean(lm_metrics.window_nlls(lm_metrics.session(p), lm_tokens(), LM_CTX, LM_WINDOWS))))
    if "float" not in _lm_cache:
        _lm_cache["float"] = ppl(src)
    value = ppl(path)
    return {"perplexity": value, "ppl_ratio": value / _lm_cache["float"]}

SLIM_VARIANTS = [
    ("int8 auto", ["--quantize", "int8", "--int8-mode", "auto"]),
    ("int8 weight-only", ["--quantize", "int8", "--int8-mode", "weight-only"]),
    ("int8 dynamic", ["--quantize", "int8", "--int8-mode", "dynamic"]),
    ("int8 folded", ["--quantize", "int8", "--int8-mode", "folded"]),
    ("uint8", ["--quantize", "uint8"]),
    ("int4", ["--quantize", "int4"]),
    ("uint4", ["--quantize", "uint4"]),
    ("fp8", ["--quantize", "fp8"]),
    ("fp16", ["--quantize", "fp16"]),
    ("bf16", ["--quantize", "bf16"]),
]
ORT_VARIANTS = [
    ("ort quantize_dynamic()", {}),
    ("ort quantize_dynamic(pc, rr)", {"per_channel": True, "reduce_range": True}),
]
# metric columns per model: (key, header, format)
COLUMNS = {
    "minilm": [("emb_cos_mean", "emb cos mean", ".4f"), ("emb_cos_min", "emb cos min", ".4f"),
               ("lee_pearson", "Lee r", ".4f"), ("polarity_knn_acc", "polarity 5-NN", ".3f")],
    "efficientnet_lite0": [("top1_agree", "top-1 agree", ".3f"), ("top5_overlap", "top-5 overlap", ".3f"),
                           ("prob_cos_mean", "prob cos", ".4f"), ("kl_mean", "KL", ".4f")],
    "open_nsfw": [("p_nsfw_mad", "P(NSFW) MAD", ".4f"), ("p_nsfw_max_diff", "max diff", ".4f"),
                  ("logodds_mad", "log-odds MAD", ".3f"), ("argmax_agree", "argmax agree", ".3f")],
    LM: [("perplexity", "perplexity", ".2f"), ("ppl_ratio", "perplexity ×", ".3f")],
}


def first_line(text: str, limit: int = 90) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    line = lines[-1] if lines else ""
    return (line[:limit - 3] + "...") if len(line) > limit else line


def latency_feed(name: str) -> dict:
    """One sample: the first Lee document (up to 128 tokens), 128 tokens of text, or the first photo."""
    if name == LM:
        return {"input_ids": np.array(lm_tokens()[:LM_CTX], np.int64)[None]}
    if name == "minilm":
        docs, *_ = tm.lee_data()
        feeds, _ = tm.minilm_feeds([docs[0]])
        return feeds[0]
    _, x = tm.image_batch(name)
    return {("input" if name == "efficientnet_lite0" else "input_0"): x[:1]}


def latency_ms(path: str, feed: dict, runs: int) -> float:
    sess = tm.session(path)
    sess.run(None, feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def convert(kind: str, src: str, dst: str, binary: str, args) -> tuple[bool, str, float]:
    t = time.perf_counter()
    if kind == "slim":
        p = subprocess.run([binary, src, dst, *args], capture_output=True, text=True, timeout=600)
        ok = p.returncode == 0 and os.path.isfile(dst)
        msg = "" if ok else f"exit {p.returncode}: {first_line(p.stderr or p.stdout)}"
    else:
        code = ("import sys, json\nfrom onnxruntime.quantization import quantize_dynamic\n"
                "quantize_dynamic(sys.argv[1], sys.argv[2], **json.loads(sys.argv[3]))\n")
        p = subprocess.run([sys.executable, "-c", code, src, dst, json.dumps(args)],
                           capture_output=True, text=True, timeout=600)
        ok = p.returncode == 0 and os.path.isfile(dst)
        msg = "" if ok else first_line(p.stderr or p.stdout)
    return ok, msg, time.perf_counter() - t


def measure(name: str, label: str, path: str, src: str, feed: dict, runs: int) -> dict:
    row = {"variant": label, "bytes": os.path.getsize(path)}
    try:
        onnx.checker.check_model(path, full_check=True)
        row["checker"] = "pass"
    except Exception as e:  # noqa: BLE001 - recorded
        row["checker"] = "FAIL"
        row["checker_error"] = first_line(e)
    try:
        tm.session(path).run(None, feed)
        row["ort"] = "runs"
    except Exception as e:  # noqa: BLE001 - recorded
        row["ort"] = "FAIL"
        row["ort_error"] = first_line(e)
        return row
    row["metrics"] = metrics(name, path, src)
    row["latency_ms"] = latency_ms(path, feed, runs)
    return row


def bench_model(name: str, binary: str, workdir: str, runs: int) -> list[dict]:
    src = source_model(name)
    feed = latency_feed(name)
    rows = [measure(name, "float", src, src, feed, runs)]
    plans = [("slim", label, args) for label, args in SLIM_VARIANTS]
    plans += [("ort", label, kw) for label, kw in ORT_VARIANTS]
    for i, (kind, label, args) in enumerate(plans):
        dst = os.path.join(workdir, f"{name}-{i}.onnx")
        for stale in (dst, dst + ".data"):
            if os.path.exists(stale):
                os.remove(stale)
        ok, msg, seconds = convert(kind, src, dst, binary, args)
        if not ok:
            rows.append({"variant": label, "convert_error": msg, "convert_s": seconds})
        else:
            row = measure(name, label, dst, src, feed, runs)
            row["convert_s"] = seconds
            rows.append(row)
        print(f"[bench_trained] {name} {label}: "
              f"{rows[-1].get('convert_error') or rows[-1].get('ort_error') or 'ok'}",
              file=sys.stderr, flush=True)
    return rows


def table(name: str, rows: list[dict]) -> str:
    cols = COLUMNS[name]
    base = rows[0]
    head = (["variant", "size MB", "size ×", "checker", "ORT"] + [c[1] for c in cols]
            + ["latency ms", "speed ×", "convert s"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if "convert_error" in r:
            cells = [r["variant"], "—", "—", "—", "—"] + ["—"] * len(cols) + ["—", "—",
                                                                            f"{r['convert_s']:.1f}"]
            cells[3] = f"convert failed: {r['convert_error']}"
        else:
            m = r.get("metrics", {})
            lat = r.get("latency_ms")
            cells = [r["variant"], f"{r['bytes'] / 1e6:.2f}", f"{r['bytes'] / base['bytes']:.3f}",
                     r["checker"] + (f" ({r['checker_error']})" if "checker_error" in r else ""),
                     r["ort"] + (f" ({r['ort_error']})" if "ort_error" in r else "")]
            cells += [format(m[k], f) if k in m else "—" for k, _, f in cols]
            cells += [f"{lat:.2f}" if lat is not None else "—",
                      f"{base['latency_ms'] / lat:.2f}" if lat and base.get("latency_ms") else "—",
                      f"{r['convert_s']:.1f}" if "convert_s" in r else "—"]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, ".build", "release", "onnx-slim"))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--runs", type=int, default=20, help="latency runs per variant (median)")
    ap.add_argument("--workdir", default=None, help="where converted models go (default: a temp dir)")
    ap.add_argument("--json-out", default=None)
    args = ap.parse_args()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown models {unknown} (known: {', '.join(MODELS)})")
    if not os.path.isfile(args.bin):
        ap.error(f"onnx-slim binary not found at {args.bin} (--bin)")
    workdir = args.workdir or tempfile.mkdtemp(prefix="bench-trained-")
    os.makedirs(workdir, exist_ok=True)
    results = {}
    for name in names:
        results[name] = bench_model(name, args.bin, workdir, args.runs)
    for name in names:
        print(f"\n### {name}  (latency: batch 1, one onnxruntime thread; metrics vs. the float model)\n")
        print(table(name, results[name]))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
