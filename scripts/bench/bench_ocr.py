#!/usr/bin/env python3
"""How 4-bit weights hurt trained OCR models: onnx-slim conversions of PP-OCRv4's text-line
recogniser and PP-OCR's orientation classifier, scored on rendered text lines.

Models (scripts/models/trained_models.py, from the rapidocr_onnxruntime 1.4.4 wheel): ppocr_rec
(ch_PP-OCRv4_rec_infer.onnx, input x [N, 3, 48, W]) and ppocr_cls (ch_ppocr_mobile_v2.0_cls_infer,
x [N, 3, 48, 192]). Data: text_lines, 120 rendered snippets of gensim's Lee corpus. Metrics
(Tests/integration/ocr_metrics.py, rapidocr's preprocessing and CTC greedy decoding): rec exact
match, character accuracy, agreement with the float model's text; cls accuracy on each line
upright and rotated by 180 degrees (240 images), agreement with the float model.

Variants (every conversion one whole process, timed, with --report json kept beside the output):
  float        the model as shipped
  int8         convert --quantize int8
  int4         convert --quantize int4                      (blocks of 32 along the input channels)
  int4-b16     convert --quantize int4 --block-size 16
  int4-noconv  convert --quantize int4 --exclude-ops Conv   (only MatMul/Gemm 4-bit)
  int4-repair  convert --quantize int4 --repair --calibration CAL
  int4-fzp-repair  convert --quantize int4 --float-zero-points --repair --calibration CAL
               CAL: 16 of the preprocessed lines (spread over the 120, so also evaluated), one
               sample folder each with x.npy (rec: [1, 3, 48, W], each line's own width; cls:
               [1, 3, 48, 192], every other one rotated by 180 degrees).

Also: the layout each variant gave the Conv weights (read from the output model: the quantized
tensor's type, the scale's shape -> per-tensor / per-channel / blocked, and the form: an int4
DequantizeLinear, or packed nibbles unpacked by BitShift/BitwiseAnd and scaled by Mul), and
`onnx-slim run MODEL --json` on each float model, with generated inputs and with a real line
(outputs compared with onnxruntime's). Failures are recorded in the tables, never raised.

Usage: python bench_ocr.py [--slim PATH] [--models ppocr_rec,ppocr_cls] [--variants KEY,...]
                           [--workdir DIR] [--json-out FILE] [--timeout S]
"""
import argparse
import collections
import glob
import json
import os
import sys
import tempfile
import time

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "Tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "scripts", "models"))
import ocr_metrics as om  # noqa: E402
sys.path.insert(0, HERE)
from bench_repair import first_line, run_timed  # noqa: E402

MODELS = ["ppocr_rec", "ppocr_cls"]
VARIANTS = [
    ("float", None),
    ("int8", ["--quantize", "int8"]),
    ("int4", ["--quantize", "int4"]),
    ("int4-b16", ["--quantize", "int4", "--block-size", "16"]),
    ("int4-noconv", ["--quantize", "int4", "--exclude-ops", "Conv"]),
    ("int4-repair", ["--quantize", "int4", "--repair", "--calibration", "CAL"]),
    ("int4-fzp-repair", ["--quantize", "int4", "--float-zero-points", "--repair", "--calibration", "CAL"]),
]
COLUMNS = {"ppocr_rec": [("exact_match", "rec exact"), ("char_accuracy", "rec char acc"),
                         ("agree_float", "rec agree")],
           "ppocr_cls": [("accuracy", "cls acc"), ("agree_float", "cls agree")]}
SHORT = {"ppocr_rec": "rec", "ppocr_cls": "cls"}


# ----------------------------------------------------------------------------- weight layouts

def _constants(m: onnx.ModelProto) -> dict:
    d = {t.name: t for t in m.graph.initializer}
    for n in m.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    d[n.output[0]] = a.t
    return d


FLOATS = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16}


def weight_layout(m: onnx.ModelProto, consts: dict, producer: dict, name: str, dims: list[int]) -> dict:
    """How the weight reaching a node's input `name` is stored: form, quantized type, scale dims
    and layout (per-tensor / per-channel / blocked with the block count along axis 1)."""
    ops, leaves, stack, seen = [], [], [name], set()
    scale = None
    while stack:
        x = stack.pop()
        if x in seen:
            continue
        seen.add(x)
        p = producer.get(x)
        if p is None or p.op_type == "Constant":
            if x in consts:
                leaves.append(consts[x])
            continue
        ops.append(p.op_type)
        if p.op_type in ("Mul", "DequantizeLinear"):
            for i in p.input[1:] if p.op_type == "DequantizeLinear" else p.input:
                t = consts.get(i)
                if t is None and i in producer and producer[i].op_type == "Cast":
                    t = consts.get(producer[i].input[0])
                if t is not None and t.data_type in FLOATS and len(t.dims) == len(dims) and scale is None:
                    scale = list(t.dims)
        stack += [i for i in p.input if i]
    if not ops:
        t = consts.get(name)
        return {"form": "float" if t is not None and t.data_type in FLOATS else "computed", "layout": "—"}
    block = None
    if "DequantizeLinear" in ops and "BitShift" not in ops:
        dq = next(producer[x] for x in seen if x in producer and producer[x].op_type == "DequantizeLinear")
        q = consts.get(dq.input[0])
        qtype = onnx.TensorProto.DataType.Name(q.data_type).lower() if q is not None else "?"
        form = f"{qtype} DequantizeLinear"
        block = next((a.i for a in dq.attribute if a.name == "block_size"), None) or None
    elif "BitShift" in ops:
        form = "packed nibbles (BitShift/BitwiseAnd, Mul)"
    else:
        ints = [t for t in leaves if t.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)
                and int(np.prod(t.dims)) == int(np.prod(dims))]
        form = (onnx.TensorProto.DataType.Name(ints[0].data_type).lower() + " Cast·Mul") if ints else "+".join(ops)
    if scale is None:
        layout = "?"
    elif int(np.prod(scale)) == 1:
        layout = "per-tensor"
    elif len(dims) == 2 and scale[1] == dims[1]:  # MatMul [K, N]: blocks along K
        layout = "per-channel" if scale[0] == 1 else f"blocked ({scale[0]} blocks along K = {dims[0]})"
    elif scale[0] == dims[0] and all(s == 1 for s in scale[1:]):
        layout = "per-channel"
    elif scale[0] == dims[0] and len(scale) > 1 and scale[1] > 1:
        block = block or -(-dims[1] // scale[1])
        tail = dims[1] - (scale[1] - 1) * block
        layout = (f"blocked ({scale[1]} blocks of {block} along {dims[1]} inputs"
                  + (f", the last {tail})" if tail != block else ")"))
    else:
        layout = f"scale {scale}"
    return {"form": form, "layout": layout, "scale": scale}


def layouts(float_path: str, out_path: str, ops=("Conv", "MatMul", "Gemm")) -> list[dict]:
    """One row per weight-reading node of the float model: op, name, weight dims, group, and how
    the output model stores that weight."""
    f = onnx.load(float_path)
    q = onnx.load(out_path)
    fc, qc = _constants(f), _constants(q)
    producer = {o: n for n in q.graph.node for o in n.output}
    # Nodes are matched by (op, name) where names are unique, else by their order among the op's nodes.
    names = collections.Counter((n.op_type, n.name) for n in f.graph.node)
    by_name, by_order = {}, collections.defaultdict(list)
    for n in q.graph.node:
        by_name.setdefault((n.op_type, n.name), n)
        by_order[n.op_type].append(n)
    seen_ops: collections.Counter = collections.Counter()
    rows = []
    for n in f.graph.node:
        index = seen_ops[n.op_type]
        seen_ops[n.op_type] += 1
        if n.op_type not in ops or len(n.input) < 2 or n.input[1] not in fc:
            continue
        dims = list(fc[n.input[1]].dims)
        group = next((a.i for a in n.attribute if a.name == "group"), 1)
        if n.name and names[(n.op_type, n.name)] == 1:
            qn = by_name.get((n.op_type, n.name))
        else:
            qn = by_order[n.op_type][index] if index < len(by_order[n.op_type]) else None
        integer = by_name.get(("MatMulInteger", f"{n.name}/MatMulInteger")) if n.name else None
        if qn is not None:
            info = weight_layout(q, qc, producer, qn.input[1], dims)
        elif integer is not None:  # the dynamic int8 form: DynamicQuantizeLinear -> MatMulInteger -> Mul
            w = qc.get(integer.input[1])
            wtype = onnx.TensorProto.DataType.Name(w.data_type).lower() if w is not None else "?"
            scales = []  # the weight's scales: float constants (through a Cast) of the node's Muls
            for m in q.graph.node:
                if m.op_type == "Mul" and m.name.startswith(n.name + "/"):
                    for i in m.input:
                        t = qc.get(producer[i].input[0]) if i in producer and producer[i].op_type == "Cast" \
                            else qc.get(i)
                        if t is not None and t.data_type in FLOATS and int(np.prod(t.dims)) > 1:
                            scales.append(t)
            info = {"form": f"{wtype} MatMulInteger (dynamic)",
                    "layout": "per-channel" if scales and list(scales[0].dims)[-1:] == dims[1:] else "?"}
        else:
            info = {"form": "node not found", "layout": "—"}
        rows.append({"op": n.op_type, "node": n.name, "dims": dims, "group": group, **info})
    return rows


def conv_kind(r: dict) -> str:
    kh_kw = "x".join(str(d) for d in r["dims"][2:])
    if r["group"] > 1 and r["dims"][1] == 1:
        return f"depthwise {kh_kw}"
    return f"{kh_kw}" + (f" g{r['group']}" if r["group"] > 1 else "")


def layout_summary(rows: list[dict], op: str = "Conv") -> str:
    c = collections.Counter(f"{r['form']}, {r['layout'].split(' (')[0]}" for r in rows if r["op"] == op)
    return "; ".join(f"{n} {k}" for k, n in c.most_common()) or "—"


# ----------------------------------------------------------------------------------- running

def model_mb(path: str) -> float:
    return sum(os.path.getsize(p) for p in [path, *glob.glob(path + ".data")]) / 1e6


def metrics(name: str, path: str, src: str) -> dict:
    try:
        return om.ocr_metrics(name, path, src)
    except Exception as e:  # noqa: BLE001 - recorded, not raised
        return {"error": f"metric: {type(e).__name__}: {first_line(e, 120)}"}


def convert(name: str, src: str, args, work: str, key: str, flags: list[str], calibration: str) -> dict:
    dst = os.path.join(work, f"{name}_{key}.onnx")
    report = dst[:-5] + ".report.json"
    for stale in (dst, dst + ".data", report):
        if os.path.exists(stale):
            os.remove(stale)
    argv = [args.slim, "convert", src, dst, *[calibration if a == "CAL" else a for a in flags],
            "--report", "json"]
    run = run_timed(argv, args.timeout, report)
    row = {"argv": " ".join(argv[2:]).replace(src, "MODEL"), **{k: run[k] for k in ("rc", "seconds", "rss_mb")}}
    if run["timed_out"]:
        row["error"] = f"timed out after {args.timeout:.0f} s"
    elif run["rc"] != 0 or not os.path.isfile(dst):
        row["error"] = f"exit {run['rc']}: {first_line(run['stderr'], 160) or 'no output written'}"
    else:
        row["path"], row["mb"] = dst, model_mb(dst)
        try:
            with open(report) as f:
                row["passes"] = json.load(f).get("passes", [])
        except (OSError, ValueError):
            row["passes"] = []
        row["layouts"] = layouts(src, dst)
        m = metrics(name, dst, src)
        row.update({"error": m.pop("error")} if "error" in m else {"metrics": m})
    return row


def evaluator_check(name: str, src: str, args, work: str) -> dict:
    """`onnx-slim run MODEL --json` with generated inputs, then with one real preprocessed line
    (x.npy), outputs compared with onnxruntime's."""
    out = {}
    run = run_timed([args.slim, "run", src, "--json", "--threads", "1"], args.timeout,
                    os.path.join(work, f"{name}_run_generated.json"))
    out["generated"] = "ok" if run["rc"] == 0 else f"exit {run['rc']}: {run['stderr'].strip()}"
    inputs = os.path.join(work, f"{name}_run_inputs")
    outputs = os.path.join(work, f"{name}_run_outputs")
    os.makedirs(inputs, exist_ok=True)
    os.makedirs(outputs, exist_ok=True)
    x = om._rec_inputs()[1] if name == "ppocr_rec" else om._cls_inputs()[0][:2]
    np.save(os.path.join(inputs, "x.npy"), x)
    run = run_timed([args.slim, "run", src, "--json", "--threads", "1", "--inputs", inputs, "--outputs", outputs],
                    args.timeout, os.path.join(work, f"{name}_run_real.json"))
    if run["rc"] != 0:
        out["real"] = f"exit {run['rc']}: {run['stderr'].strip()}"
        return out
    ref = om.session(src).run(None, {"x": x})[0]
    files = sorted(glob.glob(os.path.join(outputs, "*.npy")))
    got = np.load(files[0]) if files else None
    if got is None or got.shape != ref.shape:
        out["real"] = f"output shape {None if got is None else got.shape}, onnxruntime {ref.shape}"
    else:
        out["real"] = (f"ok, input {list(x.shape)}: max |diff| vs onnxruntime {np.abs(got - ref).max():.2e}, "
                       f"argmax agreement {(got.argmax(-1) == ref.argmax(-1)).mean():.3f}, "
                       f"{run['seconds']:.2f} s")
    return out


def bench_model(name: str, args, keys: list[str]) -> dict:
    src = om.trained_models.ensure(name)["model"]
    calibration = os.path.join(args.workdir, f"{name}_calibration")
    if not os.path.isdir(calibration):
        (om.write_rec_calibration if name == "ppocr_rec" else om.write_cls_calibration)(calibration)
    rows = {}
    for key, flags in VARIANTS:
        if key not in keys:
            continue
        if flags is None:
            m = metrics(name, src, src)
            rows[key] = {"path": src, "mb": model_mb(src), "seconds": 0.0, "layouts": layouts(src, src),
                         **({"error": m.pop("error")} if "error" in m else {"metrics": m})}
        else:
            rows[key] = convert(name, src, args, args.workdir, key, flags, calibration)
        r = rows[key]
        print(f"[bench_ocr] {name} {key}: {r.get('error') or 'ok'} ({r['seconds']:.2f} s)", file=sys.stderr, flush=True)
    evaluator = evaluator_check(name, src, args, args.workdir) if not args.no_run else {}
    return {"rows": rows, "evaluator": evaluator, "src": src}


def table(results: dict, keys: list[str]) -> str:
    names = list(results)
    head = ["variant"]
    for n in names:
        head += [f"{SHORT[n]} MB"] + [h for _, h in COLUMNS[n]] + [f"{SHORT[n]} convert s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for key in keys:
        cells = [key]
        for n in names:
            r = results[n]["rows"].get(key, {})
            m = r.get("metrics", {})
            cells.append(f"{r['mb']:.2f}" if "mb" in r else "—")
            vals = [f"{m[k]:.4f}" if k in m else "—" for k, _ in COLUMNS[n]]
            if "error" in r:
                vals[0] = f"FAILED: {r['error']}"
            cells += vals
            cells.append(f"{r['seconds']:.2f}" if "seconds" in r else "—")
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def layout_table(name: str, results: dict, keys: list[str]) -> str:
    """Per Conv weight shape kind: how many, and each variant's storage."""
    rows = results[name]["rows"]
    lines = []
    base = rows.get("float", next(iter(rows.values()), {})).get("layouts") or \
        next((r["layouts"] for r in rows.values() if r.get("layouts")), [])
    convs = [r for r in base if r["op"] == "Conv"]
    shapes = collections.Counter((conv_kind(r), r["dims"][1] * r["group"]) for r in convs)
    lines.append(f"{name}: {len(convs)} Conv weights; "
                 + ", ".join(f"{n}x {k} (in {c})" for (k, c), n in sorted(shapes.items(), key=lambda kv: -kv[1])))
    others = collections.Counter(r["op"] for r in base if r["op"] != "Conv")
    if others:
        lines.append(f"  other weights: {dict(others)}")
    for key in keys:
        r = rows.get(key, {})
        if r.get("layouts") and key != "float":
            lines.append(f"  {key}: Conv {layout_summary(r['layouts'])}")
            for op in ("MatMul", "Gemm"):
                if any(x["op"] == op for x in r["layouts"]):
                    lines.append(f"  {key}: {op} {layout_summary(r['layouts'], op)}")
            quant = [p for p in r.get("passes", []) if p.startswith("quantize")]
            if quant:
                lines.append(f"  {key}: report: {quant[0]}")
    return "\n".join(lines)


def conv_detail(name: str, results: dict, key: str = "int4") -> str:
    r = results[name]["rows"].get(key, {})
    if not r.get("layouts"):
        return ""
    lines = [f"| {name} Conv | weight dims [O, I/g, kh, kw] | group | {key} form | {key} layout |",
             "|---|---|---|---|---|"]
    for x in r["layouts"]:
        if x["op"] == "Conv":
            lines.append(f"| {x['node']} | {x['dims']} | {x['group']} | {x['form']} | {x['layout']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--slim", default=os.path.join(REPO, ".build", "release", "onnx-slim"),
                    help="the onnx-slim binary")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--variants", default="", help="comma-separated keys (default: all)")
    ap.add_argument("--workdir", default=None, help="where converted models go (default: a temp dir)")
    ap.add_argument("--json-out", default=None)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per conversion before it is killed")
    ap.add_argument("--no-run", action="store_true", help="skip the `onnx-slim run` check of the float models")
    ap.add_argument("--detail", action="store_true", help="also print every Conv weight's int4 layout")
    args = ap.parse_args()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown models {unknown} (known: {', '.join(MODELS)})")
    all_keys = [k for k, _ in VARIANTS]
    wanted = [w.strip() for w in args.variants.split(",") if w.strip()]
    if [w for w in wanted if w not in all_keys]:
        ap.error(f"unknown variants (keys: {', '.join(all_keys)})")
    keys = [k for k in all_keys if not wanted or k in wanted]
    if not os.path.isfile(args.slim):
        ap.error(f"onnx-slim binary not found at {args.slim} (--slim)")
    args.workdir = args.workdir or tempfile.mkdtemp(prefix="bench-ocr-")
    os.makedirs(args.workdir, exist_ok=True)
    t = time.perf_counter()
    results = {n: bench_model(n, args, keys) for n in names}
    print(f"\n### PP-OCR on {len(om.text_lines())} rendered text lines (metrics: Tests/integration/ocr_metrics.py;"
          f" cls on each line upright and rotated 180 degrees)\n")
    print(table(results, keys))
    print()
    for n in names:
        print(layout_table(n, results, keys))
        ev = results[n]["evaluator"]
        if ev:
            print(f"  onnx-slim run --json (generated inputs): {ev.get('generated')}")
            print(f"  onnx-slim run --json (a real line): {ev.get('real')}")
        print()
    if args.detail:
        for n in names:
            print(conv_detail(n, results))
            print()
    print(f"(work dir {args.workdir}; total {time.perf_counter() - t:.0f} s)")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    main()
