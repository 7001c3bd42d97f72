"""`onnx-slim diff A B`: acceptance tests on real models.

- a model against itself, and against a copy with every node and value renamed and the node
  order shuffled: no change;
- a PyTorch-exported BERT against its `--quantize int8` output (also int4 blocked, fp16 and the
  other int8 forms): every quantized weight reported as quantized, nothing else;
- hand-made edits (an attribute changed, a node removed, a weight perturbed): each reported once;
- simulated rewrites onnx-slim will make (low rank, pruning of FFN neurons / heads / conv
  channels, constant folding) built with onnx.helper: named as such, nothing else;
- --json / text / --html forms, bad input, and a 3 GiB external-data model diffed in well under a
  second (the weights are not read).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import Counter

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from slim_helpers import REPO, TESTDATA, iter_graphs, list_testdata_models, renamed_shuffled

sys.path.insert(0, os.path.join(REPO, "scripts", "models"))


def diff_json(slim, a, b, *extra) -> dict:
    proc = slim("diff", a, b, "--json", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def kinds(result) -> Counter:
    return Counter(c["kind"] for c in result["changes"])


def describe(result) -> str:
    return "\n".join(f'{c["kind"]}: {c["detail"]}' for c in result["changes"][:40])


# --------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def bert(tmp_path_factory) -> str:
    """A BERT (4 layers, hidden 256) exported by PyTorch, as users have them."""
    import torch_bert
    path = str(tmp_path_factory.mktemp("bert") / "bert.onnx")
    torch_bert.export(path, size="small", seed=0)
    return path


@pytest.fixture(scope="session")
def bert_quantized(bert, slim_bin):
    """The BERT quantized by onnx-slim, by flag set: {key: path}."""
    import subprocess
    out = {}
    folder = os.path.dirname(bert)
    for key, flags in [("int8", ["--quantize", "int8"]),
                       ("int8-wo", ["--quantize", "int8", "--int8-mode", "weight-only"]),
                       ("int8-folded", ["--quantize", "int8", "--int8-mode", "folded"]),
                       ("uint8", ["--quantize", "uint8"]),
                       ("int4", ["--quantize", "int4", "--block-size", "32"]),
                       ("fp8", ["--quantize", "fp8"]),
                       ("fp16", ["--quantize", "fp16"])]:
        path = os.path.join(folder, f"bert.{key}.onnx")
        proc = subprocess.run([slim_bin, bert, path, *flags], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        out[key] = path
    return out


# --------------------------------------------------------------------------
# identity
# --------------------------------------------------------------------------

@pytest.mark.parametrize("model", list_testdata_models(), ids=os.path.basename)
def test_model_against_itself(model, slim):
    r = diff_json(slim, model, model)
    assert r["identical"] is True and r["changes"] == [], describe(r)
    assert r["matched_nodes"] == r["a"]["nodes"] or r["a"]["nodes"] > r["matched_nodes"] >= 0


@pytest.mark.parametrize("model", list_testdata_models(), ids=os.path.basename)
def test_renamed_and_shuffled_copy_is_identical(model, slim, tmp_path):
    """Every node and value renamed, node order shuffled: no change; the graph inputs and
    outputs, matched by position, are listed as renamed (not changes)."""
    dst = renamed_shuffled(model, str(tmp_path / "renamed.onnx"))
    try:
        r = diff_json(slim, model, dst)
        assert r["changes"] == [], describe(r)
        m = onnx.load(model, load_external_data=False)
        inits = {t.name for t in m.graph.initializer}
        n_io = len([i for i in m.graph.input if i.name not in inits]) + len(m.graph.output)
        assert len(r["renamed"]) == n_io
        # every node of the main graph matched
        assert r["matched_nodes"] == len(m.graph.node)
        assert "no changes" in slim("diff", model, dst).stdout
    finally:
        if os.path.dirname(dst) != str(tmp_path):
            os.remove(dst)


def test_bert_renamed_and_shuffled(bert, slim, tmp_path):
    dst = renamed_shuffled(bert, str(tmp_path / "bert_renamed.onnx"), seed=3)
    r = diff_json(slim, bert, dst)
    assert r["changes"] == [], describe(r)
    assert r["matched_nodes"] == len(onnx.load(bert).graph.node)


# --------------------------------------------------------------------------
# quantization
# --------------------------------------------------------------------------

def _float_weights_quantized(bert, quantized) -> set:
    """Names of the float weights of A that onnx-slim quantized (no longer in B)."""
    a = onnx.load(bert, load_external_data=False)
    b = onnx.load(quantized, load_external_data=False)
    b_names = {t.name for t in b.graph.initializer}
    return {t.name for t in a.graph.initializer
            if t.data_type == TensorProto.FLOAT and t.name not in b_names}


@pytest.mark.parametrize("key,dtype,form", [
    ("int8", "int8", None),
    ("int8-wo", "int8", "DequantizeLinear"),
    ("int8-folded", "int8", "Cast·Mul"),
    ("uint8", "uint8", None),
    ("fp8", "float8e4m3fn", "DequantizeLinear"),
])
def test_bert_quantized_every_weight_and_nothing_else(bert, bert_quantized, slim, key, dtype, form):
    r = diff_json(slim, bert, bert_quantized[key])
    expected = _float_weights_quantized(bert, bert_quantized[key])
    assert len(expected) == 28
    quantized = [c for c in r["changes"] if c["kind"] == "quantized"]
    assert {c["a"][0] for c in quantized} == expected, describe(r)
    assert len(quantized) == len(expected)
    other = [c for c in r["changes"] if c["kind"] not in ("quantized", "opset", "ir_version")]
    assert other == [], describe(r)
    for c in quantized:
        assert c["dtype"] == dtype
        if form and "Gather" not in c.get("node", ""):
            assert form in c["form"], c
        assert c["granularity"] == "per-channel", c
    text = slim("diff", bert, bert_quantized[key]).stdout
    assert re.search(r"weights quantized +28\n", text), text


def test_bert_int4_blocks(bert, bert_quantized, slim):
    r = diff_json(slim, bert, bert_quantized["int4"])
    quantized = [c for c in r["changes"] if c["kind"] == "quantized"]
    assert len(quantized) == 28, describe(r)
    assert all(c["block_size"] == 32 and c["granularity"] == "block" for c in quantized), describe(r)
    assert {c["dtype"] for c in quantized} <= {"int4", "4-bit"}
    matmuls = [c for c in quantized if c["form"] == "DequantizeLinear"]
    assert matmuls and all(c["dtype"] == "int4" for c in matmuls)
    # int4 DequantizeLinear with block_size needs opset 21: reported, and nothing else
    assert set(kinds(r)) == {"quantized", "opset", "ir_version"}, describe(r)
    assert [c for c in r["changes"] if c["kind"] == "opset"][0]["version_b"] == 21


def test_bert_fp16_is_one_precision_change(bert, bert_quantized, slim):
    r = diff_json(slim, bert, bert_quantized["fp16"])
    assert kinds(r) == Counter({"precision": 1}), describe(r)
    c = r["changes"][0]
    a = onnx.load(bert, load_external_data=False)
    n_float = sum(1 for t in a.graph.initializer if t.data_type == TensorProto.FLOAT)
    n_float += sum(1 for n in a.graph.node if n.op_type == "Constant"
                   and n.attribute[0].t.data_type == TensorProto.FLOAT)
    assert c["dtype"] == "float16"
    assert c["weights"] + c["widened"] == n_float
    assert c["casts_inserted"] == 2  # the two float32 outputs (--keep-io-types)


# --------------------------------------------------------------------------
# hand-made edits
# --------------------------------------------------------------------------

def _node(m, name):
    return next(n for n in m.graph.node if n.name == name)


def test_attribute_changed_reported_once(bert, slim, tmp_path):
    m = onnx.load(bert)
    n = next(n for n in m.graph.node if n.op_type == "LayerNormalization")
    for a in n.attribute:
        if a.name == "epsilon":
            a.f = 1e-3
    dst = str(tmp_path / "eps.onnx")
    onnx.save(m, dst)
    r = diff_json(slim, bert, dst)
    assert kinds(r) == Counter({"node_changed": 1}), describe(r)
    c = r["changes"][0]
    assert c["a"] == [n.name] and c["attributes"][0]["name"] == "epsilon"


def test_attribute_changed_in_renamed_copy(bert, slim, tmp_path):
    """The edit is still found, once, when every name differs too."""
    m = onnx.load(bert)
    n = next(n for n in m.graph.node if n.op_type == "Softmax")
    n.attribute[0].i = 1 if n.attribute[0].i != 1 else 2
    edited = str(tmp_path / "softmax.onnx")
    onnx.save(m, edited)
    dst = renamed_shuffled(edited, str(tmp_path / "softmax_renamed.onnx"), seed=5)
    r = diff_json(slim, bert, dst)
    assert kinds(r) == Counter({"node_changed": 1}), describe(r)
    assert r["changes"][0]["op"] == "Softmax"


def test_node_removed_reported_once(bert, slim, tmp_path):
    m = onnx.load(bert)
    erf = next(n for n in m.graph.node if n.op_type == "Erf")
    src, out = erf.input[0], erf.output[0]
    m.graph.node.remove(erf)
    for n in m.graph.node:
        n.input[:] = [src if x == out else x for x in n.input]
    dst = str(tmp_path / "no_erf.onnx")
    onnx.save(m, dst)
    r = diff_json(slim, bert, dst)
    assert kinds(r) == Counter({"node_removed": 1}), describe(r)
    assert r["changes"][0]["a"] == [erf.name] and r["changes"][0]["op"] == "Erf"


def test_node_added_reported_once(bert, slim, tmp_path):
    m = onnx.load(bert)
    sm = next(n for n in m.graph.node if n.op_type == "Softmax")
    out = sm.output[0]
    sm.output[0] = out + "_pre"
    m.graph.node.append(helper.make_node("Relu", [out + "_pre"], [out], name="extra_relu"))
    dst = str(tmp_path / "relu.onnx")
    onnx.save(m, dst)
    r = diff_json(slim, bert, dst)
    assert kinds(r) == Counter({"node_added": 1}), describe(r)
    assert r["changes"][0]["b"] == ["extra_relu"]


def test_weight_perturbed_reported_once_with_weights(bert, slim, tmp_path):
    m = onnx.load(bert)
    t = next(t for t in m.graph.initializer if len(t.dims) == 2 and t.dims[1] == 1024)
    w = numpy_helper.to_array(t).copy()
    w[3, 5] += 0.25
    t.CopyFrom(numpy_helper.from_array(w, t.name))
    dst = str(tmp_path / "perturbed.onnx")
    onnx.save(m, dst)
    r = diff_json(slim, bert, dst, "--weights")
    assert r["weights_read"] is True
    assert kinds(r) == Counter({"weight_changed": 1}), describe(r)
    c = r["changes"][0]
    assert c["a"] == [t.name]
    assert abs(c["max_abs_diff"] - 0.25) < 1e-6
    expected = 0.25 / float(np.linalg.norm(numpy_helper.to_array(onnx.load(bert).graph.initializer[[x.name for x in onnx.load(bert).graph.initializer].index(t.name)])))
    assert abs(c["relative_l2"] - expected) < 1e-3 * expected + 1e-9
    # without --weights, only the graph is read: no change is visible
    assert diff_json(slim, bert, dst)["changes"] == []


def test_weights_stats_on_identical_models_report_nothing(bert, slim):
    r = diff_json(slim, bert, bert, "--weights")
    assert r["changes"] == []


# --------------------------------------------------------------------------
# simulated rewrites (built with onnx.helper)
# --------------------------------------------------------------------------

TB = os.path.join(TESTDATA, "transformer_block.onnx")


def _init(m, name):
    return next(t for t in m.graph.initializer if t.name == name)


def _set(m, name, array):
    t = _init(m, name)
    t.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(array), name))


def _consumer_weight(m, node_name, position=1):
    return _init(m, _node(m, node_name).input[position])


@pytest.mark.parametrize("keep_name", [False, True], ids=["new-nodes", "first-keeps-name"])
def test_low_rank_named_with_rank(slim, tmp_path, keep_name):
    m = onnx.load(TB)
    mm = _node(m, "/encoder/layer.0/intermediate/dense/MatMul")
    w = numpy_helper.to_array(_init(m, mm.input[1]))
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    r = 16
    U = (u[:, :r] * s[:r]).astype(np.float32)
    V = vt[:r].astype(np.float32)
    m.graph.initializer.remove(_init(m, mm.input[1]))
    m.graph.initializer.extend([numpy_helper.from_array(U, "lr_U"), numpy_helper.from_array(V, "lr_V")])
    idx = list(m.graph.node).index(mm)
    out = mm.output[0]
    first = helper.make_node("MatMul", [mm.input[0], "lr_U"], ["lr_h"], name=mm.name if keep_name else "lr_first")
    second = helper.make_node("MatMul", ["lr_h", "lr_V"], [out], name="lr_second")
    m.graph.node.remove(mm)
    m.graph.node.insert(idx, second)
    m.graph.node.insert(idx, first)
    dst = str(tmp_path / "lowrank.onnx")
    onnx.save(m, dst)
    res = diff_json(slim, TB, dst)
    assert kinds(res) == Counter({"low_rank": 1}), describe(res)
    c = res["changes"][0]
    assert c["rank"] == r and c["shape"] == [64, 256]
    assert c["parameters_a"] == 64 * 256 and c["parameters_b"] == r * (64 + 256)


def test_ffn_neurons_pruned(slim, tmp_path):
    m = onnx.load(TB)
    keep = 192
    w1 = _consumer_weight(m, "/encoder/layer.0/intermediate/dense/MatMul")
    b1 = _init(m, _node(m, "/encoder/layer.0/intermediate/dense/Add").input[0])
    w2 = _consumer_weight(m, "/encoder/layer.0/output/dense/MatMul")
    _set(m, w1.name, numpy_helper.to_array(w1)[:, :keep])
    _set(m, b1.name, numpy_helper.to_array(b1)[:keep])
    _set(m, w2.name, numpy_helper.to_array(w2)[:keep, :])
    dst = str(tmp_path / "ffn.onnx")
    onnx.save(m, dst)
    r = diff_json(slim, TB, dst)
    assert kinds(r) == Counter({"pruned": 1}), describe(r)
    c = r["changes"][0]
    assert (c["what"], c["from"], c["to"], c["removed"], c["tensors"]) == ("neurons", 256, 192, 64, 3)


def _heads(m):
    """(num_heads, head_dim) from the attention's Reshape shape constants."""
    consts = {}
    for n in m.graph.node:
        if n.op_type == "Constant" and n.name.startswith("/encoder/layer.0/attention/self/Constant"):
            v = numpy_helper.to_array(n.attribute[0].t)
            consts[n.output[0]] = (n, v)
    concat = _node(m, "/encoder/layer.0/attention/self/Concat")
    h = consts[concat.input[2]][1].item()
    d = consts[concat.input[3]][1].item()
    return h, d, consts


def test_attention_heads_pruned(slim, tmp_path):
    m = onnx.load(TB)
    h, d, consts = _heads(m)
    assert h >= 2
    keep = (h - 1) * d
    for proj in ("query", "key", "value"):
        w = _consumer_weight(m, f"/encoder/layer.0/attention/self/{proj}/MatMul")
        b = _init(m, _node(m, f"/encoder/layer.0/attention/self/{proj}/Add").input[0])
        _set(m, w.name, numpy_helper.to_array(w)[:, :keep])
        _set(m, b.name, numpy_helper.to_array(b)[:keep])
    wo = _consumer_weight(m, "/encoder/layer.0/attention/output/dense/MatMul")
    _set(m, wo.name, numpy_helper.to_array(wo)[:keep, :])
    # head count in the three split-heads Reshapes, all-head size in the merge Reshape
    for concat in ("Concat", "Concat_1", "Concat_2"):
        n, v = consts[_node(m, f"/encoder/layer.0/attention/self/{concat}").input[2]]
        n.attribute[0].t.CopyFrom(numpy_helper.from_array(np.array([h - 1], dtype=np.int64)))
    n, v = consts[_node(m, "/encoder/layer.0/attention/self/Concat_3").input[2]]
    n.attribute[0].t.CopyFrom(numpy_helper.from_array(np.array([keep], dtype=np.int64)))
    dst = str(tmp_path / "heads.onnx")
    onnx.save(m, dst)
    r = diff_json(slim, TB, dst)
    assert kinds(r) == Counter({"pruned": 1}), describe(r)
    c = r["changes"][0]
    assert (c["what"], c["from"], c["to"], c["removed"], c["head_dim"]) == ("heads", h, h - 1, 1, d)


def test_conv_channels_pruned(slim, tmp_path):
    """cnn_constant_weights (weights in Constant nodes): 2 of the 16 channels of the residual
    group removed everywhere they are coupled — conv0 outputs, its BatchNormalization, conv1
    inputs and outputs (the residual Add), the depthwise conv (and its group), the second
    BatchNormalization and the Gemm's input rows. One pruning change."""
    src = os.path.join(TESTDATA, "cnn_constant_weights.onnx")
    m = onnx.load(src)
    keep = 14
    by_output = {n.output[0]: n for n in m.graph.node}

    def shrink(name, *axes):
        t = by_output[name].attribute[0].t
        v = numpy_helper.to_array(t)
        for axis in axes:
            v = np.take(v, range(keep), axis=axis)
        t.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(v), t.name))

    shrink("conv2d_0.w_0", 0)
    for bn in ("batch_norm_0", "batch_norm_1"):
        for p in ("w_0", "b_0", "w_1", "w_2"):
            shrink(f"{bn}.{p}", 0)
    shrink("conv2d_1.w_0", 0, 1)
    shrink("conv2d_1.b_0", 0)
    shrink("depthwise_conv2d_0.w_0", 0)
    next(a for a in by_output["depthwise_conv2d_0.tmp_0"].attribute if a.name == "group").i = keep
    shrink("linear_0.w_0", 0)
    dst = str(tmp_path / "channels.onnx")
    onnx.save(m, dst)
    onnx.checker.check_model(onnx.load(dst), full_check=True)
    r = diff_json(slim, src, dst)
    assert kinds(r) == Counter({"pruned": 1}), describe(r)
    c = r["changes"][0]
    assert (c["what"], c["from"], c["to"], c["removed"], c["tensors"]) == ("channels", 16, 14, 2, 13)


def test_constant_folding_named(slim, tmp_path):
    """A computes a bias as Add(Constant, Constant); B (the original) holds it as an initializer."""
    m = onnx.load(TB)
    bias = _init(m, "encoder.layer.0.output.dense.bias")
    v = numpy_helper.to_array(bias)
    m.graph.initializer.remove(bias)
    m.graph.node.insert(0, helper.make_node("Constant", [], ["fold_c1"], name="fold_c1",
                                            value=numpy_helper.from_array(v - 1.0)))
    m.graph.node.insert(1, helper.make_node("Constant", [], ["fold_c2"], name="fold_c2",
                                            value=numpy_helper.from_array(np.ones_like(v))))
    m.graph.node.insert(2, helper.make_node("Add", ["fold_c1", "fold_c2"], [bias.name], name="fold_add"))
    a = str(tmp_path / "unfolded.onnx")
    onnx.save(m, a)
    r = diff_json(slim, a, TB)
    assert kinds(r) == Counter({"folded": 1}), describe(r)
    c = r["changes"][0]
    assert c["nodes"] == 3 and c["ops"] == {"Add": 1, "Constant": 2}
    assert c["b"] == [bias.name]


# --------------------------------------------------------------------------
# signature, forms, bad input, speed
# --------------------------------------------------------------------------

def test_opset_and_io_changes(slim, tmp_path):
    src = os.path.join(TESTDATA, "tiny_mlp.onnx")
    m = onnx.load(src)
    m.opset_import[0].version += 1
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch_size_renamed"
    dst = str(tmp_path / "sig.onnx")
    onnx.save(m, dst)
    r = diff_json(slim, src, dst)
    assert kinds(r) == Counter({"opset": 1, "input_changed": 1}), describe(r)


def test_text_summary_comes_first(bert, bert_quantized, slim):
    out = slim("diff", bert, bert_quantized["int8"]).stdout
    lines = out.splitlines()
    assert lines[0].startswith("A ") and lines[1].startswith("B ")
    assert any(l.startswith("size ") for l in lines[:4])
    assert out.index("summary") < out.index("details")


def test_html_is_self_contained(bert, bert_quantized, slim, tmp_path):
    page = str(tmp_path / "diff.html")
    proc = slim("diff", bert, bert_quantized["int8"], "--html", page)
    assert proc.returncode == 0, proc.stderr
    html = open(page, encoding="utf-8").read()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html and "<link" not in html and "src=" not in html
    assert html.count('class="block"') >= 1


@pytest.mark.parametrize("bad", ["missing", "garbage"])
def test_bad_input_one_line_error(slim, tmp_path, bad):
    path = str(tmp_path / "bad.onnx")
    if bad == "garbage":
        with open(path, "wb") as f:
            f.write(b"\x08\x07\x12\xff\xff\xff")
    proc = slim("diff", os.path.join(TESTDATA, "tiny_mlp.onnx"), path)
    assert proc.returncode == 2, proc
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "bad.onnx" in proc.stderr


def test_huge_external_weights_not_read(slim, tmp_path):
    """3 GiB of external weights (sparse file): diff reads the graph only."""
    data = tmp_path / "huge.onnx.data"
    n = 3 << 28  # 768 Mi floats = 3 GiB
    with open(data, "wb") as f:
        f.truncate(n * 4)
    w = TensorProto()
    w.name = "W"
    w.data_type = TensorProto.FLOAT
    w.dims.extend([n // 1024, 1024])
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "huge.onnx.data"), ("offset", "0"), ("length", str(n * 4))):
        e = w.external_data.add(); e.key = k; e.value = v
    g = helper.make_graph([helper.make_node("Gather", ["W", "ids"], ["y"], name="g")], "huge",
                          [helper.make_tensor_value_info("ids", TensorProto.INT64, ["N"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1024])], [w])
    path = str(tmp_path / "huge.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), path)
    t0 = time.perf_counter()
    r = diff_json(slim, path, path)
    elapsed = time.perf_counter() - t0
    assert r["changes"] == []
    assert elapsed < 2.0, elapsed


def test_edit_inside_loop_body_is_found_once(slim, tmp_path):
    """Subgraphs of matched nodes are compared: an attribute edited in the Loop body is one
    node_changed, labelled with the subgraph's path."""
    src = os.path.join(TESTDATA, "control_flow.onnx")
    m = onnx.load(src)
    loop = next(n for n in m.graph.node if n.op_type == "Loop")
    body = next(a for a in loop.attribute if a.name == "body").g
    rm = next(n for n in body.node if n.op_type == "ReduceMean")
    keepdims = next(a for a in rm.attribute if a.name == "keepdims")
    keepdims.i = 1 - keepdims.i
    dst = str(tmp_path / "loop_edit.onnx")
    onnx.save(m, dst)
    r = diff_json(slim, src, dst)
    assert kinds(r) == Counter({"node_changed": 1}), describe(r)
    c = r["changes"][0]
    assert c["a"] == [rm.name] and c["graph"] == f"{loop.name}.body"
