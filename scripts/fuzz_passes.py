"""Structure-aware fuzzing of onnx-slim's passes: mutate the testdata models at the ONNX level
(attributes, weight shapes and dtypes, swapped or emptied inputs, NaN/inf weights, shared weights,
opsets, op types, dims of 0 or below on inputs/value_info/outputs/weights) and run every format
and command (info, diff, run, --verify). Any exit code other than 0/1/2, more than one line of
error, or an output left behind by a failure is a bug; an output written for an input that
passes onnx.checker must pass it too.

Usage: .venv/bin/python scripts/fuzz_passes.py .build/release/onnx-slim RUNS [SEED]
Failing inputs are kept in /tmp/pfuzz/ (crash_N.onnx, partial_N.onnx, invalid_N.onnx)."""
import copy, glob, os, random, subprocess, sys

import numpy as np
import onnx
from onnx import numpy_helper
B = sys.argv[1]; N = int(sys.argv[2]); rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
HERE = os.path.dirname(os.path.abspath(__file__))
seed_paths = [p for p in sorted(glob.glob(os.path.join(HERE, "..", "testdata", "*.onnx"))) if "external" not in p]
seeds = [onnx.load(p) for p in seed_paths]
os.makedirs("/tmp/pfuzz", exist_ok=True)
FORMATS = [["--quantize", f] for f in ["int8", "uint8", "int4", "uint4", "fp8", "fp16", "bf16"]] + [["--quantize", "int8", "--int8-mode", m] for m in ["weight-only", "dynamic", "folded"]] + [["--opset", "21"], ["--quantize", "int4", "--asymmetric"], ["--quantize", "int8", "--per-tensor"], ["--quantize", "int8", "--int8-mode", "static", "--calibration-generated", "--calibration-samples", "2"], ["--verify", "2"]]
# Commands that write nothing: the model is given as {src}.
READERS = [["info", "{src}"], ["diff", "{seed}", "{src}"], ["run", "{src}"]]
def mutate(m):
    m = copy.deepcopy(m); g = m.graph
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(10)
        nodes = list(g.node)
        if k == 0 and nodes:  # drop or change an attribute
            n = rng.choice(nodes)
            if n.attribute:
                a = rng.choice(n.attribute)
                if rng.random() < 0.5: n.attribute.remove(a)
                elif a.type == onnx.AttributeProto.INT: a.i = rng.choice([-2, -1, 0, 1, 2, 3, 7])
                elif a.type == onnx.AttributeProto.INTS and a.ints: a.ints[rng.randrange(len(a.ints))] = rng.choice([-1, 0, 1, 2])
        elif k == 1 and g.initializer:  # reshape a weight (same count, different rank)
            t = rng.choice(g.initializer); a = numpy_helper.to_array(t)
            shapes = [(a.size,), (1, a.size), (a.size, 1), (1, 1, a.size)] + ([(a.shape[1], a.shape[0])] if a.ndim == 2 else [])
            t.CopyFrom(numpy_helper.from_array(a.reshape(rng.choice(shapes)), t.name))
        elif k == 2 and g.initializer:  # change a weight's dtype
            t = rng.choice(g.initializer); a = numpy_helper.to_array(t)
            if a.dtype.kind == "f": t.CopyFrom(numpy_helper.from_array(a.astype(rng.choice([np.float16, np.float64, np.int8, np.int64])), t.name))
        elif k == 3 and nodes:  # swap two inputs of a node
            n = rng.choice(nodes)
            if len(n.input) >= 2: i, j = rng.sample(range(len(n.input)), 2); n.input[i], n.input[j] = n.input[j], n.input[i]
        elif k == 4 and nodes:  # empty an optional input
            n = rng.choice(nodes)
            if len(n.input) >= 2: n.input[rng.randrange(1, len(n.input))] = ""
        elif k == 5 and g.initializer:  # weight with NaN/inf/zeros/huge values
            t = rng.choice(g.initializer); a = numpy_helper.to_array(t).copy()
            if a.dtype.kind == "f" and a.size:
                a.flat[rng.randrange(a.size)] = rng.choice([np.nan, np.inf, -np.inf, 0, 1e30, -1e-30])
                if rng.random() < 0.2: a[...] = 0
                t.CopyFrom(numpy_helper.from_array(a, t.name))
        elif k == 6 and nodes:  # reuse a weight in another node
            n = rng.choice(nodes)
            if g.initializer and n.input: n.input[rng.randrange(len(n.input))] = rng.choice(g.initializer).name
        elif k == 7:  # change the opset
            m.opset_import[0].version = rng.choice([7, 9, 11, 13, 17, 19, 21, 22])
        elif k == 9:  # dims of 0 or below: Paddle's -1, garbage -5, empty 0
            v = rng.choice([-1, -5, 0])
            infos = list(g.input) + list(g.value_info) + list(g.output)
            if infos and rng.random() < 0.7:
                dims = rng.choice(infos).type.tensor_type.shape.dim
                if dims:
                    d = dims[rng.randrange(len(dims))]; d.Clear(); d.dim_value = v
            elif g.initializer:
                t = rng.choice(g.initializer)
                if t.dims: t.dims[rng.randrange(len(t.dims))] = v
        elif k == 8 and nodes:  # change an op type to a related one
            n = rng.choice(nodes); n.op_type = rng.choice(["MatMul", "Gemm", "Conv", "Gather", "Add", "Identity", "Transpose", n.op_type])
    return m
bad = 0; counts = {}
for it in range(N):
    seed = rng.randrange(len(seeds))
    try:
        m = mutate(seeds[seed])
    except ValueError:  # a mutation numpy cannot apply to an earlier one (a weight with a 0 dim)
        continue
    src = f"/tmp/pfuzz/in.onnx"; out = f"/tmp/pfuzz/out.onnx"
    open(src, "wb").write(m.SerializeToString())
    if os.path.exists(out): os.remove(out)
    reader = rng.random() < 0.25
    args = [a.format(src=src, seed=seed_paths[seed]) for a in rng.choice(READERS)] if reader else [src, out] + rng.choice(FORMATS)
    r = subprocess.run([B] + args, capture_output=True, text=True, timeout=60)
    counts[r.returncode] = counts.get(r.returncode, 0) + 1
    if r.returncode not in (0, 1, 2) or (r.returncode != 0 and len(r.stderr.strip().splitlines()) != 1):
        bad += 1; keep = f"/tmp/pfuzz/crash_{it}.onnx"; os.rename(src, keep)
        print("CRASH", it, args[2:] if not reader else args[:1], r.returncode, r.stderr.strip().splitlines()[:2], keep)
        continue
    if r.returncode != 0 and os.path.exists(out):
        bad += 1; keep = f"/tmp/pfuzz/partial_{it}.onnx"; os.rename(src, keep)
        print("PARTIAL OUTPUT", it, args[2:], keep)
        continue
    if r.returncode == 0 and not reader:
        try:
            onnx.checker.check_model(src)
        except Exception:
            continue
        try:
            onnx.checker.check_model(out)
        except Exception as e:
            bad += 1; keep = f"/tmp/pfuzz/invalid_{it}.onnx"; os.rename(src, keep)
            print("INVALID OUTPUT", it, args, str(e).splitlines()[0][:200], keep)
print("runs", N, "exit codes", counts, "problems", bad)
