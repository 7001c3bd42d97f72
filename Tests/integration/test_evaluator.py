"""The built-in evaluator (`onnx-slim run`) against onnxruntime, and the run command's contract.

Every testdata model, and each of its quantized/converted forms that onnx-slim writes, is run by
the evaluator and by onnxruntime on the same inputs (.npy files); outputs must agree within 1e-4
relative (float models) or a bound that covers onnxruntime's own integer and float16 kernels.
"""

from __future__ import annotations

import json
import os

import numpy as np
import onnx
import pytest

from slim_helpers import TESTDATA, describe_run, random_feed


def ort_session(path):
    """onnxruntime with graph optimizations off: it evaluates the graph as written (its fusions
    of quantized patterns approximate, which is not what the evaluator is checked against)."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 4
    so.intra_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

MODELS = ["cnn_constant_weights", "control_flow", "external_data", "fp16_model", "old_opset",
          "tiny_mlp", "transformer_block"]

# converted form -> (onnx-slim arguments, relative tolerance vs onnxruntime on the same model;
# looser where onnxruntime's integer and float16 kernels round differently)
FORMS = {
    "float": ([], 1e-4),
    "int8": (["--quantize", "int8"], 2e-3),
    "int8-weight-only": (["--quantize", "int8", "--int8-mode", "weight-only"], 1e-4),
    "int8-folded": (["--quantize", "int8", "--int8-mode", "folded"], 1e-4),
    "int4": (["--quantize", "int4"], 1e-4),
    "fp16": (["--quantize", "fp16"], 5e-3),
}


def relative_error(ours: np.ndarray, ref: np.ndarray) -> float:
    scale = max(float(np.max(np.abs(ref.astype(np.float64)))), 1e-6)
    return float(np.max(np.abs(ours.astype(np.float64) - ref.astype(np.float64)))) / scale if ref.size else 0.0


def run_evaluator(slim, model_path, feed, folder):
    inputs = os.path.join(folder, "in")
    outputs = os.path.join(folder, "out")
    os.makedirs(inputs, exist_ok=True)
    for name, value in feed.items():
        np.save(os.path.join(inputs, f"{name}.npy"), value)
    proc = slim("run", model_path, "--inputs", inputs, "--outputs", outputs, "--json")
    assert proc.returncode == 0, describe_run(proc)
    report = json.loads(proc.stdout)
    return [np.load(o["file"]) for o in report["outputs"]]


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("model", MODELS)
def test_evaluator_matches_onnxruntime(slim, tmp_path, model, form):
    args, rtol = FORMS[form]
    path = os.path.join(TESTDATA, f"{model}.onnx")
    if args:
        converted = str(tmp_path / f"{model}-{form}.onnx")
        proc = slim(path, converted, *args)
        assert proc.returncode == 0, describe_run(proc)
        path = converted
    session = ort_session(path)
    feed = random_feed(session, onnx.load(path, load_external_data=False), seed=3)
    expected = session.run(None, feed)
    ours = run_evaluator(slim, path, feed, str(tmp_path))
    assert len(ours) == len(expected)
    for k, (a, b) in enumerate(zip(ours, expected)):
        assert a.dtype == b.dtype and a.shape == b.shape, f"output {k}: {a.dtype}{a.shape} vs {b.dtype}{b.shape}"
        err = relative_error(a, b)
        # A float16 output can differ in its last bit (2^-11 relative) from onnxruntime's rounding.
        tolerance = max(rtol, 2e-3) if a.dtype == np.float16 else rtol
        assert err <= tolerance, f"{model}/{form} output {k}: relative error {err:.3g} > {rtol}"


def test_generated_inputs_are_seeded(slim, tmp_path):
    path = os.path.join(TESTDATA, "transformer_block.onnx")
    runs = {}
    for seed in (1, 1, 2):
        out = tmp_path / f"s{seed}-{len(runs)}"
        proc = slim("run", path, "--seed", str(seed), "--dim", "batch=2", "--dim", "sequence=16",
                    "--outputs", str(out), "--json")
        assert proc.returncode == 0, describe_run(proc)
        report = json.loads(proc.stdout)
        assert report["generated_inputs"] == ["input_ids"]
        assert any("0..<" in n for n in report["notes"]), report["notes"]   # ids drawn over the vocabulary
        runs.setdefault(seed, []).append(np.load(report["outputs"][0]["file"]))
    first, again = runs[1]
    assert first.shape[:2] == (2, 16)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, runs[2][0])


def test_pb_inputs_and_outputs(slim, tmp_path):
    """The conformance corpus layout: input_K.pb in, TensorProto .pb out."""
    folder = "/usr/share/libonnx-testdata/data/node/test_add_bcast"
    out = tmp_path / "out"
    proc = slim("run", f"{folder}/model.onnx", "--inputs", f"{folder}/test_data_set_0",
                "--outputs", str(out), "--output-format", "pb", "--json")
    assert proc.returncode == 0, describe_run(proc)
    produced = onnx.TensorProto()
    produced.ParseFromString(open(json.loads(proc.stdout)["outputs"][0]["file"], "rb").read())
    expected = onnx.TensorProto()
    expected.ParseFromString(open(f"{folder}/test_data_set_0/output_0.pb", "rb").read())
    np.testing.assert_allclose(onnx.numpy_helper.to_array(produced), onnx.numpy_helper.to_array(expected), rtol=1e-6)


@pytest.mark.parametrize("case", ["unknown-input-file", "bad-npy", "bad-dim", "missing-folder", "unsupported-op"])
def test_run_bad_input(slim, tmp_path, case):
    path = os.path.join(TESTDATA, "tiny_mlp.onnx")
    args = ["run", path]
    expected_code = 2
    if case == "unknown-input-file":
        (tmp_path / "in").mkdir()
        np.save(tmp_path / "in" / "nonsense.npy", np.zeros(3, np.float32))
        args += ["--inputs", str(tmp_path / "in")]
    elif case == "bad-npy":
        (tmp_path / "in").mkdir()
        (tmp_path / "in" / "input.npy").write_bytes(b"\x93NUMPY garbage")
        args += ["--inputs", str(tmp_path / "in")]
    elif case == "bad-dim":
        args += ["--dim", "batch"]
        expected_code = 1
    elif case == "missing-folder":
        args += ["--inputs", str(tmp_path / "nope")]
    else:
        model = onnx.helper.make_model(onnx.helper.make_graph(
            [onnx.helper.make_node("NoSuchOp", ["x"], ["y"])], "g",
            [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
            [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])]))
        model.ir_version = 8
        onnx.save(model, tmp_path / "m.onnx")
        args = ["run", str(tmp_path / "m.onnx")]
    proc = slim(*args, "--outputs", str(tmp_path / "out"))
    assert proc.returncode == expected_code, describe_run(proc)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")
