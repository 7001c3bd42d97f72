"""Static int8 (`--int8-mode static`): calibrated activation QDQ plus per-channel weight QDQ.

Every written model passes the full checker and runs in onnxruntime; its outputs stay close to
the float model's (cosine, measured by onnxruntime on held-out inputs). The acceptance case is a
BERT exported by PyTorch (scripts/models/torch_bert.py) calibrated on 32 samples, side by side
with onnxruntime's quantize_static on the same samples.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import onnx
import pytest

from slim_helpers import REPO, TESTDATA, cosine, describe_run, ort_session, random_feed

sys.path.insert(0, os.path.join(REPO, "scripts", "models"))
import torch_bert  # noqa: E402

MIN_COSINE = 0.98


def worst_cosine(reference: str, candidate: str, feeds: list[dict]) -> float:
    """Smallest cosine over every output and feed, both models run by onnxruntime."""
    a, b = ort_session(reference), ort_session(candidate)
    return min(cosine(x, y) for feed in feeds for x, y in zip(a.run(None, feed), b.run(None, feed)))


def checked(path: str) -> onnx.ModelProto:
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    return model


def save_samples(folder, feeds: list[dict]):
    for k, feed in enumerate(feeds):
        (folder / f"s{k:02d}").mkdir(parents=True)
        for name, v in feed.items():
            np.save(folder / f"s{k:02d}" / f"{name}.npy", v)


def quantized_activations(model: onnx.ModelProto) -> set[str]:
    weights = {t.name for t in model.graph.initializer}
    return {n.input[0] for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] not in weights}


def softmax_fed(model: onnx.ModelProto) -> set[str]:
    """Values that are a Softmax output or a Where selecting from one (the exporter's NaN guard)."""
    softmax = {n.output[0] for n in model.graph.node if n.op_type == "Softmax"}
    guarded = {n.output[0] for n in model.graph.node if n.op_type == "Where" and set(n.input[1:]) & softmax}
    return softmax | guarded


# --------------------------------------------------------------------------
# a BERT exported by PyTorch
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def torch_bert_model(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("torch_bert") / "bert.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vocab = torch_bert.export(path, "small", seed=0)
    rng = np.random.default_rng(3)
    calibration = [torch_bert.sample(rng, vocab) for _ in range(32)]
    held_out = [torch_bert.sample(rng, vocab) for _ in range(6)]
    folder = tmp_path_factory.mktemp("calibration")
    save_samples(folder, calibration)
    return path, folder, calibration, held_out


@pytest.mark.parametrize("method", ["minmax", "percentile", "entropy"])
def test_pytorch_bert_static_int8_keeps_cosine(slim, tmp_path, torch_bert_model, method, summary_lines):
    src, folder, _, held_out = torch_bert_model
    out = str(tmp_path / "static.onnx")
    proc = slim(src, out, "--quantize", "int8", "--int8-mode", "static", "--calibration", folder,
                "--calibration-method", method)
    assert proc.returncode == 0, describe_run(proc)
    assert f"({method}, 32 samples from {folder})" in proc.stdout, proc.stdout
    # Products of two activations are reported as computed inputs, not as quantized weights.
    assert "already quantized" not in proc.stdout, proc.stdout
    model = checked(out)
    # Activations feeding MatMul/Gemm are quantized: per layer Q, K, V and attention-output inputs,
    # the two FFN inputs and the scores' Q·K product; attention probabilities (Softmax, here behind
    # the exporter's Where(IsNaN) guard) stay float.
    activations = quantized_activations(model)
    assert len(activations) >= 4 * 5, sorted(activations)
    assert not activations & softmax_fed(model)
    ops = {n.op_type for n in model.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    worst = worst_cosine(src, out, held_out)
    summary_lines.append(f"static int8, PyTorch BERT (4 layers), {method}: min cosine {worst:.5f}")
    assert worst >= MIN_COSINE


def test_pytorch_bert_static_int8_beside_onnxruntime(slim, tmp_path, torch_bert_model, summary_lines):
    """The same 32 samples through onnxruntime's quantize_static (default settings): both models
    are valid and both scores are printed. Ours must reach the bound; theirs is reported."""
    from onnxruntime.quantization import CalibrationDataReader, quantize_static

    src, folder, calibration, held_out = torch_bert_model

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.samples = iter(calibration)

        def get_next(self):
            return next(self.samples, None)

    theirs = str(tmp_path / "ort_static.onnx")
    quantize_static(src, theirs, Reader())
    ours = str(tmp_path / "slim_static.onnx")
    proc = slim(src, ours, "--quantize", "int8", "--int8-mode", "static", "--calibration", folder)
    assert proc.returncode == 0, describe_run(proc)
    checked(ours)
    slim_cos, ort_cos = worst_cosine(src, ours, held_out), worst_cosine(src, theirs, held_out)
    summary_lines.append(f"static int8, PyTorch BERT: onnx-slim min cosine {slim_cos:.5f}, "
                         f"onnxruntime quantize_static {ort_cos:.5f}; sizes {os.path.getsize(ours)} vs {os.path.getsize(theirs)} bytes")
    assert slim_cos >= MIN_COSINE
    assert os.path.getsize(ours) < os.path.getsize(src) / 3


def test_quantize_sensitive_also_quantizes_attention_probabilities(slim, tmp_path, torch_bert_model):
    src, folder, _, held_out = torch_bert_model
    out = str(tmp_path / "sensitive.onnx")
    proc = slim(src, out, "--quantize", "int8", "--int8-mode", "static", "--calibration", folder,
                "--quantize-sensitive")
    assert proc.returncode == 0, describe_run(proc)
    model = checked(out)
    assert len(quantized_activations(model) & softmax_fed(model)) == 4  # one per layer
    assert worst_cosine(src, out, held_out) > 0.9


# --------------------------------------------------------------------------
# the testdata models, with generated calibration samples
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name,extra", [
    ("transformer_block", []), ("tiny_mlp", []), ("external_data", []), ("fp16_model", []),
    ("cnn_constant_weights", []), ("old_opset", []),  # opset 12 and 9: upgraded to 13 first
])
def test_static_qdq_on_testdata_models(slim, tmp_path, name, extra):
    src = os.path.join(TESTDATA, f"{name}.onnx")
    out = str(tmp_path / "static.onnx")
    proc = slim(src, out, "--quantize", "int8", "--int8-mode", "static", "--calibration-generated",
                "--calibration-samples", "8", *extra)
    assert proc.returncode == 0, describe_run(proc)
    assert "8 generated samples (seed 0; random inputs, not real data" in proc.stdout, proc.stdout
    model = checked(out)
    assert quantized_activations(model), "no activation was quantized"
    ref = onnx.load(src, load_external_data=False)
    session = ort_session(src)
    feeds = [random_feed(session, ref, seed=s) for s in (21, 22, 23)]
    assert worst_cosine(src, out, feeds) >= MIN_COSINE


def test_missing_calibration_folder_is_refused_cleanly(slim, tmp_path):
    src = os.path.join(TESTDATA, "tiny_mlp.onnx")
    out = tmp_path / "static.onnx"
    proc = slim(src, out, "--quantize", "int8", "--int8-mode", "static", "--calibration", tmp_path / "nowhere")
    assert proc.returncode != 0
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not out.exists()


def test_static_without_calibration_data_stops_with_one_line(slim, tmp_path):
    """Random calibration ruins trained models: static int8 asks for real samples (or an opt-in)."""
    src = os.path.join(TESTDATA, "tiny_mlp.onnx")
    out = tmp_path / "static.onnx"
    proc = slim(src, out, "--quantize", "int8", "--int8-mode", "static")
    assert proc.returncode == 1, describe_run(proc)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--calibration DIR" in lines[0] and "--calibration-generated" in lines[0], proc.stderr
    assert not out.exists()


def test_failure_on_generated_inputs_names_them_and_the_options(slim, tmp_path):
    """A model that only runs at real dims fails on generated ones with what it was run on."""
    src = str(tmp_path / "concat.onnx")
    # Concat of x [1, 4, h, w] with a constant [1, 4, 2, 2]: generated h = w = 1 cannot concatenate.
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4, "h", "w"])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    c = onnx.numpy_helper.from_array(np.ones((1, 4, 2, 2), np.float32), "c")
    w = onnx.numpy_helper.from_array(np.ones((8, 8, 1, 1), np.float32), "w")
    graph = onnx.helper.make_graph([
        onnx.helper.make_node("Concat", ["x", "c"], ["cat"], axis=1),
        onnx.helper.make_node("Conv", ["cat", "w"], ["y"]),
    ], "g", [x], [y], [c, w])
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)]), src)
    out = tmp_path / "static.onnx"
    proc = slim(src, out, "--quantize", "int8", "--int8-mode", "static", "--calibration-generated",
                "--min-elements", "1")
    assert proc.returncode == 2, describe_run(proc)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "x float32[1,4,1,1]" in lines[0] and "--dim" in lines[0] and "--calibration DIR" in lines[0], lines[0]
    assert not out.exists()
    proc = slim(src, out, "--quantize", "int8", "--int8-mode", "static", "--calibration-generated",
                "--min-elements", "1", "--dim", "h=2", "--dim", "w=2")
    assert proc.returncode == 0, describe_run(proc)
