#!/usr/bin/env python3
"""When is MatMul(MatMul(x, A), B) faster than MatMul(x, W) in onnxruntime on this CPU?

For dense layers of the shapes our trained models have (m inputs, n outputs) and token counts
T, times the dense product and the factored pair at ranks r given as a fraction of the
break-even rank m·n/(m+n) (where the pair has as many parameters as W), single-threaded and
with all threads, median of --runs in interleaved rounds. Prints, per shape, the largest rank
fraction at which the pair is not slower. LowRankPass's rule (`RankAllocation.maxRank`) comes
from this table.

Usage: python bench_lowrank_speed.py [--runs N]
"""
import argparse
import platform
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def model(m, n, r):
    rng = np.random.default_rng(0)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", m])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["T", n])
    if r is None:
        inits = [numpy_helper.from_array(rng.standard_normal((m, n)).astype(np.float32), "w")]
        nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    else:
        inits = [numpy_helper.from_array(rng.standard_normal((m, r)).astype(np.float32), "a"),
                 numpy_helper.from_array(rng.standard_normal((r, n)).astype(np.float32), "b")]
        nodes = [helper.make_node("MatMul", ["x", "a"], ["h"]), helper.make_node("MatMul", ["h", "b"], ["y"])]
    g = helper.make_graph(nodes, "g", [x], [y], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()


def session(blob, threads):
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    return ort.InferenceSession(blob, o, providers=["CPUExecutionProvider"])


def median_time(s, feed, runs):
    for _ in range(3):
        s.run(None, feed)
    t = []
    for _ in range(runs):
        a = time.perf_counter()
        s.run(None, feed)
        t.append(time.perf_counter() - a)
    return float(np.median(t))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    print(f"onnxruntime {ort.__version__}, {platform.processor() or platform.machine()}")
    cpu = next((l.split(":")[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"CPU: {cpu}\n")
    fractions = [0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    print("| m×n | T | threads | " + " | ".join(f"r={f:.0%}" for f in fractions) + " |")
    print("|---|---|---|" + "---|" * len(fractions))
    for m, n in [(384, 384), (384, 1536), (1536, 384), (576, 576), (576, 1536), (1536, 576), (128, 128), (64, 256)]:
        even = m * n / (m + n)
        dense = session(model(m, n, None), 1)
        pairs = {f: model(m, n, max(1, int(f * even))) for f in fractions}
        for T in [16, 128, 512]:
            for threads in [1, 0]:
                feed = {"x": np.random.default_rng(1).standard_normal((T, m)).astype(np.float32)}
                d = session(model(m, n, None), threads)
                ss = {f: session(b, threads) for f, b in pairs.items()}
                base, ratios = [], {f: [] for f in fractions}
                for _ in range(3):
                    tb = median_time(d, feed, args.runs)
                    base.append(tb)
                    for f, s in ss.items():
                        ratios[f].append(tb / median_time(s, feed, args.runs))
                cells = [f"{np.median(ratios[f]):.2f}x" for f in fractions]
                print(f"| {m}×{n} | {T} | {threads or 'all'} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
