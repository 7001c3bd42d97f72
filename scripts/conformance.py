#!/usr/bin/env python3
"""Runs the ONNX backend node tests (Debian's libonnx-testdata) through `onnx-slim run`.

Each test is a folder with model.onnx and test_data_set_*/{input,output}_K.pb. A test is
"unsupported" when its graph uses an operator `onnx-slim run --list-ops` does not name, or its
data sets hold sequences/optionals (not tensors); otherwise it passes when every output of every
data set matches at the corpus's tolerance (numpy allclose rtol=1e-3, atol=1e-7, as
onnx.backend.test uses by default; integers, bools and strings exactly; dtypes equal).

    .venv/bin/python scripts/conformance.py --bin .build/release/onnx-slim [--ops Add,Conv] [-v]
"""
import argparse
import concurrent.futures
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

CORPUS = "/usr/share/libonnx-testdata/data/node"
RTOL, ATOL = 1e-3, 1e-7

# Tests whose stored data contradict their own model: ONNX 1.12 wrote bfloat16 tensors as UINT16
# (and computed the expected values by truncation). Counted as unsupported, with this reason.
CORPUS_DEFECTS = {
    name: "the corpus stores bfloat16 data as uint16 (ONNX 1.12 test data)"
    for name in ("test_cast_BFLOAT16_to_FLOAT", "test_cast_FLOAT_to_BFLOAT16",
                 "test_castlike_BFLOAT16_to_FLOAT", "test_castlike_BFLOAT16_to_FLOAT_expanded",
                 "test_castlike_FLOAT_to_BFLOAT16", "test_castlike_FLOAT_to_BFLOAT16_expanded")
}


def graph_ops(graph, out):
    for n in graph.node:
        out.add(n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}")
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                graph_ops(a.g, out)
            for g in a.graphs:
                graph_ops(g, out)
    return out


def load_pb(path):
    """A tensor from a .pb file, or None when the file holds a sequence/optional/map."""
    t = onnx.TensorProto()
    data = open(path, "rb").read()
    try:
        t.ParseFromString(data)
    except Exception:
        return None
    if t.data_type == 0:
        return None
    try:
        return numpy_helper.to_array(t)
    except Exception:   # a SequenceProto/OptionalProto that happens to parse as a TensorProto
        return None


def compare(expected, actual):
    """None when equal at the corpus tolerance, else a short reason."""
    if expected.dtype != actual.dtype:
        return f"dtype {actual.dtype} != expected {expected.dtype}"
    if expected.shape != actual.shape:
        return f"shape {actual.shape} != expected {expected.shape}"
    if expected.dtype.kind in "fc":
        try:
            np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)
        except AssertionError:
            e64, a64 = expected.astype(np.float64), actual.astype(np.float64)
            with np.errstate(invalid="ignore"):
                err = np.nanmax(np.abs(e64 - a64)) if e64.size else 0
            return f"values differ (max abs error {err:.3g})"
        return None
    if not np.array_equal(expected, actual):
        return "values differ"
    return None


def run_test(binary, folder, supported):
    name = os.path.basename(folder)
    model = onnx.load(os.path.join(folder, "model.onnx"))
    ops = graph_ops(model.graph, set())
    if name in CORPUS_DEFECTS:
        return name, "unsupported", CORPUS_DEFECTS[name], sorted(ops)
    missing = sorted(ops - supported)
    if missing:
        return name, "unsupported", "operators: " + ", ".join(missing), sorted(ops)
    sets = sorted(glob.glob(os.path.join(folder, "test_data_set_*")))
    for data in sets:
        outputs = sorted(glob.glob(os.path.join(data, "output_*.pb")), key=lambda p: int(p.rsplit("_", 1)[1][:-3]))
        inputs = glob.glob(os.path.join(data, "input_*.pb"))
        expected = [load_pb(p) for p in outputs]
        if any(e is None for e in expected) or any(load_pb(p) is None for p in inputs):
            return name, "unsupported", "sequence/optional data", sorted(ops)
        with tempfile.TemporaryDirectory() as out:
            proc = subprocess.run([binary, "run", os.path.join(folder, "model.onnx"), "--inputs", data,
                                   "--outputs", out, "--output-format", "pb", "--json"],
                                  capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                message = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
                kind = "unsupported" if "unsupported" in message else "fail"
                return name, kind, message, sorted(ops)
            report = json.loads(proc.stdout)
            files = [o.get("file") for o in report["outputs"]]
            for k, exp in enumerate(expected):
                if k >= len(files) or files[k] is None:
                    return name, "fail", f"output {k} missing", sorted(ops)
                reason = compare(exp, load_pb(files[k]))
                if reason:
                    return name, "fail", f"{os.path.basename(data)} output {k}: {reason}", sorted(ops)
    return name, "pass", "", sorted(ops)


def run_corpus(binary, only_ops=None, jobs=2):
    listing = subprocess.run([binary, "run", "--list-ops"], capture_output=True, text=True, check=True)
    supported = set(listing.stdout.split())
    folders = sorted(glob.glob(os.path.join(CORPUS, "*")))
    folders = [f for f in folders if os.path.exists(os.path.join(f, "model.onnx"))]
    if only_ops:
        wanted = set(only_ops)
        folders = [f for f in folders if graph_ops(onnx.load(os.path.join(f, "model.onnx")).graph, set()) & wanted]
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(lambda f: run_test(binary, f, supported), folders))
    return results, supported


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=".build/release/onnx-slim")
    ap.add_argument("--ops", help="only tests using one of these operators (comma-separated)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("-v", "--verbose", action="store_true", help="list failing and unsupported tests")
    args = ap.parse_args()
    results, _ = run_corpus(os.path.abspath(args.bin), args.ops.split(",") if args.ops else None, args.jobs)
    counts = {k: sum(1 for r in results if r[1] == k) for k in ("pass", "fail", "unsupported")}
    for name, kind, why, _ in results:
        if kind == "fail" or (args.verbose and kind == "unsupported"):
            print(f"{kind:12s} {name}: {why}")
    total = len(results)
    print(f"conformance: {counts['pass']} pass, {counts['fail']} fail, {counts['unsupported']} unsupported "
          f"of {total} node tests ({100 * counts['pass'] / max(total, 1):.1f}% pass)")
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
