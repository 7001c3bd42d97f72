#!/usr/bin/env python3
"""Checks `onnx-slim info`'s shape inference against the ONNX conformance corpus: each node test
is inferred with its inputs' shapes fixed (--input-shape), and every tensor output's inferred
element type and shape must equal the reference output's. Prints per-test results and a summary.

    .venv/bin/python scripts/shape_conformance.py --bin .build/release/onnx-slim [-v] [--ops A,B]
"""
import argparse, json, os, shutil, subprocess, sys, tempfile
from concurrent.futures import ThreadPoolExecutor

import onnx

CORPUS = "/usr/share/libonnx-testdata/data/node"


def test_data(case, values, prefix):
    """(value, its TensorProto in test_data_set_0/{prefix}_K.pb) for the K-th of `values`, when
    that value is a tensor and the file exists."""
    data = os.path.join(case, "test_data_set_0")
    out = []
    for k, v in enumerate(values):
        path = os.path.join(data, f"{prefix}_{k}.pb")
        if os.path.exists(path) and v.type.HasField("tensor_type"):
            out.append((v, onnx.load_tensor(path)))
    return out


def expected_outputs(case, model):
    return {o.name: t for o, t in test_data(case, model.graph.output, "output")}


def test_inputs(case, model):
    """(graph input, its TensorProto) for each tensor input of the test."""
    inits = {i.name for i in model.graph.initializer}
    return test_data(case, [i for i in model.graph.input if i.name not in inits], "input")


DTYPES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 8: "string",
          9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128",
          16: "bfloat16", 17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz",
          21: "uint4", 22: "int4", 23: "float4e2m1"}


def with_constant_inputs(model, inputs, folder, name):
    """The model with small integer inputs (shapes, axes, K …) and Resize scales made initializers
    holding the test's values, so inference sees them as users' models have them. Returns the
    path (None when nothing changed) and the inputs left."""
    left = []
    for i, t in inputs:
        count = 1
        for d in t.dims:
            count *= d
        scale = t.data_type == 1 and any(n.op_type in ("Resize", "Upsample") and i.name in n.input[1:] for n in model.graph.node)
        if count <= 16 and (t.data_type in (6, 7) or scale):
            t.name = i.name
            model.graph.initializer.append(t)
        else:
            left.append((i, t))
    if len(left) == len(inputs):
        return None, inputs
    path = os.path.join(folder, name + ".onnx")
    onnx.save(model, path)
    return path, left


def check(binary, case, folder):
    """(status, detail): status is pass, fail, gap (not inferred) or skip."""
    model = onnx.load(os.path.join(case, "model.onnx"))
    expected = expected_outputs(case, model)
    if not expected:
        return "skip", "no tensor outputs"
    declared = {o.name: o.type.tensor_type.elem_type for o in model.graph.output}
    path, left = with_constant_inputs(model, test_inputs(case, model), folder, os.path.basename(case))
    path = path or os.path.join(case, "model.onnx")
    args = [a for i, t in left for a in ("--input-shape", f"{i.name}:" + ",".join(str(d) for d in t.dims))]
    run = subprocess.run([binary, "info", path, "--json"] + args, capture_output=True, text=True)
    if run.returncode != 0:
        if "the model declares" in run.stderr:
            return "skip", "the test data's rank differs from the model's"
        return "fail", run.stderr.strip()
    inferred = json.loads(run.stdout)["compute"]["outputs"]
    for name, t in expected.items():
        # bfloat16 references are stored as uint16 in older corpora: the model's type is the truth.
        want = f"{DTYPES.get(declared.get(name) or t.data_type, '?')}[{','.join(str(d) for d in t.dims)}]"
        got = inferred.get(name, "?")
        if got == want:
            continue
        if "?" in got or "…" in got:
            return "gap", f"{name}: inferred {got}, reference {want}"
        return "fail", f"{name}: inferred {got}, reference {want}"
    return "pass", ""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--ops", default="")
    p.add_argument("-v", action="store_true")
    a = p.parse_args()
    cases = sorted(d for d in os.listdir(CORPUS) if os.path.exists(os.path.join(CORPUS, d, "model.onnx")))
    if a.ops:
        wanted = {o.lower() for o in a.ops.split(",")}
        cases = [c for c in cases if any(c.startswith("test_" + w) for w in wanted)]
    folder = tempfile.mkdtemp(prefix="shape-conformance-")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: (c, *check(a.bin, os.path.join(CORPUS, c), folder)), cases))
    shutil.rmtree(folder)
    counts = {}
    for c, status, detail in results:
        counts[status] = counts.get(status, 0) + 1
        if a.v or status == "fail":
            print(f"{status:5} {c} {detail}")
    print(" ".join(f"{k} {v}" for k, v in sorted(counts.items())), f"of {len(results)}")
    return 0 if counts.get("fail", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
