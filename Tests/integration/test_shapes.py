"""Shape inference and compute figures of `onnx-slim info`: inferred shapes against what
onnxruntime produces, MACs against onnx-tool, parameter counts against the weights, symbolic
formulas against fixed dims, the conformance corpus, and bad options.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import onnx
import pytest

from slim_helpers import REPO, TESTDATA, element_count, iter_tensors, list_testdata_models, ort_session

sys.path.insert(0, os.path.join(REPO, "scripts", "bench"))
sys.path.insert(0, os.path.join(REPO, "scripts", "models"))
import models  # noqa: E402
import torch_bert  # noqa: E402


def _info(slim, path, *args) -> dict:
    proc = slim("info", path, "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def yolo(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("yolo"))
    return models.ensure("yolo", folder)


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("bert") / "bert.onnx")
    vocab = torch_bert.export(path, "small", seed=0)
    return path, vocab


def _onnx_tool_macs(path):
    """onnx-tool's MACs per node name (its profile of the model)."""
    import onnx_tool
    m = onnx_tool.Model(path)
    m.graph.shape_infer()
    m.graph.profile()
    return {name: (node.op_type, int(np.sum(node.macs))) for name, node in m.graph.nodemap.items()}


def test_yolo_macs_agree_with_onnx_tool(slim, yolo, summary_lines):
    ours = _info(slim, yolo, "--layers")["compute"]
    theirs = _onnx_tool_macs(yolo)
    contraction = {"Conv", "MatMul", "Gemm", "ConvTranspose"}
    their_total = sum(m for op, m in theirs.values() if op in contraction)
    assert isinstance(ours["macs"], int)
    assert abs(ours["macs"] - their_total) <= 0.01 * their_total
    # Node by node, every convolution agrees exactly.
    layers = {l["name"]: l for l in ours["layers"]}
    convs = [n for n, (op, _) in theirs.items() if op == "Conv"]
    assert len(convs) > 50
    for name in convs:
        assert layers[name]["macs"] == theirs[name][1], name
    everything = sum(m for _, m in theirs.values())
    summary_lines.append(f"YOLO-style CNN MACs: onnx-slim {ours['macs']:,}, onnx-tool convolutions {their_total:,} "
                         f"(onnx-tool's total with activation cost estimates: {everything:,})")


def test_parameters_equal_weight_elements(slim, yolo, bert):
    paths = list_testdata_models() + [yolo, bert[0]]
    for path in paths:
        model = onnx.load(path, load_external_data=False)
        expected = sum(element_count(t) for t in iter_tensors(model))
        info = _info(slim, path)
        assert info["parameters"] == expected, path
        compute = info["compute"]
        assert compute["parameters"] == expected, path
        assert sum(t["parameters"] for t in compute["by_op_type"]) + compute["unread_parameters"] == expected, path


def test_pytorch_bert_fully_inferred_and_matches_onnxruntime(slim, bert):
    path, vocab = bert
    info = _info(slim, path, "--layers")["compute"]
    assert info["not_inferred"] == []
    # Symbolic in the exporter's dims, and a formula for MACs.
    model = onnx.load(path)
    dims = [d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert all(dims)
    assert all(s in info["macs"] for s in dims)
    # Fixed dims: every output's shape equals what onnxruntime produces.
    batch, seq = 3, 11
    fixed = _info(slim, path, "--dim", f"{dims[0]}={batch}", "--dim", f"{dims[1]}={seq}")["compute"]
    sess = ort_session(path)
    rng = np.random.default_rng(0)
    feed = {}
    for i in sess.get_inputs():
        feed[i.name] = rng.integers(0, 2 if "mask" in i.name or "type" in i.name else vocab, (batch, seq)).astype(np.int64)
    outputs = sess.run(None, feed)
    for o, y in zip(sess.get_outputs(), outputs):
        assert fixed["outputs"][o.name] == f"float32[{','.join(map(str, y.shape))}]"
    # The formula evaluated at those dims gives the number inference computes with them fixed.
    formula = info["macs"].replace("^", "**")
    assert eval(formula, {dims[0]: batch, dims[1]: seq}) == fixed["macs"]


def test_layers_sum_to_totals(slim, bert, yolo):
    for path in (bert[0], yolo):
        info = _info(slim, path, "--layers", "--dim", "batch=2", "--dim", "sequence=9")["compute"]
        layers = info["layers"]
        assert len(layers) == sum(t["nodes"] for t in info["by_op_type"])
        assert sum(l["macs"] for l in layers) == info["macs"]
        assert sum(l["flops"] for l in layers) == info["flops"]
        assert all(l["outputs"] for l in layers)


def test_input_shape_fixes_an_input(slim):
    path = os.path.join(TESTDATA, "cnn_constant_weights.onnx")
    model = onnx.load(path)
    name = model.graph.input[0].name
    dims = [d.dim_value or 1 for d in model.graph.input[0].type.tensor_type.shape.dim]
    symbolic = _info(slim, path)["compute"]
    assert isinstance(symbolic["macs"], str)
    dims[0] = 4
    fixed = _info(slim, path, "--input-shape", f"{name}:{','.join(map(str, dims))}")["compute"]
    assert fixed["inputs"][name].endswith(f"[{','.join(map(str, dims))}]")
    assert isinstance(fixed["macs"], int)
    # The run's outputs have the inferred shapes.
    sess = ort_session(path)
    x = np.random.default_rng(0).standard_normal(dims).astype(np.float32)
    for o, y in zip(sess.get_outputs(), sess.run(None, {name: x})):
        assert fixed["outputs"][o.name] == f"float32[{','.join(map(str, y.shape))}]"


@pytest.mark.parametrize("args, message", [
    (["--input-shape", "nope:1,2"], "not a graph input"),
    (["--input-shape", "x:1,2"], "dims"),
    (["--input-shape", "x"], "name:d1,d2"),
    (["--dim", "N"], "name=value"),
])
def test_bad_shape_options_are_one_line_errors(slim, args, message):
    path = os.path.join(TESTDATA, "cnn_constant_weights.onnx")
    model = onnx.load(path)
    args = [a.replace("x:", f"{model.graph.input[0].name}:") if a.startswith("x:") else a for a in args]
    proc = slim("info", path, *args)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_subgraph_nodes_and_gaps_are_reported(slim):
    info = _info(slim, os.path.join(TESTDATA, "control_flow.onnx"), "--layers")["compute"]
    assert any(l["depth"] == 1 for l in info["layers"])
    # The Loop runs a data-dependent number of times: its scan output says so, with a reason.
    gaps = {g["value"]: g["reason"] for g in info["not_inferred"]}
    assert gaps and all(reason for reason in gaps.values())


def test_text_report_is_readable(slim, yolo):
    out = slim("info", yolo)
    assert out.returncode == 0
    assert re.search(r"compute\s+MACs 1\.99 G, FLOPs \d\.\d\d G", out.stdout)
    assert re.search(r"peak activations\s+[\d.]+ MB after", out.stdout)
    assert "all 209 values inferred" in out.stdout


def test_conformance_corpus_shapes(slim_bin):
    """Every corpus node test: inferred output types and shapes equal the reference outputs'."""
    proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "shape_conformance.py"), "--bin", slim_bin],
                          capture_output=True, text=True, timeout=900)
    last = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout[-3000:]
    counts = dict(zip(last.split()[0::2], last.split()[1::2]))
    assert "fail" not in counts
    assert int(counts["pass"]) >= 850, last
