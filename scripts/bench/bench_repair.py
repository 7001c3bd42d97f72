#!/usr/bin/env python3
"""4-bit weight quantization with and without GPTQ-style repair, onnx-slim against its peers,
side by side on trained models.

Every conversion is one whole process (os.wait4 on the child, as bench_io.py's run_once: wall
time and peak RSS include loading, calibration and writing). Per variant: file size as written
(embedding tables and any external .data file included), what the weights are stored as, the task
metric against the float model, single-thread onnxruntime latency on one sample (median of --runs
after 3 warm-up runs, in 3 interleaved rounds: bench_pruning.interleaved_latencies), convert
seconds and peak RSS. Failures (non-zero exit, --timeout, a model onnxruntime cannot load) are
recorded in the table, never raised.

Models and calibration (the same samples for every calibrated variant):
  minilm    paraphrase-MiniLM-L3-v2 (a raw torch export, opset 17). Calibration: 32 sentences of
            gensim's lee_background (tm.write_minilm_calibration). Metric: cosine of the sentence
            embedding to the float model's (mean, min) and the Lee similarity correlation, on the
            50 Lee documents and 200 polarity sentences. Latency: the first Lee document.
  smollm2   SmolLM2-135M (scripts/models/smollm2_gguf_to_onnx.py, opset 17). Calibration:
            32 x 128 tokens of the Lee test documents (gensim's lee.cor, not the perplexity text),
            one folder per sample with input_ids.npy [1, 128]. Metric: perplexity on 8 x 128
            tokens of lee_background and its ratio to the float model's. Latency: a 128-token
            prefill.

Variants (int4, blocks of 32 along the summed axis, symmetric unless said):
  onnx-slim RTN             convert --quantize int4
  onnx-slim GPTQ            convert --quantize int4 --repair --calibration CAL
  onnx-slim RTN, emb int8   convert --quantize int4 --embedding-format int8
  onnx-slim GPTQ, emb int8  convert --quantize int4 --embedding-format int8 --repair --calibration CAL
  onnx-slim GPTQ, emb float convert --quantize int4 --embedding-format float --repair --calibration CAL
                            (tables kept float32, as the peers keep them: MatMuls compared alone)
  onnx-slim GPTQ, float zero points (emb int8 / emb float)
                            the same with --float-zero-points (a float offset per block, as HQQ)
  ort RTN / HQQ / GPTQ      onnxruntime.quantization.matmul_nbits_quantizer.MatMulNBitsQuantizer
                            (bits=4, block_size=32, is_symmetric=True): the default algorithm
                            (round to nearest), HQQWeightOnlyQuantConfig(block_size=32, bits=4)
                            (asymmetric by construction), GPTQWeightOnlyQuantConfig (its bundled
                            neural_compressor port; percdamp 0.01, column block 128, no act-order)
                            reading CAL. MatMul only: embedding tables stay float32.
  onnxsim RTN / GPTQ / AWQ  onnxsim 0.8.1: quantize_weight_only_int4 (int4 DequantizeLinear, block
                            32, symmetric; needs opset 21, so the model is first upgraded with
                            onnx.version_converter, inside the timed process), then apply_gptq /
                            apply_awq(float, quantized, calibration_data=CAL as a list of
                            {input: array}) with their defaults. Embedding tables stay float32.
  onnxsim HQQ               quantize_weight_only_int4_hqq (block 32, asymmetric): it writes the
                            dequantized weights back as float32 (simulated int4: no size gain).
Peers run as `python -c CODE SRC DST CAL` so their time and RSS are whole-process too.

Peers: `pip install -r scripts/bench/requirements-bench.txt` into the venv (onnxsim; onnx-ir,
which onnxruntime's matmul_nbits_quantizer imports; its HQQ path imports torch, which the test
venv has).

Usage: python bench_repair.py [--bin PATH] [--models minilm,smollm2] [--runs N] [--workdir DIR]
                              [--json-out FILE] [--variants KEY,...] [--timeout S]
  --variants takes keys or key prefixes: slim-rtn, slim-gptq, slim-rtn-emb8, slim-gptq-emb8, slim-gptq-embf,
  slim-fzp-gptq-emb8, slim-fzp-gptq-embf,
  ort-rtn, ort-hqq, ort-gptq, onnxsim-rtn, onnxsim-gptq, onnxsim-awq, onnxsim-hqq (e.g. "slim,ort").
"""
import argparse
import collections
import json
import os
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
import lm_metrics  # noqa: E402
import smollm2_gguf_to_onnx as smollm2  # noqa: E402
import task_metrics as tm  # noqa: E402
from bench_pruning import interleaved_latencies  # noqa: E402

MODELS = ["minilm", "smollm2"]
LM_CTX, LM_WINDOWS, LM_SAMPLES = 128, 8, 32

# Shared by every peer: argv = SRC DST CAL; CAL as onnxsim takes it (a list of {input: array}).
PEER_PRELUDE = r"""
import os, sys
import numpy as np
import onnx
src, dst, cal = sys.argv[1:4]
def load_samples(folder):
    out = []
    for sub in sorted(os.listdir(folder)):
        d = os.path.join(folder, sub)
        out.append({f[:-4]: np.load(os.path.join(d, f)) for f in sorted(os.listdir(d)) if f.endswith(".npy")})
    return out
"""
ORT_CODE = PEER_PRELUDE + r"""
import logging
from onnxruntime.quantization import matmul_nbits_quantizer as mnq
from onnxruntime.quantization.calibrate import CalibrationDataReader
logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
class Reader(CalibrationDataReader):
    def __init__(self, samples):
        self.samples, self.i = samples, 0
    def get_next(self):
        self.i += 1
        return self.samples[self.i - 1] if self.i <= len(self.samples) else None
algo = sys.argv[4]
config = {"rtn": lambda: None,
          "hqq": lambda: mnq.HQQWeightOnlyQuantConfig(block_size=32, bits=4),
          "gptq": lambda: mnq.GPTQWeightOnlyQuantConfig(calibration_data_reader=Reader(load_samples(cal)))}[algo]()
q = mnq.MatMulNBitsQuantizer(src, bits=4, block_size=32, is_symmetric=True, algo_config=config)
q.process()
m = q.model
while not isinstance(m, onnx.ModelProto):  # ONNXModel (or neural_compressor's) around the proto
    m = m.model
onnx.save(m, dst)
"""
ONNXSIM_CODE = PEER_PRELUDE + r"""
import onnxsim
algo = sys.argv[4]
m = onnx.version_converter.convert_version(onnx.load(src), 21)  # int4 DequantizeLinear needs 21
if algo == "hqq":
    out = onnxsim.quantize_weight_only_int4_hqq(m, block_size=32)
else:
    out = onnxsim.quantize_weight_only_int4(m)
    if algo == "gptq":
        out = onnxsim.apply_gptq(m, out, calibration_data=load_samples(cal))
    elif algo == "awq":
        out = onnxsim.apply_awq(m, out, calibration_data=load_samples(cal))
onnx.save(out, dst)
"""

# (key, label, kind, args): kind "slim" takes CLI flags (CAL is replaced by the folder), the others
# the algorithm name passed to their CODE.
VARIANTS = [
    ("slim-rtn", "onnx-slim RTN", "slim", ["--quantize", "int4"]),
    ("slim-gptq", "onnx-slim GPTQ (--repair)", "slim", ["--quantize", "int4", "--repair", "--calibration", "CAL"]),
    ("slim-rtn-emb8", "onnx-slim RTN, emb int8", "slim", ["--quantize", "int4", "--embedding-format", "int8"]),
    ("slim-gptq-emb8", "onnx-slim GPTQ (--repair), emb int8", "slim",
     ["--quantize", "int4", "--embedding-format", "int8", "--repair", "--calibration", "CAL"]),
    ("slim-gptq-embf", "onnx-slim GPTQ (--repair), emb float", "slim",
     ["--quantize", "int4", "--embedding-format", "float", "--repair", "--calibration", "CAL"]),
    ("slim-fzp-gptq-emb8", "onnx-slim GPTQ, float zero points, emb int8", "slim",
     ["--quantize", "int4", "--float-zero-points", "--embedding-format", "int8", "--repair", "--calibration", "CAL"]),
    ("slim-fzp-gptq-embf", "onnx-slim GPTQ, float zero points, emb float", "slim",
     ["--quantize", "int4", "--float-zero-points", "--embedding-format", "float", "--repair", "--calibration", "CAL"]),
    ("ort-rtn", "ort MatMulNBits RTN", "ort", "rtn"),
    ("ort-hqq", "ort MatMulNBits HQQ", "ort", "hqq"),
    ("ort-gptq", "ort MatMulNBits GPTQ", "ort", "gptq"),
    ("onnxsim-rtn", "onnxsim int4 RTN", "onnxsim", "rtn"),
    ("onnxsim-gptq", "onnxsim int4 GPTQ", "onnxsim", "gptq"),
    ("onnxsim-awq", "onnxsim int4 AWQ", "onnxsim", "awq"),
    ("onnxsim-hqq", "onnxsim int4 HQQ (float32 weights)", "onnxsim", "hqq"),
]
# metric columns per model: (key, header, format)
COLUMNS = {
    "minilm": [("emb_cos_mean", "emb cos mean", ".4f"), ("emb_cos_min", "emb cos min", ".4f"),
               ("lee_pearson", "Lee r", ".4f")],
    "smollm2": [("perplexity", "perplexity", ".2f"), ("ppl_ratio", "perplexity ×", ".3f")],
}
_lm_cache: dict = {}


def first_line(text: str, limit: int = 110) -> str:
    """The last non-empty line of an error text (a traceback's exception line), shortened."""
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    line = lines[-1] if lines else ""
    return (line[:limit - 3] + "...") if len(line) > limit else line


def run_timed(argv: list[str], timeout: float, stdout_path: str | None = None) -> dict:
    """Runs argv as a grandchild through bench_io.py's WRAPPER: exit code, wall seconds, its peak
    RSS (ru_maxrss from os.wait4 in the small wrapper: Linux carries a parent's peak RSS into the
    children it forks, and this process holds the float LM) and the end of its stderr; its stdout
    goes to `stdout_path` (else discarded: the shell execs argv, so the measured process is
    argv's). Killed after `timeout` seconds."""
    import signal
    from bench_io import WRAPPER
    if stdout_path:
        argv = ["/bin/sh", "-c", 'out="$1"; shift; exec "$@" > "$out"', "sh", stdout_path, *argv]
    t = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", WRAPPER, *argv], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return {"rc": -9, "seconds": time.perf_counter() - t, "rss_mb": float("nan"), "timed_out": True, "stderr": ""}
    r = json.loads(out.decode().strip().splitlines()[-1])
    return {"rc": r["rc"], "seconds": r["wall"], "rss_mb": r["maxrss_kb"] / 1024, "timed_out": False,
            "stderr": r["err"][-4000:]}


def model_files(path: str) -> list[str]:
    """The model file and the external data files its tensors name."""
    m = onnx.load(path, load_external_data=False)
    files = {os.path.join(os.path.dirname(path), kv.value)
             for t in m.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL
             for kv in t.external_data if kv.key == "location"}
    return [path, *sorted(files)]


BITS = {onnx.TensorProto.INT4: 4, onnx.TensorProto.UINT4: 4, onnx.TensorProto.INT8: 8, onnx.TensorProto.UINT8: 8,
        onnx.TensorProto.FLOAT8E4M3FN: 8, onnx.TensorProto.BOOL: 8, onnx.TensorProto.FLOAT16: 16,
        onnx.TensorProto.BFLOAT16: 16, onnx.TensorProto.FLOAT: 32, onnx.TensorProto.INT32: 32,
        onnx.TensorProto.INT64: 64, onnx.TensorProto.DOUBLE: 64}
NAMES = {onnx.TensorProto.FLOAT: "fp32", onnx.TensorProto.FLOAT16: "fp16", onnx.TensorProto.BFLOAT16: "bf16"}


def dtype_name(t: onnx.TensorProto) -> str:
    return NAMES.get(t.data_type) or onnx.TensorProto.DataType.Name(t.data_type).lower()


def embedding_shape(path: str) -> tuple[int, ...]:
    """The dims of the float model's largest table a Gather reads (the token embeddings)."""
    m = onnx.load(path, load_external_data=False)
    init = {t.name: t for t in m.graph.initializer}
    tables = [tuple(init[n.input[0]].dims) for n in m.graph.node if n.op_type == "Gather" and n.input[0] in init]
    return max(tables, key=lambda d: int(np.prod(d)), default=())


def storage(path: str, table: tuple[int, ...]) -> dict:
    """What the weights are stored as: the element type of the MatMul/Gemm weights (through a
    DequantizeLinear; MatMulNBits: its bits); that of the token embedding table (the largest
    initializer a Gather or GatherBlockQuantized reads with the float table's row count; packed
    bytes show as "4-bit packed"), with the bits per table value of everything gathered per row
    (values and scales); and the bytes of initializers nothing reads."""
    m = onnx.load(path, load_external_data=False)
    init = {t.name: t for t in m.graph.initializer}
    producer = {o: n for n in m.graph.node for o in n.output}

    def source(name: str):
        """The initializer behind `name`, directly or through one DequantizeLinear."""
        if name in init:
            return init[name]
        p = producer.get(name)
        return init.get(p.input[0]) if p is not None and p.op_type == "DequantizeLinear" else None

    weights: collections.Counter = collections.Counter()
    tables = {}  # the Gather-read tensors with the table's row count: the values and their scales
    for n in m.graph.node:
        bits = next((a.i for a in n.attribute if a.name == "bits"), 4)
        if n.op_type == "MatMulNBits":
            weights[f"int{bits}"] += 1
        elif n.op_type in ("MatMul", "Gemm") and len(n.input) > 1 and (t := source(n.input[1])) is not None:
            weights[dtype_name(t)] += 1
        elif n.op_type in ("Gather", "GatherBlockQuantized") and table and (t := source(n.input[0])) is not None \
                and len(t.dims) >= 1 and t.dims[0] == table[0]:
            tables[t.name] = t
    emb = "—"
    if tables:
        def bits_of(t):
            return int(np.prod(t.dims)) * BITS.get(t.data_type, 32)
        values = max(tables.values(), key=bits_of)
        per = bits_of(values) / int(np.prod(table))
        name = dtype_name(values) if per == BITS.get(values.data_type, 32) else f"{per:g}-bit packed"
        emb = f"{name} ({sum(map(bits_of, tables.values())) / int(np.prod(table)):.2f} bits)"
    used = {i for n in m.graph.node for i in n.input} | {o.name for o in m.graph.output}
    unused = sum(int(np.prod(t.dims)) * BITS.get(t.data_type, 32) / 8 for t in init.values() if t.name not in used)
    return {"weights": "/".join(k for k, _ in weights.most_common()) or "—", "emb": emb, "unused_mb": unused / 1e6}


def lm_tokens(lm: dict) -> list[int]:
    if "tokens" not in _lm_cache:
        _lm_cache["tokens"] = lm_metrics.tokenize(lm_metrics.lee_background_text(), lm["tokenizer"])
    return _lm_cache["tokens"]


def write_lm_calibration(lm: dict, folder: str, samples: int = LM_SAMPLES) -> str:
    """`samples` x 128 tokens of the Lee test documents, one sub-folder each with input_ids.npy
    (Tests/integration/test_trained_lm.py's lee_calibration)."""
    with open(tm.trained_models.ensure("lee")["lee.cor"], "rb") as f:
        lee = lm_metrics.tokenize(f.read().decode("latin1"), lm["tokenizer"])
    assert len(lee) >= samples * LM_CTX, (len(lee), samples)
    for i in range(samples):
        os.makedirs(os.path.join(folder, f"{i:03d}"), exist_ok=True)
        np.save(os.path.join(folder, f"{i:03d}", "input_ids.npy"),
                np.array([lee[i * LM_CTX:(i + 1) * LM_CTX]], np.int64))
    return folder


def setup(kind: str, work: str) -> dict:
    """Float model, calibration folder, latency feed and the metric function of one model."""
    calibration = os.path.join(work, f"{kind}_calibration")
    fresh = not os.path.isdir(calibration)
    if kind == "minilm":
        src = tm.trained_models.ensure("minilm")["model"]
        if fresh:
            tm.write_minilm_calibration(calibration)
        feeds, _ = tm.minilm_feeds(tm.lee_data()[0][:1])
        return {"src": src, "calibration": calibration, "feed": feeds[0],
                "metrics": lambda p: tm.minilm_metrics(p, src)}
    lm = smollm2.ensure()
    if fresh:
        write_lm_calibration(lm, calibration)
    tokens = lm_tokens(lm)

    def metrics(p: str) -> dict:
        if "float" not in _lm_cache:
            _lm_cache["float"] = lm_metrics.perplexity(lm["model"], tokens, LM_CTX, LM_WINDOWS)
        value = _lm_cache["float"] if p == lm["model"] else lm_metrics.perplexity(p, tokens, LM_CTX, LM_WINDOWS)
        return {"perplexity": value, "ppl_ratio": value / _lm_cache["float"]}
    return {"src": lm["model"], "calibration": calibration, "metrics": metrics,
            "feed": {"input_ids": np.array(tokens[:LM_CTX], np.int64)[None]}}


def evaluate(path: str, ctx: dict) -> dict:
    row = {"path": path, "bytes": sum(os.path.getsize(f) for f in model_files(path)),
           **storage(path, ctx["table"])}
    try:
        row["metrics"] = ctx["metrics"](path)
    except Exception as e:  # noqa: BLE001 - recorded, not raised
        row["error"] = f"metric: {type(e).__name__}: {first_line(e, 90)}"
    return row


def convert(kind: str, args, ctx: dict, dst: str, binary: str, timeout: float) -> dict:
    for stale in (dst, dst + ".data"):
        if os.path.exists(stale):
            os.remove(stale)
    if kind == "slim":
        argv = [binary, "convert", ctx["src"], dst, *[ctx["calibration"] if a == "CAL" else a for a in args]]
    else:
        argv = [sys.executable, "-c", ORT_CODE if kind == "ort" else ONNXSIM_CODE, ctx["src"], dst,
                ctx["calibration"], args]
    run = run_timed(argv, timeout)
    row = {k: run[k] for k in ("rc", "seconds", "rss_mb")}
    if run["timed_out"]:
        row["error"] = f"timed out after {timeout:.0f} s"
    elif run["rc"] != 0 or not os.path.isfile(dst):
        row["error"] = f"exit {run['rc']}: {first_line(run['stderr']) or 'no output written'}"
    else:
        row.update(evaluate(dst, ctx))
    return row


def bench_model(kind: str, args, keys: list[str]) -> dict:
    ctx = setup(kind, args.workdir)
    ctx["table"] = embedding_shape(ctx["src"])
    rows = {"float": evaluate(ctx["src"], ctx)}
    for key, label, tool, variant in VARIANTS:
        if key not in keys:
            continue
        dst = os.path.join(args.workdir, f"{kind}_{key}.onnx")
        rows[label] = convert(tool, variant, ctx, dst, args.bin, args.timeout)
        r = rows[label]
        print(f"[bench_repair] {kind} {label}: {r.get('error') or 'ok'} ({r['seconds']:.1f} s, "
              f"{r['rss_mb']:.0f} MB)", file=sys.stderr, flush=True)
    interleaved_latencies(rows, ctx["feed"], args.runs)
    return rows


def table(kind: str, rows: dict) -> str:
    cols = COLUMNS[kind]
    base = rows["float"]
    head = (["variant", "size MB", "size ×", "MatMul weights", "emb table"] + [c[1] for c in cols]
            + ["latency ms (1 thread)", "convert s", "peak RSS MB"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in rows.items():
        m = r.get("metrics", {})
        size = "—"
        if "bytes" in r:
            size = f"{r['bytes'] / 1e6:.1f}" + (f" ({r['unused_mb']:.1f} unused)" if r["unused_mb"] >= 0.1 else "")
        cells = [name, size, f"{r['bytes'] / base['bytes']:.3f}" if "bytes" in r else "—",
                 r.get("weights", "—"), r.get("emb", "—")]
        metric_cells = [format(m[k], f) if k in m else "—" for k, _, f in cols]
        if "error" in r:
            metric_cells[0] = f"FAILED: {r['error']}"
        cells += metric_cells
        cells += [f"{r['latency_ms']:.2f}" if r.get("latency_ms") else "—",
                  f"{r['seconds']:.1f}" if "seconds" in r else "—",
                  f"{r['rss_mb']:.0f}" if "rss_mb" in r else "—"]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(REPO, ".build", "release", "onnx-slim"))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--runs", type=int, default=20, help="latency runs per variant and round (median)")
    ap.add_argument("--workdir", default=None, help="where converted models go (default: a temp dir)")
    ap.add_argument("--json-out", default=None)
    ap.add_argument("--variants", default="", help="comma-separated keys or key prefixes (default: all)")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per conversion before it is killed")
    args = ap.parse_args()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown models {unknown} (known: {', '.join(MODELS)})")
    wanted = [w.strip() for w in args.variants.split(",") if w.strip()]
    all_keys = [k for k, *_ in VARIANTS]
    # a whole key selects that variant, anything else the keys it prefixes ("slim", "ort-")
    keys = [k for k in all_keys if not wanted or any(k == w or (w not in all_keys and k.startswith(w))
                                                     for w in wanted)]
    if not keys:
        ap.error(f"--variants matches nothing (keys: {', '.join(all_keys)})")
    if not os.path.isfile(args.bin):
        ap.error(f"onnx-slim binary not found at {args.bin} (--bin)")
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="bench-repair-")
    os.makedirs(args.workdir, exist_ok=True)
    t = time.perf_counter()
    results = {name: bench_model(name, args, keys) for name in names}
    for name in names:
        print(f"\n### {name}  (int4, block 32; metrics vs. the float model; latency: one sample, "
              f"one onnxruntime thread)\n")
        print(table(name, results[name]))
    print(f"\n(total {time.perf_counter() - t:.0f} s)")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    main()
