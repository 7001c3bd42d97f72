#!/usr/bin/env python3
"""I/O benchmark: onnx-slim vs. the onnx Python package, side by side.

Measures, in one run:
  1. round trip (load + save, whole process) of a ~90 MB BERT-style model that
     mimics a torch.onnx.export (opset 17): wall time and peak RSS;
  2. the same round trip to a .zst output (onnx-slim only): time and ratio;
  3. `onnx-slim info` wall time vs. onnx.load(load_external_data=False) + op counts;
  4. `info` on a model with > 2 GiB of external data (a sparse file; no real
     disk use): wall time and peak RSS.

Every command runs in a fresh wrapper process (python -S, os.posix_spawn +
os.wait4), which reports the child's wall time and ru_maxrss. Page caches
cannot be dropped without root, so each command gets one warm-up run first
and all figures are warm-cache figures.

Usage: python bench_io.py [--bin PATH] [--workdir DIR] [--runs N] [--json-out FILE]
Needs: numpy, onnx, onnxruntime (only to verify the generated model once).
"""
import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# BERT-like sizes chosen to land near 90 MB (6 layers x 12.6 MB + embeddings).
HIDDEN, HEADS, LAYERS, INTER, VOCAB, MAX_POS, TYPE_VOCAB = 512, 8, 6, 2048, 6000, 512, 2
BIG_SHAPES = [(16384, 8192), (8192, 16384)] * 2 + [(16384, 8192)]  # 5 x 512 MiB
MIB = 1024 * 1024

# Runs argv[1:] in a child, prints {"rc", "wall", "maxrss_kb", "err"} as JSON.
WRAPPER = r"""
import json, os, sys, time
t = time.perf_counter()
r, w = os.pipe()
fa = [(os.POSIX_SPAWN_DUP2, w, 2), (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ, file_actions=fa)
os.close(w)
err = b"".join(iter(lambda: os.read(r, 65536), b""))
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t
print(json.dumps({"rc": os.waitstatus_to_exitcode(status), "wall": wall,
                  "maxrss_kb": ru.ru_maxrss, "err": err.decode(errors="replace")[-2000:]}))
"""

PEER_ROUNDTRIP = "import onnx,sys; onnx.save(onnx.load(sys.argv[1]), sys.argv[2])"
PEER_INFO = (
    "import collections,sys,onnx\n"
    "m=onnx.load(sys.argv[1], load_external_data=False)\n"
    "print(m.ir_version, [(o.domain, o.version) for o in m.opset_import])\n"
    "c=collections.Counter(n.op_type for n in m.graph.node)\n"
    "for k in sorted(c): print(k, c[k])\n"
    "n=0\n"
    "for t in m.graph.initializer:\n"
    "    p=1\n"
    "    for d in t.dims: p*=d\n"
    "    n+=p\n"
    "print('parameters', n)\n"
)


# ---------------------------------------------------------------- generation
class Builder:
    """Emits nodes/initializers named the way torch.onnx.export names them."""

    def __init__(self):
        self.nodes, self.inits = [], []
        self.seen = collections.Counter()
        self.matmul_id = 172  # torch numbers transposed Linear weights onnx::MatMul_NNN

    def op(self, scope, op_type, inputs, out=None, **attrs):
        k = self.seen[(scope, op_type)]
        self.seen[(scope, op_type)] += 1
        name = f"{scope}/{op_type}" + (f"_{k}" if k else "")
        out = out or f"{name}_output_0"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name, **attrs))
        return out

    def const(self, scope, value, dtype=np.int64):
        arr = np.array(value, dtype=dtype)
        return self.op(scope, "Constant", [], value=numpy_helper.from_array(arr, ""))

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def matmul_weight(self, arr):
        name = f"onnx::MatMul_{self.matmul_id}"
        self.matmul_id += 1
        return self.init(name, arr)


def build_bert():
    rng = np.random.default_rng(0)
    b = Builder()

    def rand(*shape):
        return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)

    def linear(scope, x, prefix, n_in, n_out):
        y = b.op(scope, "MatMul", [x, b.matmul_weight(rand(n_in, n_out))])
        return b.op(scope, "Add", [b.init(f"{prefix}.bias", rand(n_out)), y])

    def layer_norm(scope, x, prefix, out=None):
        w = b.init(f"{prefix}.weight", np.ones(HIDDEN, np.float32))
        bias = b.init(f"{prefix}.bias", np.zeros(HIDDEN, np.float32))
        return b.op(scope, "LayerNormalization", [x, w, bias], out=out, axis=-1, epsilon=1e-12)

    def dim(scope, x, i):  # Shape -> Gather(i) -> Unsqueeze, as torch exports x.size(i)
        g = b.op(scope, "Gather", [b.op(scope, "Shape", [x]), b.const(scope, i)], axis=0)
        return b.op(scope, "Unsqueeze", [g, b.const(scope, [0])])

    def reshape(scope, x, tail):
        shape = b.op(scope, "Concat", [dim(scope, x, 0), dim(scope, x, 1)] +
                     [b.const(scope, [t]) for t in tail], axis=0)
        return b.op(scope, "Reshape", [x, shape], allowzero=0)

    # embeddings
    pos_ids = b.init("embeddings.position_ids", np.arange(MAX_POS, dtype=np.int64)[None])
    word = b.init("embeddings.word_embeddings.weight", rand(VOCAB, HIDDEN))
    pos_w = b.init("embeddings.position_embeddings.weight", rand(MAX_POS, HIDDEN))
    tt_w = b.init("embeddings.token_type_embeddings.weight", rand(TYPE_VOCAB, HIDDEN))
    s = "/embeddings"
    seq = dim(s, "input_ids", 1)
    pos = b.op(s, "Slice", [pos_ids, b.const(s, [0]), seq,
                            b.const(s, [1]), b.const(s, [1])])
    x = b.op(s + "/word_embeddings", "Gather", [word, "input_ids"])
    x = b.op(s, "Add", [x, b.op(s + "/token_type_embeddings", "Gather", [tt_w, "token_type_ids"])])
    x = b.op(s, "Add", [x, b.op(s + "/position_embeddings", "Gather", [pos_w, pos])])
    x = layer_norm(s + "/LayerNorm", x, "embeddings.LayerNorm")
    # extended attention mask: (1 - mask[:, None, None, :]) * finfo.min
    m = b.op("", "Unsqueeze", ["attention_mask", b.const("", [1])])
    m = b.op("", "Unsqueeze", [m, b.const("", [2])])
    m = b.op("", "Cast", [m], to=TensorProto.FLOAT)
    m = b.op("", "Sub", [b.const("", 1.0, np.float32), m])
    mask = b.op("", "Mul", [m, b.const("", np.finfo(np.float32).min, np.float32)])

    hd = HIDDEN // HEADS
    for i in range(LAYERS):
        p, pre = f"/encoder/layer.{i}", f"encoder.layer.{i}"
        s = p + "/attention/self"
        q = linear(s + "/query", x, pre + ".attention.self.query", HIDDEN, HIDDEN)
        k = linear(s + "/key", x, pre + ".attention.self.key", HIDDEN, HIDDEN)
        v = linear(s + "/value", x, pre + ".attention.self.value", HIDDEN, HIDDEN)
        q = b.op(s, "Transpose", [reshape(s, q, [HEADS, hd])], perm=[0, 2, 1, 3])
        k = b.op(s, "Transpose", [reshape(s, k, [HEADS, hd])], perm=[0, 2, 3, 1])
        v = b.op(s, "Transpose", [reshape(s, v, [HEADS, hd])], perm=[0, 2, 1, 3])
        scores = b.op(s, "Div", [b.op(s, "MatMul", [q, k]), b.const(s, np.sqrt(hd), np.float32)])
        probs = b.op(s, "Softmax", [b.op(s, "Add", [scores, mask])], axis=-1)
        ctx = b.op(s, "Transpose", [b.op(s, "MatMul", [probs, v])], perm=[0, 2, 1, 3])
        ctx = reshape(s, ctx, [HIDDEN])
        o = p + "/attention/output"
        y = linear(o + "/dense", ctx, pre + ".attention.output.dense", HIDDEN, HIDDEN)
        x = layer_norm(o + "/LayerNorm", b.op(o, "Add", [y, x]), pre + ".attention.output.LayerNorm")
        h = linear(p + "/intermediate/dense", x, pre + ".intermediate.dense", HIDDEN, INTER)
        g = p + "/intermediate/intermediate_act_fn"  # gelu(x) = x * 0.5 * (1 + erf(x / sqrt 2))
        e = b.op(g, "Erf", [b.op(g, "Div", [h, b.const(g, 1.4142135, np.float32)])])
        e = b.op(g, "Add", [e, b.const(g, 1.0, np.float32)])
        h = b.op(g, "Mul", [b.op(g, "Mul", [h, e]), b.const(g, 0.5, np.float32)])
        y = linear(p + "/output/dense", h, pre + ".output.dense", INTER, HIDDEN)
        last = i == LAYERS - 1
        x = layer_norm(p + "/output/LayerNorm", b.op(p + "/output", "Add", [y, x]),
                       pre + ".output.LayerNorm", out="last_hidden_state" if last else None)
    # pooler: tanh(dense(x[:, 0]))
    first = b.op("/pooler", "Gather", [x, b.const("/pooler", 0)], axis=1)
    y = linear("/pooler/dense", first, "pooler.dense", HIDDEN, HIDDEN)
    b.op("/pooler/activation", "Tanh", [y], out="pooler_output")

    ids = lambda n: helper.make_tensor_value_info(n, TensorProto.INT64, ["batch_size", "sequence_length"])
    graph = helper.make_graph(
        b.nodes, "main_graph", [ids("input_ids"), ids("attention_mask"), ids("token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                       ["batch_size", "sequence_length", HIDDEN]),
         helper.make_tensor_value_info("pooler_output", TensorProto.FLOAT, ["batch_size", HIDDEN])],
        initializer=b.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8,
                             producer_name="pytorch", producer_version="2.1.0")


def ensure_bert(workdir):
    path = os.path.join(workdir, "bert_90mb.onnx")
    if os.path.exists(path):
        print(f"[gen] using cached {path}")
        return path
    tmp = path + ".tmp"
    onnx.save(build_bert(), tmp)
    onnx.checker.check_model(tmp, full_check=True)
    import onnxruntime as ort
    sess = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    feed = {"input_ids": rng.integers(0, VOCAB, (2, 16), dtype=np.int64),
            "attention_mask": np.ones((2, 16), np.int64),
            "token_type_ids": np.zeros((2, 16), np.int64)}
    hidden, pooled = sess.run(None, feed)
    assert hidden.shape == (2, 16, HIDDEN) and pooled.shape == (2, HIDDEN)
    assert np.isfinite(hidden).all() and np.isfinite(pooled).all()
    os.replace(tmp, path)
    print(f"[gen] wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB); checker + onnxruntime OK")
    return path


def ensure_big_external(workdir):
    path = os.path.join(workdir, "big_external.onnx")
    data = "big_external.onnx.data"
    total = sum(r * c * 4 for r, c in BIG_SHAPES)
    if os.path.exists(path) and os.path.getsize(os.path.join(workdir, data)) == total:
        print(f"[gen] using cached {path}")
        return path, total
    inits, nodes, offset, x = [], [], 0, "x"
    for i, (r, c) in enumerate(BIG_SHAPES):
        w = TensorProto(name=f"layers.{i}.weight", data_type=TensorProto.FLOAT, dims=[r, c],
                        data_location=TensorProto.EXTERNAL)
        for k, val in (("location", data), ("offset", str(offset)), ("length", str(r * c * 4))):
            w.external_data.add(key=k, value=val)
        inits.append(w)
        offset += r * c * 4
        y = f"/layers.{i}/MatMul_output_0"
        nodes.append(helper.make_node("MatMul", [x, w.name], [y], name=f"/layers.{i}/MatMul"))
        x = y
    nodes.append(helper.make_node("Identity", [x], ["y"], name="/Identity"))
    graph = helper.make_graph(
        nodes, "big", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", BIG_SHAPES[0][0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", BIG_SHAPES[-1][1]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    open(os.path.join(workdir, data), "wb").close()
    os.truncate(os.path.join(workdir, data), total)  # sparse: no blocks allocated
    onnx.save(model, path)
    print(f"[gen] wrote {path} + sparse {data} ({total / 2**30:.2f} GiB apparent)")
    return path, total


# ---------------------------------------------------------------- measuring
def run_once(argv):
    exe = shutil.which(argv[0]) or argv[0]
    out = subprocess.run([sys.executable, "-S", "-c", WRAPPER, exe] + argv[1:],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def measure(label, argv, runs):
    """One warm-up run, then `runs` timed runs. Returns medians, or None on failure."""
    samples = []
    for i in range(runs + 1):
        r = run_once(argv)
        if r["rc"] != 0:
            print(f"[FAIL] {label}: exit {r['rc']} on run {i}: {r['err'].strip()}")
            return None
        if i:  # run 0 is the warm-up
            samples.append(r)
    walls = [s["wall"] for s in samples]
    rss = [s["maxrss_kb"] * 1024 for s in samples]
    res = {"wall_s": statistics.median(walls), "rss_bytes": statistics.median(rss),
           "wall_min": min(walls), "wall_max": max(walls)}
    print(f"[run] {label}: median {res['wall_s'] * 1e3:.1f} ms (min {min(walls) * 1e3:.1f}, "
          f"max {max(walls) * 1e3:.1f}), peak RSS {res['rss_bytes'] / MIB:.1f} MiB")
    return res


def check_roundtrip(src, dst, label):
    """The output must parse and equal the input (protobuf message equality)."""
    try:
        same = onnx.load(dst, load_external_data=False) == onnx.load(src, load_external_data=False)
    except Exception as e:  # noqa: BLE001 - report whatever went wrong
        print(f"[FAIL] {label}: output does not load: {e}")
        return False
    print(f"[check] {label}: output {'equals' if same else 'DIFFERS FROM'} input")
    return same


def bench_roundtrip(bin_, model, workdir, runs):
    ours_out, peer_out = os.path.join(workdir, "out.onnx"), os.path.join(workdir, "out_py.onnx")
    ours = measure("onnx-slim convert", [bin_, model, ours_out], runs)
    peer = measure("onnx.load+onnx.save", [sys.executable, "-c", PEER_ROUNDTRIP, model, peer_out], runs)
    if ours:
        ours["faithful"] = check_roundtrip(model, ours_out, "onnx-slim convert")
    return ours, peer


def bench_zst(bin_, model, workdir, runs):
    out = os.path.join(workdir, "out.onnx.zst")
    res = measure("onnx-slim convert -> .zst", [bin_, model, out], runs)
    if res:
        res["ratio"] = os.path.getsize(model) / os.path.getsize(out)
        if shutil.which("zstd"):  # decode with the reference tool, compare to the input
            back = os.path.join(workdir, "out_from_zst.onnx")
            subprocess.run(["zstd", "-d", "-q", "-f", out, "-o", back], check=True)
            res["faithful"] = check_roundtrip(model, back, "onnx-slim .zst (zstd -d)")
    return res


def bench_info(bin_, model, runs, label):
    ours = measure(f"onnx-slim info ({label})", [bin_, "info", model], runs)
    peer = measure(f"onnx.load(no ext) + counts ({label})", [sys.executable, "-c", PEER_INFO, model], runs)
    return ours, peer


# ---------------------------------------------------------------- reporting
def row(metric, ours, peer, ratio, target, met):
    return {"metric": metric, "onnx-slim": ours, "peer": peer, "ratio": ratio,
            "target": target, "met": met}


def build_rows(size, rt, zst, info, big):
    rows, na = [], "n/a"
    ours, peer = rt
    f = lambda v, fmt: na if v is None else fmt.format(v)
    if ours and peer:
        r = peer["wall_s"] / ours["wall_s"]
        rows.append(row("round trip wall (s)", f"{ours['wall_s']:.3f}", f"{peer['wall_s']:.3f}",
                        f"{r:.1f}x faster", ">= 4x faster", r >= 4))
    else:
        rows.append(row("round trip wall (s)", f(ours and ours["wall_s"], "{:.3f}"),
                        f(peer and peer["wall_s"], "{:.3f}"), na, ">= 4x faster", False))
    o_rss = ours and ours["rss_bytes"] / size
    p_rss = peer and peer["rss_bytes"] / size
    rows.append(row("round trip peak RSS (x file size)", f(o_rss, "{:.2f}x"), f(p_rss, "{:.2f}x"),
                    na if not (o_rss and p_rss) else f"{p_rss / o_rss:.1f}x less",
                    "<= 1.3x file", bool(o_rss and o_rss <= 1.3)))
    rows.append(row("round trip output == input", f(ours and ours.get("faithful"), "{}"), "-", "-",
                    "True", bool(ours and ours.get("faithful"))))
    rows.append(row(".zst round trip wall (s)", f(zst and zst["wall_s"], "{:.3f}"), "-", "-", "-", None))
    rows.append(row(".zst compression ratio", f(zst and zst.get("ratio"), "{:.3f}"), "-", "-", "-", None))
    rows.append(row(".zst peak RSS (x file size)", f(zst and zst["rss_bytes"] / size, "{:.2f}x"),
                    "-", "-", "-", None))
    for (ours, peer), name, tgt, tgt_s in ((info, "info wall (ms)", 0.050, "< 50 ms"),
                                           (big, "info >2GiB ext wall (ms)", 0.200, "< 200 ms")):
        ratio = f"{peer['wall_s'] / ours['wall_s']:.1f}x faster" if ours and peer else na
        rows.append(row(name, f(ours and ours["wall_s"] * 1e3, "{:.1f}"),
                        f(peer and peer["wall_s"] * 1e3, "{:.1f}"), ratio, tgt_s,
                        bool(ours and ours["wall_s"] < tgt)))
    ours, peer = info
    rows.append(row("info peak RSS (MiB)", f(ours and ours["rss_bytes"] / MIB, "{:.1f}"),
                    f(peer and peer["rss_bytes"] / MIB, "{:.1f}"), "-", "-", None))
    ours, peer = big
    rows.append(row("info >2GiB ext peak RSS (MiB)", f(ours and ours["rss_bytes"] / MIB, "{:.1f}"),
                    f(peer and peer["rss_bytes"] / MIB, "{:.1f}"),
                    f"{peer['rss_bytes'] / ours['rss_bytes']:.1f}x less" if ours and peer else na,
                    "< 64 MiB", bool(ours and ours["rss_bytes"] < 64 * MIB)))
    return rows


def print_table(rows):
    cols = ["metric", "onnx-slim", "peer", "ratio", "target", "met"]
    met = lambda m: "-" if m is None else ("yes" if m else "NO")
    fmt = lambda r: [met(r[c]) if c == "met" else str(r[c]) for c in cols]
    cells = [cols] + [fmt(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(cols))]
    line = lambda c: "| " + " | ".join(x.ljust(w) for x, w in zip(c, widths)) + " |"
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for c in cells[1:]:
        print(line(c))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="/tmp/onnx-slim-bin/onnx-slim")
    ap.add_argument("--workdir", default="/tmp/onnx-slim-bench")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json-out")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    bin_ = os.path.abspath(a.bin)

    model = ensure_bert(a.workdir)
    big, big_size = ensure_big_external(a.workdir)
    size = os.path.getsize(model)
    floor = run_once(["/bin/true"])["maxrss_kb"] * 1024
    print(f"[env] model {size / 1e6:.1f} MB; {a.runs} timed runs per command after 1 warm-up "
          f"(warm page cache; caches are not dropped); wrapper RSS floor {floor / MIB:.1f} MiB "
          "(a child's ru_maxrss is never below its spawner's RSS at exec: a floor, not an offset)")

    rt = bench_roundtrip(bin_, model, a.workdir, a.runs)
    zst = bench_zst(bin_, model, a.workdir, a.runs)
    info = bench_info(bin_, model, a.runs, "bert")
    big_res = bench_info(bin_, big, a.runs, f"{big_size / 2**30:.1f} GiB external")
    rows = build_rows(size, rt, zst, info, big_res)
    print()
    print_table(rows)
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump({"model_bytes": size, "big_external_bytes": big_size, "runs": a.runs,
                       "warmup_runs": 1, "rss_floor_bytes": floor, "binary": bin_,
                       "rows": rows, "raw": {"roundtrip": rt, "zst": zst, "info": info,
                                             "info_big_external": big_res}}, f, indent=2)
    return 0 if all(r["met"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
