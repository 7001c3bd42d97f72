#!/usr/bin/env python3
"""Quantization benchmark: onnx-slim vs. onnxruntime.quantization, side by side.

For three generated float models (see models.py: a ~90 MB BERT-style transformer, a YOLO-style
CNN, a Paddle-style CNN whose weights are Constant nodes) it builds these variants:

  float          the float32 model itself (reference)
  slim-int8      onnx-slim --quantize int8                 (auto: integer MatMul + folded Conv)
  slim-int8-wo   onnx-slim --quantize int8 --int8-mode weight-only
  slim-int8-fold onnx-slim --quantize int8 --int8-mode folded
  slim-int8-dyn  onnx-slim --quantize int8 --int8-mode dynamic
  ort-dyn        quantize_dynamic(per_channel=False, weight_type=QInt8)
  ort-dyn-pc     quantize_dynamic(per_channel=True,  weight_type=QInt8)
  slim-int4      onnx-slim --quantize int4                 (block 32)
  ort-int4       MatMulNBitsQuantizer(block_size=32, is_symmetric=True)   (transformer only)

and measures for each: file size; cosine similarity of every output vs. the float model on fixed
seeded inputs (the minimum over inputs and outputs is reported); onnxruntime CPU latency with one
intra-op thread (median of --runs runs after warm-up, in two rounds, the second in reverse
order; within a round the variants take turns, CHUNK runs at a time) and speed vs. float;
conversion wall time of the whole process (Python start-up and imports included for onnxruntime's
tools) and its peak RSS as a multiple of the float model's file size (child ru_maxrss read by a
wrapper process, as in bench_io.py). Failures of either tool are recorded with their error text,
never raised.

Usage: python bench_quantize.py [--bin PATH] [--workdir DIR] [--models bert,yolo,paddle]
                                [--runs N] [--min-seconds S] [--conv-runs N] [--json-out FILE]
"""
import argparse
import collections
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
from bench_io import MIB, run_once  # noqa: E402

ORT_DYN = ("import sys\nfrom onnxruntime.quantization import quantize_dynamic, QuantType\n"
           "quantize_dynamic(sys.argv[1], sys.argv[2], per_channel={pc}, weight_type=QuantType.QInt8)\n")
ORT_INT4 = ("import sys, onnx\n"
            "from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer\n"
            "q = MatMulNBitsQuantizer(onnx.load(sys.argv[1]), block_size=32, is_symmetric=True)\n"
            "q.process()\n"
            "q.model.save_model_to_file(sys.argv[2], False)\n")
CHUNK = 3  # latency runs per variant before switching to the next one (interleaving)
MODEL_NAMES = {"bert": "BERT-style transformer (~90 MB, opset 17)",
               "yolo": "YOLO-style CNN (~7 M params, opset 17, 1x3x320x320)",
               "paddle": "Paddle-style CNN (Constant-node weights, opset 11, 1x3x224x224)"}


def variants(model):
    """(key, label, tool, extra): tool 'slim' -> extra = CLI flags; 'ort' -> extra = Python source."""
    v = [("float", "float32", None, None),
         ("slim-int8", "onnx-slim int8 (auto)", "slim", ["--quantize", "int8"])]
    for mode, short in (("weight-only", "wo"), ("folded", "fold"), ("dynamic", "dyn")):
        v.append((f"slim-int8-{short}", f"onnx-slim int8 {mode}", "slim",
                  ["--quantize", "int8", "--int8-mode", mode]))
    v += [("ort-dyn", "ORT quantize_dynamic per_channel=False", "ort", ORT_DYN.format(pc=False)),
          ("ort-dyn-pc", "ORT quantize_dynamic per_channel=True", "ort", ORT_DYN.format(pc=True)),
          ("slim-int4", "onnx-slim int4", "slim", ["--quantize", "int4"])]
    if model == "bert":
        v.append(("ort-int4", "ORT MatMulNBitsQuantizer b32 sym", "ort", ORT_INT4))
    return v


# ---------------------------------------------------------------- conversion
def convert(bin_, tool, extra, src, dst, runs):
    """One untimed warm-up run (captures the full error text, and onnx-slim's JSON report), then
    `runs` timed whole-process runs in the wrapper. Returns a dict; 'error' is set on failure."""
    base = [bin_, src, dst] + extra if tool == "slim" else [sys.executable, "-c", extra, src, dst]
    res = {"argv": base if tool == "slim" else [sys.executable, "-c", "<see script>", src, dst]}
    if os.path.exists(dst):
        os.remove(dst)
    warm = subprocess.run(base + (["--report", "json"] if tool == "slim" else []),
                          capture_output=True, text=True)
    res["stderr"] = warm.stderr.strip()[-3000:]
    if warm.returncode != 0 or not os.path.exists(dst):
        res["error"] = f"exit {warm.returncode}: {res['stderr'] or '(no output file, no stderr)'}"
        return res
    if tool == "slim":
        try:
            res["passes"] = json.loads(warm.stdout).get("passes")
        except ValueError:
            res["passes"] = f"(report is not JSON: {warm.stdout[:300]!r})"
    walls, rss = [], []
    for _ in range(runs):
        r = run_once(base)
        if r["rc"] != 0:
            res["error"] = f"timed run: exit {r['rc']}: {r['err'].strip()}"
            return res
        walls.append(r["wall"])
        rss.append(r["maxrss_kb"] * 1024)
    res.update(wall_s=statistics.median(walls), walls=walls, rss_bytes=statistics.median(rss))
    return res


def graph_stats(path):
    """Op counts, and bytes of float32 weights of >= 1024 elements (initializers or Constant nodes)."""
    m = onnx.load(path, load_external_data=False)
    ops = collections.Counter((n.domain + "::" if n.domain not in ("", "ai.onnx") else "") + n.op_type
                              for n in m.graph.node)
    tensors = list(m.graph.initializer) + [a.t for n in m.graph.node if n.op_type == "Constant"
                                           for a in n.attribute if a.name == "value"]
    fl = sum(4 * int(np.prod(t.dims)) for t in tensors
             if t.data_type == onnx.TensorProto.FLOAT and np.prod(t.dims) >= 1024)
    return ops, fl


def op_changes(base, new):
    keys = sorted(set(base) | set(new), key=lambda k: (-abs(new[k] - base[k]), k))
    return ", ".join(f"{k} {base[k]}->{new[k]}" for k in keys if new[k] != base[k]) or "(no op changes)"


# ---------------------------------------------------------------- onnxruntime
def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    den = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / den) if den else float(np.array_equal(a, b))


def evaluate(path, feeds, ref):
    """Load (timed) and run every feed; cosine vs. reference per output, minimum over all."""
    t = time.perf_counter()
    try:
        sess = session(path)
    except Exception as e:  # noqa: BLE001 - report whatever went wrong
        return None, None, {"error": f"onnxruntime load: {type(e).__name__}: {str(e)[:1500]}"}
    res = {"load_ms": (time.perf_counter() - t) * 1e3}
    try:
        outs = [sess.run(None, f) for f in feeds]
    except Exception as e:  # noqa: BLE001
        return None, None, {**res, "error": f"onnxruntime run: {type(e).__name__}: {str(e)[:1500]}"}
    if ref is not None:
        cos = [cosine(o, r) for out, rout in zip(outs, ref) for o, r in zip(out, rout)]
        res.update(cos_min=min(cos), cos_all=cos)
    return sess, outs, res


def time_sessions(sessions, feed, runs, warmup=3, rounds=2, chunk=None):
    """Two rounds; within a round every session runs `chunk` times in turn until each has `runs`
    samples, so all variants see the same background load. The second round goes in reverse order."""
    chunk = chunk or CHUNK
    times = {k: [[] for _ in range(rounds)] for k in sessions}
    for r in range(rounds):
        order = list(sessions) if r % 2 == 0 else list(sessions)[::-1]
        for k in order:
            for _ in range(warmup):
                sessions[k].run(None, feed)
        while any(len(times[k][r]) < runs for k in order):
            for k in order:
                for _ in range(min(chunk, runs - len(times[k][r]))):
                    t = time.perf_counter()
                    sessions[k].run(None, feed)
                    times[k][r].append((time.perf_counter() - t) * 1e3)
    return times


# ---------------------------------------------------------------- one model
def bench_model(name, a):
    src = models.ensure(name, a.workdir)
    size = os.path.getsize(src)
    feeds = models.feeds(name)
    base_ops, base_fl = graph_stats(src)
    print(f"\n=== {MODEL_NAMES[name]}: {src}, {size / 1e6:.1f} MB, {len(feeds)} input sets", flush=True)
    out = {"model": name, "path": src, "bytes": size, "variants": {}}
    sessions, ref = {}, None
    for key, label, tool, extra in variants(name):
        v = {"label": label, "tool": tool}
        path = src
        if tool:
            path = os.path.join(a.workdir, "quant", f"{name}.{key}.onnx")
            conv = convert(a.bin, tool, extra, src, path, a.conv_runs)
            v["convert"] = conv
            if "error" in conv:
                v["error"] = "conversion failed: " + conv["error"]
                print(f"[{name}/{key}] CONVERSION FAILED: {conv['error'][-600:]}", flush=True)
                out["variants"][key] = v
                continue
        v["bytes"] = os.path.getsize(path)
        with open(path, "rb") as fh:
            v["sha256"] = hashlib.sha256(fh.read()).hexdigest()
        same = [k for k, o in out["variants"].items() if o.get("sha256") == v["sha256"]]
        ops, v["float_weight_bytes"] = graph_stats(path)
        v["ops"] = op_changes(base_ops, ops) if tool else "-"
        if same:  # identical bytes: latency differences between the two are pure measurement noise
            v["ops"] = f"(file identical to {same[0]}) " + v["ops"]
        if tool and v["float_weight_bytes"] > 0.1 * base_fl:  # e.g. weights the tool did not rewrite
            v["ops"] = f"{v['float_weight_bytes'] / 1e6:.1f} MB FLOAT32 WEIGHTS LEFT; " + v["ops"]
        sess, outs, ev = evaluate(path, feeds, ref)
        v.update(ev)
        if key == "float":
            ref = outs
        if sess is not None:
            sessions[key] = sess
        c = v.get("convert", {})
        print(f"[{name}/{key}] {v['bytes'] / 1e6:.2f} MB" +
              (f", converted in {c['wall_s']:.2f} s, peak RSS {c['rss_bytes'] / MIB:.0f} MiB" if c else "") +
              (f", cosine {v['cos_min']:.6f}" if "cos_min" in v else "") +
              (f", load {v['load_ms']:.0f} ms" if "load_ms" in v else "") +
              (f"\n    ERROR {v['error']}" if "error" in v else "") +
              (f"\n    onnx-slim: {'; '.join(c['passes'])}" if isinstance(c.get("passes"), list) else "") +
              (f"\n    ops: {v['ops']}" if tool else ""), flush=True)
        out["variants"][key] = v
    if "float" not in sessions:
        return out
    est = []
    for _ in range(3):
        t = time.perf_counter()
        sessions["float"].run(None, feeds[0])
        est.append(time.perf_counter() - t)
    runs = max(a.runs, int(a.min_seconds / statistics.median(est)))  # more samples for fast models
    out["runs_per_round"] = runs
    print(f"[{name}] timing {len(sessions)} sessions: 2 rounds x {runs} runs, interleaved in chunks of {CHUNK}",
          flush=True)
    times = time_sessions(sessions, feeds[0], runs)
    ft = times["float"]
    for key, t in times.items():
        v = out["variants"][key]
        v["lat_ms"] = [statistics.median(r) for r in t]
        v["speed"] = [statistics.median(f) / statistics.median(r) for f, r in zip(ft, t)]
        v["lat_pooled_ms"] = statistics.median(t[0] + t[1])
        v["speed_pooled"] = statistics.median(ft[0] + ft[1]) / v["lat_pooled_ms"]
        v["times_ms"] = t
    return out


# ---------------------------------------------------------------- reporting
def md_table(header, rows):
    cells = [header] + [[str(c) for c in r] for r in rows]
    w = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(x) for c, x in zip(r, w)) + " |"
    print("\n".join([line(cells[0]), "|" + "|".join("-" * (x + 2) for x in w) + "|"] +
                    [line(r) for r in cells[1:]]))


def model_table(res):
    size, rows = res["bytes"], []
    for key, v in res["variants"].items():
        c = v.get("convert", {})
        num = lambda x, fmt: fmt.format(x) if x is not None else "-"
        rows.append([
            v["label"],
            num(v["bytes"] / 1e6 if "bytes" in v else None, "{:.2f}"),
            num(size / v["bytes"] if "bytes" in v else None, "{:.2f}x"),
            num(v["float_weight_bytes"] / 1e6 if "float_weight_bytes" in v else None, "{:.2f}"),
            num(v.get("cos_min"), "{:.6f}"),
            " / ".join(f"{x:.1f}" for x in v["lat_ms"]) if "lat_ms" in v else "-",
            " / ".join(f"{x:.2f}x" for x in v["speed"]) if "speed" in v else "-",
            num(v.get("load_ms"), "{:.0f}"),
            num(c.get("wall_s"), "{:.2f}"),
            num(c["rss_bytes"] / size if "rss_bytes" in c else None, "{:.2f}x"),
            ("ERROR: " + v["error"].replace("\n", " ")[:400]) if "error" in v else v.get("ops", "-"),
        ])
    md_table(["variant", "MB", "smaller", "f32 tensors MB (>=1K elts)", "cosine (min)", "latency ms r1 / r2",
              "speed vs float r1 / r2", "load ms", "convert s", "convert RSS / model",
              "graph changes (op: float->variant) / error"], rows)


def targets(results):
    """Rows: (target, model, onnx-slim, peer, required, met). met None = not decidable."""
    rows = []
    for name, res in results.items():
        V, size = res["variants"], res["bytes"]
        ours = V.get("slim-int8", {})
        peers = [V[k] for k in ("ort-dyn", "ort-dyn-pc") if k in V]
        ok = lambda d, k: k in d and "error" not in d

        def add(target, o, p, req, met):
            rows.append([target, name, o, p, req, "-" if met is None else ("yes" if met else "NO")])

        for pk, pl in (("ort-dyn", "per_channel=False"), ("ort-dyn-pc", "per_channel=True")):
            p = V.get(pk, {})
            add(f"int8 size <= quantize_dynamic({pl})",
                f"{ours['bytes'] / 1e6:.3f} MB" if "bytes" in ours else "failed",
                f"{p['bytes'] / 1e6:.3f} MB" if "bytes" in p else "failed", "<=",
                (ours["bytes"] <= p["bytes"] if "bytes" in p else None) if "bytes" in ours else False)
        pc = V.get("ort-dyn-pc", {})
        add("int8 cosine >= quantize_dynamic(per_channel)", f"{ours['cos_min']:.6f}" if ok(ours, "cos_min") else "n/a",
            f"{pc['cos_min']:.6f}" if ok(pc, "cos_min") else "failed", ">=",
            (ours["cos_min"] >= pc["cos_min"] if ok(pc, "cos_min") else None) if ok(ours, "cos_min") else False)
        if name == "bert":
            ps = [p["speed_pooled"] for p in peers if ok(p, "speed_pooled")]
            add("int8 speedup vs float >= quantize_dynamic's",
                f"{ours['speed_pooled']:.2f}x" if ok(ours, "speed_pooled") else "n/a",
                f"{max(ps):.2f}x (better of pt/pc)" if ps else "failed", ">=",
                (ours["speed_pooled"] >= max(ps) if ps else None) if ok(ours, "speed_pooled") else False)
        else:
            sp = ours.get("speed_pooled")
            add("int8 speed vs float >= 0.95x", f"{sp:.2f}x" if sp else "n/a", "-", ">= 0.95x", bool(sp and sp >= 0.95))
        oc = ours.get("convert", {})
        pw = [p["convert"]["wall_s"] for p in peers if "wall_s" in p.get("convert", {})]
        if "wall_s" in oc:
            add("int8 conversion >= 10x faster (whole process)", f"{oc['wall_s']:.2f} s",
                f"{min(pw):.2f} s (faster of pt/pc)" if pw else "failed",
                ">= 10x", (min(pw) / oc["wall_s"] >= 10) if pw else None)
            add("int8 conversion peak RSS <= 1.5x model", f"{oc['rss_bytes'] / size:.2f}x",
                "; ".join(f"{p['convert']['rss_bytes'] / size:.2f}x" for p in peers
                          if "rss_bytes" in p.get("convert", {})),
                "<= 1.5x", oc["rss_bytes"] / size <= 1.5)
        else:
            add("int8 conversion", "failed", "-", "-", False)
        if name == "bert":
            o4, p4 = V.get("slim-int4", {}), V.get("ort-int4", {})
            r = lambda d: f"{size / d['bytes']:.2f}x" if "bytes" in d else "failed"
            add("int4 >= 6x smaller than float32 (incl. embeddings)", r(o4), r(p4), ">= 6x",
                "bytes" in o4 and size / o4["bytes"] >= 6)
            add("int4 cosine >= 0.98", f"{o4['cos_min']:.6f}" if ok(o4, "cos_min") else "n/a",
                f"{p4['cos_min']:.6f}" if ok(p4, "cos_min") else "failed", ">= 0.98",
                ok(o4, "cos_min") and o4["cos_min"] >= 0.98)
            o4c, p4c = o4.get("convert", {}), p4.get("convert", {})
            if "wall_s" in o4c:
                add("int4 conversion >= 10x faster (whole process)", f"{o4c['wall_s']:.2f} s",
                    f"{p4c['wall_s']:.2f} s" if "wall_s" in p4c else "failed", ">= 10x",
                    p4c["wall_s"] / o4c["wall_s"] >= 10 if "wall_s" in p4c else None)
                add("int4 conversion peak RSS <= 1.5x model", f"{o4c['rss_bytes'] / size:.2f}x",
                    f"{p4c['rss_bytes'] / size:.2f}x" if "rss_bytes" in p4c else "failed", "<= 1.5x",
                    o4c["rss_bytes"] / size <= 1.5)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="/tmp/onnx-slim-bin/onnx-slim")
    ap.add_argument("--workdir", default="/tmp/onnx-slim-bench")
    ap.add_argument("--models", default="bert,yolo,paddle")
    ap.add_argument("--runs", type=int, default=25, help="timed inference runs per round (>= 20)")
    ap.add_argument("--min-seconds", type=float, default=2.0,
                    help="raise the runs per round so that the float model runs at least this long")
    ap.add_argument("--conv-runs", type=int, default=3, help="timed conversions per variant (after 1 warm-up)")
    ap.add_argument("--json-out")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    os.makedirs(os.path.join(a.workdir, "quant"), exist_ok=True)
    floor = run_once(["/bin/true"])["maxrss_kb"] * 1024
    with open(a.bin, "rb") as fh:  # the binary may be rebuilt by others: record which one ran
        binary = {"path": a.bin, "sha256": hashlib.sha256(fh.read()).hexdigest(),
                  "mtime": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(a.bin)))}
    print(f"[env] onnx-slim {a.bin} (sha256 {binary['sha256'][:12]}, mtime {binary['mtime']}); "
          f"onnxruntime {ort.__version__}, onnx {onnx.__version__}, numpy {np.__version__}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}\n"
          f"[env] latency: 1 intra-op thread, 2 rounds x max({a.runs}, {a.min_seconds} s / float latency) runs "
          f"after 3 warm-ups, variants taking turns {CHUNK} runs at a time; conversion: median of "
          f"{a.conv_runs} timed runs after 1 warm-up; wrapper RSS floor {floor / MIB:.1f} MiB")
    results = {}
    for name in a.models.split(","):
        results[name] = bench_model(name, a)
    for name, res in results.items():
        print(f"\n### {MODEL_NAMES[name]} — float file {res['bytes'] / 1e6:.2f} MB, "
              f"{res.get('runs_per_round', '-')} latency runs per round\n")
        model_table(res)
    print("\n### Targets (speed: pooled median over both rounds)\n")
    rows = targets(results)
    md_table(["target", "model", "onnx-slim", "onnxruntime.quantization", "required", "met"], rows)
    print(f"\n[env] load average at end {os.getloadavg()[0]:.2f}")
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"binary": binary, "onnxruntime": ort.__version__, "runs": a.runs,
                       "conv_runs": a.conv_runs, "rss_floor_bytes": floor, "results": results,
                       "targets": [dict(zip(["target", "model", "onnx-slim", "peer", "required", "met"], r))
                                   for r in rows]}, f, indent=1)
    return 0 if all(r[-1] != "NO" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
