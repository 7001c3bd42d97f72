"""`--quantize fp16` on models it used to break: If branches with untyped outputs
(if_padding), models already integer-quantized (dynamic int8 from onnx-slim and from
onnxruntime's quantize_dynamic), weights only inside If/Loop bodies (control_flow), and
activations beyond float16's range (fp16_overflow).

Every output must pass onnx.checker full_check, run in onnxruntime and agree with the float32
model it came from.
"""

from __future__ import annotations

import json
import os

import numpy as np
import onnx
import pytest

from slim_helpers import TESTDATA, cosine, describe_run, iter_graphs, ort_session, random_feed

FLOAT = onnx.TensorProto.FLOAT
FLOAT16 = onnx.TensorProto.FLOAT16


def _fp16(slim, src, dst, *extra):
    """Runs --quantize fp16 with a JSON report; checks the written model; returns the report."""
    proc = slim(src, dst, "--quantize", "fp16", "--report", "json", *extra)
    assert proc.returncode == 0, describe_run(proc)
    onnx.checker.check_model(onnx.load(dst), full_check=True)
    return json.loads(proc.stdout)


def _pass_summary(report) -> str:
    return " ".join(report["passes"])


def _run(path, feed):
    return ort_session(path).run(None, feed)


# --------------------------------------------------------------------------
# 1. If with untyped branch outputs
# --------------------------------------------------------------------------

@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["then", "else"])
def test_if_padding_both_branches(slim, tmp_path, sign):
    """if_padding's branches declare outputs without a type; the fp16 model passes the full
    checker, and on a positive input (then branch) and a negative one (else branch) its output
    matches the float32 model's to float16 precision."""
    src = os.path.join(TESTDATA, "if_padding.onnx")
    dst = str(tmp_path / "out.onnx")
    _fp16(slim, src, dst)
    rng = np.random.default_rng(3)
    audio = (sign * (np.abs(rng.standard_normal((3, 16))) + 0.1)).astype(np.float32)
    want, = _run(src, {"audio": audio})
    got, = _run(dst, {"audio": audio})
    assert got.dtype == np.float32
    assert np.all(np.isfinite(got))
    err = float(np.max(np.abs(got - want)))
    assert err <= 2e-3 * float(np.max(np.abs(want))), f"max abs error {err}"
    assert cosine(want, got) > 0.99999


def test_if_padding_outer_nodes_converted(slim, tmp_path):
    """The outer Add and MatMul after the If compute in float16 (the If output is cast to
    them), not left float32 because the If output's type was unknown."""
    dst = str(tmp_path / "out.onnx")
    _fp16(slim, os.path.join(TESTDATA, "if_padding.onnx"), dst)
    m = onnx.load(dst)
    inits = {t.name: t.data_type for t in m.graph.initializer}
    assert inits["proj.weight"] == FLOAT16
    cast_to_half = [n for n in m.graph.node if n.op_type == "Cast" and n.input[0] == "framed"]
    assert cast_to_half and cast_to_half[0].attribute[0].i == FLOAT16


# --------------------------------------------------------------------------
# 2. already integer-quantized models
# --------------------------------------------------------------------------

def _ort_quantize_dynamic(src, dst):
    from onnxruntime.quantization import QuantType, quantize_dynamic
    quantize_dynamic(src, dst, weight_type=QuantType.QInt8)


@pytest.mark.parametrize("model,quantizer", [
    ("tiny_mlp", "onnx-slim"), ("transformer_block", "onnx-slim"),
    ("cnn_constant_weights", "onnx-slim"), ("tiny_mlp", "onnxruntime"),
    ("transformer_block", "onnxruntime"),
])
def test_fp16_of_dynamic_int8(slim, tmp_path, model, quantizer):
    """A dynamic-int8 model (DynamicQuantizeLinear → MatMulInteger/ConvInteger → Cast → scale
    Mul) converted to fp16: the integer ops and their scale Muls stay float32, the report says
    so, the model passes the full checker, runs in onnxruntime and agrees with the int8 model."""
    src = os.path.join(TESTDATA, f"{model}.onnx")
    int8 = str(tmp_path / "int8.onnx")
    if quantizer == "onnx-slim":
        proc = slim(src, int8, "--quantize", "int8", "--int8-mode", "dynamic")
        assert proc.returncode == 0, describe_run(proc)
    else:
        _ort_quantize_dynamic(src, int8)
    integer_ops = {"MatMulInteger", "ConvInteger", "DynamicQuantizeLinear"}
    assert integer_ops & {n.op_type for n in onnx.load(int8).graph.node}
    dst = str(tmp_path / "fp16.onnx")
    report = _fp16(slim, int8, dst)
    assert "integer-quantized op or its scales" in _pass_summary(report)

    m = onnx.load(dst)
    # The integer results are widened to float32 (not float16) for their scale Muls, and the
    # rest of the model does compute in float16.
    integer_outputs = {o for n in m.graph.node if n.op_type in integer_ops for o in n.output}
    widen = [n for n in m.graph.node if n.op_type == "Cast" and n.input[0] in integer_outputs]
    assert widen and all(n.attribute[0].i == FLOAT for n in widen)
    assert any(t.data_type == FLOAT16 for t in m.graph.initializer)
    want_model = onnx.load(int8)
    sess = ort_session(int8)
    for seed in (0, 1):
        feed = random_feed(sess, want_model, seed=seed)
        want = sess.run(None, feed)
        got = _run(dst, feed)
        for w, g in zip(want, got):
            assert np.all(np.isfinite(g))
            if np.issubdtype(w.dtype, np.floating):
                assert cosine(w, g) > 0.999, f"cosine {cosine(w, g)}"


def _lstm_model(path):
    """An LSTM (input 16, hidden 32) and a MatMul head, for quantize_dynamic to turn into
    com.microsoft.DynamicQuantizeLSTM and MatMulInteger."""
    from onnx import helper, numpy_helper
    rng = np.random.default_rng(4)
    hidden, size = 32, 16
    inits = [numpy_helper.from_array((rng.standard_normal((1, 4 * hidden, size)) / 4).astype(np.float32), "W"),
             numpy_helper.from_array((rng.standard_normal((1, 4 * hidden, hidden)) / 4).astype(np.float32), "R"),
             numpy_helper.from_array((rng.standard_normal((1, 8 * hidden)) / 4).astype(np.float32), "B"),
             numpy_helper.from_array((rng.standard_normal((hidden, 4)) / 4).astype(np.float32), "head")]
    nodes = [helper.make_node("LSTM", ["x", "W", "R", "B"], ["y", "y_h"], hidden_size=hidden, name="lstm"),
             helper.make_node("Squeeze", ["y", "axis"], ["y2"], name="squeeze"),
             helper.make_node("MatMul", ["y2", "head"], ["out"], name="head")]
    inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis"))
    graph = helper.make_graph(nodes, "lstm", [helper.make_tensor_value_info("x", FLOAT, [5, 2, size])],
                              [helper.make_tensor_value_info("out", FLOAT, [5, 2, 4]),
                               helper.make_tensor_value_info("y_h", FLOAT, [1, 2, hidden])], initializer=inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), path)


def test_fp16_of_dynamic_quantize_lstm(slim, tmp_path):
    """quantize_dynamic of an LSTM writes com.microsoft.DynamicQuantizeLSTM (which the evaluator
    cannot run: the report says the range is unchecked); fp16 keeps it and its float inputs
    float32, passes the full checker, runs, and stays within 1e-2 of the int8 model."""
    src, int8, dst = (str(tmp_path / f) for f in ("lstm.onnx", "int8.onnx", "fp16.onnx"))
    _lstm_model(src)
    _ort_quantize_dynamic(src, int8)
    assert "DynamicQuantizeLSTM" in {n.op_type for n in onnx.load(int8).graph.node}
    summary = _pass_summary(_fp16(slim, int8, dst))
    assert "float16 range not checked" in summary and "DynamicQuantizeLSTM" in summary
    x = np.random.default_rng(0).standard_normal((5, 2, 16)).astype(np.float32)
    for w, g in zip(_run(int8, {"x": x}), _run(dst, {"x": x})):
        assert g.dtype == np.float32 and np.all(np.isfinite(g))
        assert float(np.max(np.abs(w - g))) < 1e-2


# --------------------------------------------------------------------------
# 3. weights only in If/Loop bodies
# --------------------------------------------------------------------------

def test_body_weights_stored_as_float16(slim, tmp_path):
    """control_flow keeps all its matrices in If branches and a Loop body: fp16 stores them as
    float16 (read through a Cast, bodies compute float32), so no float32 tensor of 16 or more
    elements remains, the weight bytes shrink, and outputs agree with the float32 model."""
    src = os.path.join(TESTDATA, "control_flow.onnx")
    dst = str(tmp_path / "out.onnx")
    report = _fp16(slim, src, dst)
    assert "body weights stored as float16" in _pass_summary(report)
    m = onnx.load(dst)
    for g in iter_graphs(m.graph):
        tensors = list(g.initializer) + [a.t for n in g.node if n.op_type == "Constant"
                                         for a in n.attribute if a.name == "value"]
        big = [t.name for t in tensors if t.data_type == FLOAT and int(np.prod(t.dims)) >= 16]
        assert not big, f"float32 weights left in {g.name}: {big}"
    # 192 of the 201 float32 parameters are body matrices: weight bytes fall from 804 to ~420.
    assert report["after"]["weight_bytes"] < 0.6 * report["before"]["weight_bytes"]
    sess = ort_session(src)
    for seed in (0, 1, 2):
        feed = random_feed(sess, onnx.load(src), seed=seed)
        for w, g in zip(sess.run(None, feed), _run(dst, feed)):
            assert cosine(w, g) > 0.9999


# --------------------------------------------------------------------------
# 4. activations beyond float16's range
# --------------------------------------------------------------------------

def test_overflowing_activations_stay_float32(slim, tmp_path):
    """fp16_overflow's first Conv reaches |x| > 65504 (so in float16 it is inf, and the
    InstanceNormalization after it NaN); onnx-slim keeps that Conv and the normalization
    reading it in float32, the rest in float16, and the probability map stays within 1e-2 of
    float32's."""
    src = os.path.join(TESTDATA, "fp16_overflow.onnx")
    image = np.random.default_rng(5).standard_normal((1, 3, 16, 16)).astype(np.float32)

    # Plain float16 would overflow: the Conv's float32 values do not fit.
    probe = onnx.load(src)
    probe.graph.output.append(onnx.helper.make_tensor_value_info("features", FLOAT, None))
    probe_path = str(tmp_path / "probe.onnx")
    onnx.save(probe, probe_path)
    want, features = _run(probe_path, {"image": image})
    with np.errstate(over="ignore"):
        assert np.isinf(features.astype(np.float16)).any()

    dst = str(tmp_path / "out.onnx")
    report = _fp16(slim, src, dst)
    summary = _pass_summary(report)
    assert "2 values beyond float16 range" in summary, summary
    m = onnx.load(dst)
    by_name = {n.name: n for n in m.graph.node}
    assert by_name["head/Conv"].input[1] == "head.weight"
    inits = {t.name: t.data_type for t in m.graph.initializer}
    assert inits["head.weight"] == FLOAT16          # the head runs in float16
    assert inits["backbone.weight"] == FLOAT        # the overflowing Conv does not
    got, = _run(dst, {"image": image})
    assert np.all(np.isfinite(got))
    assert float(np.max(np.abs(got - want))) < 1e-2
