#!/usr/bin/env python3
"""`onnx-slim info` (shape inference, MACs, --layers) beside onnx-tool, side by side in one run.

  1. YOLO-style CNN (models.py, 7.2 M params, 1x3x320x320): `onnx-slim info --json` vs onnx-tool's
     shape_infer + profile: wall time, peak RSS, and the MACs each reports.
  2. A 2.25 GiB transformer with external data (12 layers, hidden 2048, FFN 8192, exporter-style
     Shape/Gather/Concat/Reshape attention; the data file is sparse, so no disk is used):
     `onnx-slim info --layers` vs onnx-tool on the same file (which loads the weights).
     Targets: under 0.5 s and 64 MiB.

Each command runs in a fresh process (bench_io's wrapper: wall time and ru_maxrss), one warm-up
then --runs timed runs; medians are reported.

Usage: python bench_info.py [--bin PATH] [--workdir DIR] [--runs N]
Needs: numpy, onnx, onnx-tool.
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import models  # noqa: E402
from bench_io import measure  # noqa: E402

HIDDEN, HEADS, INTER, LAYERS = 2048, 16, 8192, 12

ONNX_TOOL = """
import sys, numpy, onnx_tool
m = onnx_tool.Model(sys.argv[1])
m.graph.shape_infer({shapes})
m.graph.profile()
print(int(sum(numpy.sum(n.macs) for n in m.graph.nodemap.values())))
"""


def build_big(path):
    """A transformer whose weights are external placeholders in one sparse file."""
    data = os.path.basename(path) + ".data"
    nodes, inits, offset, seen = [], [], [0], {}

    def weight(name, *dims):
        count = int(np.prod(dims))
        t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=list(dims), data_location=TensorProto.EXTERNAL)
        for k, v in (("location", data), ("offset", str(offset[0])), ("length", str(count * 4))):
            t.external_data.add(key=k, value=v)
        offset[0] += count * 4
        inits.append(t)
        return name

    def op(scope, kind, inputs, **attrs):
        k = seen.get((scope, kind), 0)
        seen[(scope, kind)] = k + 1
        name = f"{scope}/{kind}" + (f"_{k}" if k else "")
        nodes.append(helper.make_node(kind, inputs, [name + "_output_0"], name=name, **attrs))
        return name + "_output_0"

    def const(scope, value):
        return op(scope, "Constant", [], value=numpy_helper.from_array(np.array(value, np.int64), ""))

    def linear(scope, x, n_in, n_out):
        return op(scope, "Add", [weight(scope + ".bias", n_out), op(scope, "MatMul", [x, weight(scope + ".weight", n_in, n_out)])])

    def reshape(scope, x, tail):
        dims = [op(scope, "Unsqueeze", [op(scope, "Gather", [op(scope, "Shape", [x]), const(scope, i)], axis=0),
                                         const(scope, [0])]) for i in (0, 1)]
        return op(scope, "Reshape", [x, op(scope, "Concat", dims + [const(scope, list(tail))], axis=0)])

    x = "hidden_states"
    hd = HIDDEN // HEADS
    for i in range(LAYERS):
        s = f"/encoder/layer.{i}"
        q, k, v = (reshape(s + f"/{n}", linear(s + f"/{n}", x, HIDDEN, HIDDEN), [HEADS, hd]) for n in ("query", "key", "value"))
        q = op(s, "Transpose", [q], perm=[0, 2, 1, 3])
        k = op(s, "Transpose", [k], perm=[0, 2, 3, 1])
        v = op(s, "Transpose", [v], perm=[0, 2, 1, 3])
        p = op(s, "Softmax", [op(s, "MatMul", [q, k])], axis=-1)
        ctx = reshape(s + "/ctx", op(s, "Transpose", [op(s, "MatMul", [p, v])], perm=[0, 2, 1, 3]), [HIDDEN])
        x = op(s, "LayerNormalization", [op(s, "Add", [x, linear(s + "/attention.output", ctx, HIDDEN, HIDDEN)]),
                                         weight(s + ".ln1.weight", HIDDEN), weight(s + ".ln1.bias", HIDDEN)], axis=-1)
        h = op(s, "Relu", [linear(s + "/intermediate", x, HIDDEN, INTER)])
        x = op(s, "LayerNormalization", [op(s, "Add", [x, linear(s + "/output", h, INTER, HIDDEN)]),
                                         weight(s + ".ln2.weight", HIDDEN), weight(s + ".ln2.bias", HIDDEN)], axis=-1)
    nodes[-1].output[0] = "last_hidden_state"
    io = lambda n: helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", "sequence", HIDDEN])
    graph = helper.make_graph(nodes, "big_transformer", [io("hidden_states")], [io("last_hidden_state")], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    folder = os.path.dirname(path)
    with open(os.path.join(folder, data), "wb"):
        pass
    os.truncate(os.path.join(folder, data), offset[0])  # sparse: no blocks allocated
    onnx.save(model, path)
    return offset[0]


def ratio(a, b):
    return f"{b / a:.1f}x" if a and b else "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=".build/release/onnx-slim")
    ap.add_argument("--workdir", default="/tmp/onnx-slim-bench")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    slim = os.path.abspath(a.bin)

    yolo = models.ensure("yolo", a.workdir)
    big = os.path.join(a.workdir, "big_transformer.onnx")
    size = build_big(big)
    print(f"[gen] {big}: {len(onnx.load(big, load_external_data=False).graph.node)} nodes, "
          f"{size / 2**30:.2f} GiB of external data (sparse)")

    rows = []
    for label, path, shapes in (("YOLO-style CNN", yolo, ""), (f"transformer, {size / 2**30:.2f} GiB external", big,
                                                                  "{'hidden_states': numpy.zeros((1, 128, %d))}" % HIDDEN)):
        ours = measure(f"onnx-slim info {label}", [slim, "info", path, "--layers"], a.runs)
        # onnx-tool reads every weight of the big model (half a minute): fewer runs there.
        theirs = measure(f"onnx-tool {label}", [sys.executable, "-c", ONNX_TOOL.format(shapes=shapes), path],
                         a.runs if path == yolo else 1)
        rows.append((label, ours, theirs))

    print()
    print("| model | onnx-slim info --layers | onnx-tool | time ratio | onnx-slim RSS | onnx-tool RSS |")
    print("|---|---|---|---|---|---|")
    for label, ours, theirs in rows:
        ot = f"{theirs['wall_s']:.2f} s" if theirs else "failed"
        print(f"| {label} | {ours['wall_s'] * 1000:.0f} ms | {ot} | {ratio(ours['wall_s'], theirs and theirs['wall_s'])} "
              f"| {ours['rss_bytes'] / 2**20:.0f} MiB | {theirs['rss_bytes'] / 2**20:.0f} MiB |" if theirs else
              f"| {label} | {ours['wall_s'] * 1000:.0f} ms | failed | - | {ours['rss_bytes'] / 2**20:.0f} MiB | - |")
    big_ours = rows[1][1]
    ok = big_ours["wall_s"] < 0.5 and big_ours["rss_bytes"] < 64 * 2**20
    print(f"\ninfo --layers on {size / 2**30:.2f} GiB of external data: {big_ours['wall_s'] * 1000:.0f} ms, "
          f"{big_ours['rss_bytes'] / 2**20:.0f} MiB (targets 500 ms, 64 MiB): {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
