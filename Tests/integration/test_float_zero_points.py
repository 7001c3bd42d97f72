"""`--quantize int4 --float-zero-points`: MatMul/Gemm weights on asymmetric 4-bit grids with a
float offset per block (x = q·scale + offset, q in -8..7, each block's minimum and maximum on
the grid), written as standard ONNX: the blocked DequantizeLinear -> MatMul plus a MatMul of
block sums that adds the offsets.

Checks the written model against numpy's rounding of the same grid (exact in onnxruntime with
its 4-bit kernel at accuracy level 0), that on weights that are not centred at zero the output
error is lower than symmetric int4's, that weights the form cannot take stay symmetric with
the reason in the report, that GPTQ rounds on the same grid (never worse than rounding to
nearest), and that misuse is refused with one line. The testdata models run through the
`int4-float-zero-points` variant of test_quantize.py (checker, onnxruntime, If/Loop bodies,
Constant-node weights, fp16, external data, quantizing twice).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from slim_helpers import convert_report, describe_run

K, N, BLOCK = 96, 40, 32


def _skewed_model(path, seed: int = 0):
    """x [2, 5, K] -> MatMul(W) -> y, and Gemm(transB, W2 [N, K], bias) on x as [10, K] -> z; W is
    mostly positive and W2 mostly negative, so symmetric grids waste half their codes."""
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((K, N)) * 0.3 + 0.5).astype(np.float32)
    w2 = (rng.standard_normal((N, K)) * 0.2 - 0.3).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm"),
             helper.make_node("Reshape", ["x", "shape"], ["x2"], name="flat"),
             helper.make_node("Gemm", ["x2", "W2", "b"], ["z"], transB=1, name="gemm")]
    inits = [numpy_helper.from_array(w, "W"), numpy_helper.from_array(w2, "W2"),
             numpy_helper.from_array(np.array([10, K], np.int64), "shape"),
             numpy_helper.from_array(np.linspace(-1, 1, N).astype(np.float32), "b")]
    g = helper.make_graph(nodes, "skewed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5, K])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5, N]),
                           helper.make_tensor_value_info("z", TensorProto.FLOAT, [10, N])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return w, w2


def _float_zero_point_rounding(w, axis: int):
    """numpy's rounding to the float-zero-point grid, blocks of BLOCK along `axis`."""
    v = np.moveaxis(w, axis, 0)
    blocks = v.reshape(v.shape[0] // BLOCK, BLOCK, -1)
    lo, hi = blocks.min(1, keepdims=True), blocks.max(1, keepdims=True)
    scale = (hi - lo) / np.float32(15)
    offset = lo + np.float32(8) * scale
    q = np.clip(np.round((blocks - offset) * (np.float32(1) / scale)), -8, 7)
    return np.moveaxis((q * scale + offset).reshape(v.shape), 0, axis)


def _exact_session(path):
    so = ort.SessionOptions()
    # onnxruntime's 4-bit kernel quantizes activations to int8 at its default accuracy level.
    so.add_session_config_entry("session.qdq_matmulnbits_accuracy_level", "0")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _feed(seed: int = 1):
    """Correlated features (a fixed mixing with a decaying spectrum), as a layer's inputs are:
    with independent ones GPTQ has nothing to exploit."""
    mixing = np.random.default_rng(7).standard_normal((K, K)) * (0.8 ** np.arange(K))[:, None]
    z = np.random.default_rng(seed).standard_normal((2, 5, K))
    return {"x": (z @ mixing).astype(np.float32)}


def test_matches_numpys_rounding_and_beats_symmetric(slim, tmp_path):
    src = tmp_path / "skewed.onnx"
    w, w2 = _skewed_model(src)
    out, sym = tmp_path / "fzp.onnx", tmp_path / "sym.onnx"
    report = convert_report(slim, src, out, "--quantize", "int4", "--float-zero-points", "--keep-float32")
    convert_report(slim, src, sym, "--quantize", "int4", "--keep-float32")
    onnx.checker.check_model(str(out), full_check=True)
    model = onnx.load(str(out))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("DequantizeLinear") == 2 and ops.count("Add") == 2, ops
    assert not any(i.name in ("W", "W2") for i in model.graph.initializer), "float weights left"
    assert "symmetric int4" not in " ".join(str(p) for p in report["passes"]), report["passes"]

    x = _feed()["x"]
    y, z = _exact_session(out).run(None, {"x": x})
    want_y = x @ _float_zero_point_rounding(w, 0)
    want_z = x.reshape(10, K) @ _float_zero_point_rounding(w2, 1).T + np.linspace(-1, 1, N).astype(np.float32)
    np.testing.assert_allclose(y, want_y, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(z, want_z, rtol=1e-5, atol=1e-4)

    ys, zs = _exact_session(sym).run(None, {"x": x})
    fy, fz = x @ w, x.reshape(10, K) @ w2.T + np.linspace(-1, 1, N).astype(np.float32)
    err = lambda a, b: float(np.linalg.norm(a - b) / np.linalg.norm(b))  # noqa: E731
    # Measured: 0.036 against 0.065 (y), 0.034 against 0.055 (z).
    assert err(y, fy) < 0.75 * err(ys, fy), (err(y, fy), err(ys, fy))
    assert err(z, fz) < 0.75 * err(zs, fz), (err(z, fz), err(zs, fz))

    # The default run narrows offsets and block indicators to float16 like the scales.
    small = tmp_path / "narrow.onnx"
    convert_report(slim, src, small, "--quantize", "int4", "--float-zero-points")
    assert small.stat().st_size < out.stat().st_size
    y16, _ = _exact_session(small).run(None, {"x": x})
    assert err(y16, fy) < 1.05 * err(y, fy)


def test_gptq_rounds_on_the_same_grid(slim, tmp_path):
    src = tmp_path / "skewed.onnx"
    _skewed_model(src)
    calibration = tmp_path / "calibration"
    for i in range(16):
        (calibration / str(i)).mkdir(parents=True)
        np.save(calibration / str(i) / "x.npy", _feed(100 + i)["x"])
    rtn, gptq = tmp_path / "rtn.onnx", tmp_path / "gptq.onnx"
    convert_report(slim, src, rtn, "--quantize", "int4", "--float-zero-points", "--keep-float32")
    report = convert_report(slim, src, gptq, "--quantize", "int4", "--float-zero-points", "--keep-float32",
                            "--quantize-method", "gptq", "--calibration", str(calibration))
    onnx.checker.check_model(str(gptq), full_check=True)
    text = " ".join(str(p) for p in report["passes"])
    assert "GPTQ on 2 weights" in text, text
    ref = onnx.load(str(src))
    w = numpy_helper.to_array(ref.graph.initializer[0])
    # Held-out inputs: GPTQ's output error below rounding to nearest on the same grid.
    x = np.concatenate([_feed(200 + i)["x"] for i in range(8)])
    want = x @ w
    errs = {}
    for label, path in [("rtn", rtn), ("gptq", gptq)]:
        s = _exact_session(path)
        y = np.concatenate([s.run(["y"], {"x": x[k:k + 2]})[0] for k in range(0, len(x), 2)])
        errs[label] = float(np.linalg.norm(y - want) / np.linalg.norm(want))
    # Measured: 0.029 rounded to nearest, 0.0051 GPTQ.
    assert errs["gptq"] < 0.5 * errs["rtn"], errs


def test_weights_the_form_cannot_take_stay_symmetric(slim, tmp_path):
    """An embedding lookup and a Conv keep symmetric int4; the report counts them."""
    rng = np.random.default_rng(0)
    table = rng.standard_normal((64, 32)).astype(np.float32)
    conv = rng.standard_normal((8, 32, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("Gather", ["table", "ids"], ["e"], name="lookup"),
             helper.make_node("Transpose", ["e"], ["t"], perm=[0, 2, 1]),
             helper.make_node("Unsqueeze", ["t", "axes"], ["u"]),
             helper.make_node("Conv", ["u", "C"], ["y"], name="conv")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 1, 6])],
                          [numpy_helper.from_array(table, "table"), numpy_helper.from_array(conv, "C"),
                           numpy_helper.from_array(np.array([2], np.int64), "axes")])
    src = tmp_path / "lookup_conv.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(src))
    out = tmp_path / "out.onnx"
    report = convert_report(slim, src, out, "--quantize", "int4", "--float-zero-points")
    onnx.checker.check_model(str(out), full_check=True)
    text = " ".join(str(p) for p in report["passes"])
    assert "symmetric int4 (an embedding lookup reads it)" in text, text
    assert "symmetric int4" in text and "Conv" in text, text
    ort.InferenceSession(str(out)).run(None, {"ids": np.array([[1, 2, 3, 4, 5, 6]], np.int64)})


@pytest.mark.parametrize("args", [["--quantize", "int8", "--float-zero-points"],
                                  ["--quantize", "uint4", "--float-zero-points"],
                                  ["--quantize", "int4", "--float-zero-points", "--asymmetric"],
                                  ["--float-zero-points"]])
def test_misuse_is_one_line(slim, tmp_path, args):
    src = tmp_path / "skewed.onnx"
    _skewed_model(src)
    out = tmp_path / "out.onnx"
    p = slim("convert", src, out, *args)
    assert p.returncode != 0, describe_run(p)
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert not out.exists()


# --------------------------------------------------------------------------
# 4-bit Conv: narrow weights in --narrow-format, blocks that fold at load, float zero points
# --------------------------------------------------------------------------

def _conv_model(path):
    """x [1, 48, 12, 12] → depthwise 3×3 (9 values per channel: narrow) → pointwise 48→64 (48
    input channels: blocks of 16) → 3×3 64→32 (blocks of 32)."""
    rng = np.random.default_rng(3)
    dw = rng.standard_normal((48, 1, 3, 3)).astype(np.float32)
    pw = (rng.standard_normal((64, 48, 1, 1)) * 0.2 + 0.1).astype(np.float32)
    kk = (rng.standard_normal((32, 64, 3, 3)) * 0.1).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "dw"], ["a"], group=48, pads=[1, 1, 1, 1], name="depthwise"),
             helper.make_node("Relu", ["a"], ["ar"]),
             helper.make_node("Conv", ["ar", "pw"], ["b"], name="pointwise"),
             helper.make_node("Relu", ["b"], ["br"]),
             helper.make_node("Conv", ["br", "kk"], ["y"], pads=[1, 1, 1, 1], name="conv3x3")]
    g = helper.make_graph(nodes, "convs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 48, 12, 12])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32, 12, 12])],
                          [numpy_helper.from_array(dw, "dw"), numpy_helper.from_array(pw, "pw"), numpy_helper.from_array(kk, "kk")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return {"dw": dw, "pw": pw, "kk": kk}


def _stored_types(model) -> dict[str, int]:
    """Weight name → element type of the quantized tensor feeding it (by the naming the writer uses)."""
    out = {}
    for t in model.graph.initializer:
        for w in ("dw", "pw", "kk"):
            if t.name.startswith(f"{w}_quantized"):
                out[w] = t.data_type
    return out


@pytest.mark.parametrize("narrow", ["int8", "int4", "float"])
def test_narrow_conv_weights_take_the_narrow_format(slim, tmp_path, narrow):
    src = tmp_path / "convs.onnx"
    weights = _conv_model(src)
    out = tmp_path / "out.onnx"
    args = ["--quantize", "int4"] + ([] if narrow == "int8" else ["--narrow-format", narrow])
    report = convert_report(slim, src, out, *args)
    onnx.checker.check_model(str(out), full_check=True)
    model = onnx.load(str(out))
    types = _stored_types(model)
    # The packed 4-bit bytes are uint8 initializers ("_quantized_bytes"); int8 weights are INT8.
    expect_dw = {"int8": TensorProto.INT8, "int4": TensorProto.UINT8, "float": None}[narrow]
    assert types.get("dw") == expect_dw, types
    assert types.get("pw") == TensorProto.UINT8 and types.get("kk") == TensorProto.UINT8, types
    if narrow == "float":
        assert any(t.name == "dw" for t in model.graph.initializer)
    # Every Conv weight folds at load: no DequantizeLinear before a Conv.
    assert not any(n.op_type == "DequantizeLinear" for n in model.graph.node), [n.op_type for n in model.graph.node]
    # The pointwise conv's 48 input channels take blocks of 16 (3 scales per output channel).
    scales = {t.name: list(t.dims) for t in model.graph.initializer if t.name.startswith("pw_scale")}
    assert any(d[:2] == [64, 3] for d in scales.values()), scales
    text = " ".join(str(p) for p in report["passes"])
    if narrow == "int8":
        assert "quantize int8: 1 weights (Conv 1)" in text, text
    x = np.random.default_rng(0).standard_normal((1, 48, 12, 12)).astype(np.float32)
    want = ort.InferenceSession(str(src)).run(None, {"x": x})[0]
    got = ort.InferenceSession(str(out)).run(None, {"x": x})[0]
    cos = float((want * got).sum() / np.linalg.norm(want) / np.linalg.norm(got))
    assert cos > 0.97, cos


def test_float_zero_points_on_folded_convs(slim, tmp_path):
    """The folded form adds each block's offset in its constant chain: the weight onnxruntime
    folds at load equals numpy's rounding to the same grid."""
    src = tmp_path / "convs.onnx"
    weights = _conv_model(src)
    out = tmp_path / "out.onnx"
    convert_report(slim, src, out, "--quantize", "int4", "--float-zero-points", "--keep-float32", "--narrow-format", "float")
    onnx.checker.check_model(str(out), full_check=True)
    model = onnx.load(str(out))
    assert any(n.op_type == "Add" and n.output[0].startswith("pw") for n in model.graph.node)
    # The folded weight: run the constant chain by exposing the weight value as an output.
    for name, axis_block in [("pw", 16), ("kk", 32)]:
        probe = onnx.load(str(out))
        probe.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
        path = tmp_path / f"probe_{name}.onnx"
        onnx.save(probe, str(path))
        sess = ort.InferenceSession(str(path))
        got = sess.run([name], {"x": np.zeros((1, 48, 12, 12), np.float32)})[0]
        w = weights[name]
        o, c = w.shape[:2]
        blocks = w.reshape(o, c // axis_block, axis_block, *w.shape[2:])
        lo, hi = blocks.min(2, keepdims=True), blocks.max(2, keepdims=True)
        scale = (hi - lo) / np.float32(15)
        offset = lo + np.float32(8) * scale
        q = np.clip(np.round((blocks - offset) * (np.float32(1) / scale)), -8, 7)
        np.testing.assert_allclose(got, (q * scale + offset).reshape(w.shape), rtol=1e-5, atol=1e-6)


def test_diff_names_the_offset_term_as_part_of_the_quantized_weight(slim, tmp_path):
    src = tmp_path / "skewed.onnx"
    _skewed_model(src)
    out = tmp_path / "fzp.onnx"
    convert_report(slim, src, out, "--quantize", "int4", "--float-zero-points")
    p = slim("diff", src, out)
    assert p.returncode == 0, describe_run(p)
    assert p.stdout.count("float zero points") == 2, p.stdout
    assert "nodes added" not in p.stdout and "weights added" not in p.stdout, p.stdout
