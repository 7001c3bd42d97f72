"""`onnx-slim info MODEL --json` against numbers computed independently in
Python, and `info` on a model whose external data is 3 GiB (must not read it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import onnx
import pytest
from onnx import TensorProto, helper

from slim_helpers import TESTDATA, element_count, iter_graphs, iter_tensors, list_testdata_models


def _info_json(slim, path) -> dict:
    proc = slim("info", path, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _op_counts(model: onnx.ModelProto) -> Counter:
    """Nodes by op type over the main graph, every subgraph and model-local
    functions; non-default domains are written "domain.Op"."""
    counts = Counter()

    def key(node):
        return node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"

    for g in iter_graphs(model.graph):
        counts.update(key(n) for n in g.node)
    for f in model.functions:
        counts.update(key(n) for n in f.node)
    return counts


@pytest.mark.parametrize("model", list_testdata_models(), ids=os.path.basename)
def test_info_json_matches_python(model, slim):
    """info --json reports: parameters = sum of element counts of every tensor
    (initializers, Constant/attribute tensors, subgraph tensors); op_counts =
    node counts over the main graph and all subgraphs; nodes = their total;
    inputs = graph inputs minus initializers, in order; outputs in order."""
    info = _info_json(slim, model)
    m = onnx.load(model, load_external_data=False)

    assert info["parameters"] == sum(element_count(t) for t in iter_tensors(m))
    expected_ops = _op_counts(m)
    assert dict(info["op_counts"]) == dict(expected_ops)
    assert info["nodes"] == sum(expected_ops.values())
    initializers = {t.name for t in m.graph.initializer}
    assert [i["name"] for i in info["inputs"]] == \
        [i.name for i in m.graph.input if i.name not in initializers]
    assert [o["name"] for o in info["outputs"]] == [o.name for o in m.graph.output]
    assert info["ir_version"] == m.ir_version
    assert info["file_size"] == os.path.getsize(model)


def test_info_external_files(slim):
    """On external_data.onnx, external_files lists exactly the relative data
    file name."""
    info = _info_json(slim, os.path.join(TESTDATA, "external_data.onnx"))
    assert info["external_files"] == ["external_data.onnx.data"]


def test_info_without_external_data_lists_no_files(slim):
    """A self-contained model reports no external files."""
    info = _info_json(slim, os.path.join(TESTDATA, "tiny_mlp.onnx"))
    assert info["external_files"] == []


# --------------------------------------------------------------------------
# huge external data: info must only look at the graph
# --------------------------------------------------------------------------

GIB3 = 3 << 30

# Runs argv[1:] as a child and prints its wall time and peak RSS as JSON.
# A fresh interpreter has no other children, so RUSAGE_CHILDREN.ru_maxrss is
# the peak RSS of exactly that child (KiB on Linux).
_MEASURE = r"""
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
dt = time.perf_counter() - t
print(json.dumps({"rc": p.returncode, "stdout": p.stdout, "stderr": p.stderr, "seconds": dt,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def test_info_on_huge_external_data_is_cheap(slim_bin, tmp_path):
    """info on a model whose single float32 tensor is declared external with
    length 3 GiB (a sparse file) succeeds in < 1 s with peak RSS < 64 MiB and
    reports parameters = 3 GiB / 4: the weights are never read or mapped in."""
    n = GIB3 // 4
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[n])
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "big.bin"), ("offset", "0"), ("length", str(GIB3))):
        e = w.external_data.add()
        e.key, e.value = k, v
    graph = helper.make_graph([helper.make_node("Identity", ["w"], ["y"])], "huge", [],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])],
                              initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    path = tmp_path / "huge.onnx"
    path.write_bytes(model.SerializeToString())
    big = tmp_path / "big.bin"
    big.touch()
    os.truncate(big, GIB3)  # sparse: uses no disk

    proc = subprocess.run([sys.executable, "-c", _MEASURE, slim_bin, "info", str(path), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["rc"] == 0, r["stderr"]
    info = json.loads(r["stdout"])
    assert info["parameters"] == n
    assert info["external_files"] == ["big.bin"]
    assert r["seconds"] < 1.0, f"info took {r['seconds']:.2f} s"
    assert r["maxrss_kib"] < 64 * 1024, f"peak RSS {r['maxrss_kib'] / 1024:.1f} MiB"
