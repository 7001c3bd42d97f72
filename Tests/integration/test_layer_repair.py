"""Least-squares repair (`--repair` after `--prune-*` / `--low-rank`): every MatMul/Gemm the
compression changed is refit to the original model's output on calibration samples,
Ŵ = (X̃ᵀX̃ + λI)⁻¹(X̃ᵀY + λW), in stages so each layer sees its repaired predecessors' outputs.
The weights written are numpy's solution of the same problem; a layer whose inputs did not change
keeps its weights; no layer's teacher-matching error gets worse; with nothing compressed the
model is unchanged; on the trained encoder repair wins back at least half of what pruning and
low-rank lose.

Structure models: testdata/pruning/ (random weights: agreement and validity only).
Trained models and data: scripts/models/trained_models.py.
"""
from __future__ import annotations

import os
import re
import time

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

import task_metrics as tm
from slim_helpers import convert_report as convert, assert_valid_same_signature_runs, run_outputs

HERE = os.path.dirname(os.path.abspath(__file__))
PRUNING = os.path.join(HERE, "..", "..", "testdata", "pruning")
DETAIL = re.compile(r"^\s*(\S+): teacher-matching error ([0-9.]+) → ([0-9.]+) \(stage (\d+), damping ([0-9.e+-]+)")


def repair_lines(report: dict) -> list[str]:
    line = next(l for l in report["passes"] if l.startswith("repair"))
    return line.splitlines()


def refits(report: dict) -> dict[str, tuple[float, float, int, float]]:
    """Layer label → (error before, error after, stage, damping), from the repair pass's detail
    lines (layers kept as they were have none)."""
    out = {}
    for l in repair_lines(report)[1:]:
        m = DETAIL.match(l)
        if m: out[m.group(1)] = (float(m.group(2)), float(m.group(3)), int(m.group(4)), float(m.group(5)))
    return out


def write_samples(folder, seed: int, count: int = 8, seq: int = 16, width: int = 32) -> tuple[str, list[dict]]:
    rng = np.random.default_rng(seed)
    feeds = []
    for i in range(count):
        x = rng.standard_normal((1, seq, width)).astype(np.float32)
        (folder / str(i)).mkdir(parents=True)
        np.save(folder / str(i) / "x.npy", x)
        feeds.append({"x": x})
    return str(folder), feeds


def values(path: str, names: list[str], feeds: list[dict]) -> dict[str, np.ndarray]:
    """The named intermediate values over every feed, rows stacked (last axis kept)."""
    m = onnx.load(path)
    for n in names: m.graph.output.append(onnx.helper.make_empty_tensor_value_info(n))
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    runs = [s.run(names, f) for f in feeds]
    return {n: np.concatenate([r[k].reshape(-1, r[k].shape[-1]) for r in runs]).astype(np.float64) for k, n in enumerate(names)}


def node(m: onnx.ModelProto, name: str) -> onnx.NodeProto:
    return next(n for n in m.graph.node if n.name == name)


def weight(m: onnx.ModelProto, name: str) -> np.ndarray:
    return next(numpy_helper.to_array(t) for t in m.graph.initializer if t.name == name)


def bias_add(m: onnx.ModelProto, out: str) -> onnx.NodeProto:
    return next(n for n in m.graph.node if n.op_type == "Add" and out in n.input)


def ridge(x: np.ndarray, y: np.ndarray, w: np.ndarray, damping=0.01) -> np.ndarray:
    xa = np.hstack([x, np.ones((len(x), 1))])
    g = xa.T @ xa
    lam = damping * np.mean(np.diag(g))
    return np.linalg.solve(g + lam * np.eye(len(g)), xa.T @ y + lam * w)


# ------------------------------------------------------------------------------ structure

def test_refit_is_numpys_least_squares(slim, tmp_path):
    """FFN pruning of the post-LN encoder layer: fc1 (outputs pruned) reads what the teacher's
    reads and already matches it exactly, so it is kept; fc2 (inputs pruned) is numpy's ridge solution of the pruned
    model's fc2 inputs against the teacher's fc2 output plus bias, weight and bias together."""
    src = os.path.join(PRUNING, "ffn_torchscript.onnx")
    calibration, feeds = write_samples(tmp_path / "cal", seed=3)
    plain, repaired = tmp_path / "pruned.onnx", tmp_path / "repaired.onnx"
    args = ["--prune-ffn", "0.5", "--round-to", "1", "--calibration", calibration]
    convert(slim, src, plain, *args)
    report = convert(slim, src, repaired, *args, "--repair")
    assert_valid_same_signature_runs(src, repaired)
    lines = repair_lines(report)
    assert any(l.strip().startswith("/fc1/MatMul: kept") for l in lines), lines
    layers = refits(report)
    assert list(layers) == ["/fc2/MatMul"], lines
    teacher, pruned, fixed = onnx.load(src), onnx.load(str(plain)), onnx.load(str(repaired))
    for label in ["/fc1/MatMul", "/fc2/MatMul"]:
        n = node(pruned, label)
        w0, b_add = weight(pruned, n.input[1]), bias_add(pruned, n.output[0])
        b_name = next(i for i in b_add.input if i != n.output[0])
        w1, b1 = weight(fixed, n.input[1]), weight(fixed, b_name)
        if label not in layers:
            np.testing.assert_array_equal(w1, w0)
            np.testing.assert_array_equal(b1, weight(pruned, b_name))
            continue
        before, after, stage, damping = layers[label]
        assert stage == 2
        target = bias_add(teacher, node(teacher, label).output[0]).output[0]
        x = values(str(plain), [n.input[0]], feeds)[n.input[0]]
        y = values(src, [target], feeds)[target]
        expected = ridge(x, y, np.vstack([w0, weight(pruned, b_name)[None, :]]), damping)
        np.testing.assert_allclose(w1, expected[:-1], rtol=2e-3, atol=2e-4)
        np.testing.assert_allclose(b1, expected[-1], rtol=2e-3, atol=2e-4)
        assert after < before


def write_feeds(folder, src: str, seed: int, count: int = 16, seq: int = 32) -> tuple[str, list[dict]]:
    """Calibration samples for a testdata model: floats N(0, 1), token ids below the vocabulary
    of 100, attention masks all ones; batch 1, sequence `seq`."""
    rng = np.random.default_rng(seed)
    inputs = ort.InferenceSession(src, providers=["CPUExecutionProvider"]).get_inputs()
    feeds = []
    for i in range(count):
        (folder / str(i)).mkdir(parents=True)
        feed = {}
        for inp in inputs:
            shape = [d if isinstance(d, int) else (1 if k == 0 else seq) for k, d in enumerate(inp.shape)]
            if "int64" in inp.type:
                v = np.ones(shape, np.int64) if "mask" in inp.name else rng.integers(0, 100, shape).astype(np.int64)
            else:
                v = rng.standard_normal(shape).astype(np.float32)
            np.save(folder / str(i) / f"{inp.name}.npy", v)
            feed[inp.name] = v
        feeds.append(feed)
    return str(folder), feeds


def conv_model() -> onnx.ModelProto:
    """x [1, 8, 10, 10] → pointwise Conv (bias) → Relu → 3×3 Conv, stride 2, pad 1, 2 groups,
    8 → 6 (bias) → y. Random weights: a structure model."""
    from onnx import TensorProto, helper
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal(v).astype(np.float32), n) for n, v in
             [("p_w", (8, 8, 1, 1)), ("p_b", (8,)), ("k_w", (6, 4, 3, 3)), ("k_b", (6,))]]
    nodes = [helper.make_node("Conv", ["x", "p_w", "p_b"], ["p"], name="pointwise"),
             helper.make_node("Relu", ["p"], ["r"], name="relu"),
             helper.make_node("Conv", ["r", "k_w", "k_b"], ["y"], name="grouped", kernel_shape=[3, 3], strides=[2, 2],
                              pads=[1, 1, 1, 1], group=2)]
    g = helper.make_graph(nodes, "conv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 10, 10])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 5, 5])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)


def im2col(x: np.ndarray, group: int, channels: int, k=3, stride=2, pad=1) -> np.ndarray:
    """Rows (n, oy, ox), columns (channel of the group, ky, kx)."""
    xp = np.pad(x[:, group * channels:(group + 1) * channels], ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, _, h, w = xp.shape
    oh, ow = (h - k) // stride + 1, (w - k) // stride + 1
    cols = np.stack([xp[:, :, ky:ky + stride * oh:stride, kx:kx + stride * ow:stride] for ky in range(k) for kx in range(k)], axis=2)
    # [n, c, k·k, oh, ow] → [n, oh, ow, c, k·k]
    return cols.transpose(0, 3, 4, 1, 2).reshape(n * oh * ow, channels * k * k)


def test_grouped_strided_conv_refit_is_numpys_least_squares(slim, tmp_path):
    """A 3×3 grouped, strided, padded Conv downstream of a factored pointwise Conv is refit per
    group on its input's patches: each group's filters and biases are numpy's ridge solution on
    numpy's im2col of the repaired model's input to it against the original's output (at one of
    the tenfold dampings repair tries)."""
    src = tmp_path / "conv.onnx"
    onnx.save(conv_model(), src)
    rng = np.random.default_rng(1)
    feeds = []
    for i in range(16):
        (tmp_path / "cal" / str(i)).mkdir(parents=True)
        x = rng.standard_normal((1, 8, 10, 10)).astype(np.float32)
        np.save(tmp_path / "cal" / str(i) / "x.npy", x)
        feeds.append({"x": x})
    out = tmp_path / "repaired.onnx"
    report = convert(slim, src, out, "--low-rank", "0.5", "--round-to", "1", "--repair", "--calibration", str(tmp_path / "cal"))
    assert_valid_same_signature_runs(str(src), out)
    assert "grouped" in refits(report), repair_lines(report)
    m = onnx.load(str(out))
    # The grouped conv's input in the repaired model: what repair fitted it on.
    probe = onnx.load(str(out))
    probe.graph.output.append(onnx.helper.make_empty_tensor_value_info("r"))
    sr = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.concatenate([sr.run(["r"], f)[0] for f in feeds]).astype(np.float64)
    y = np.concatenate([ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, f)[0] for f in feeds])
    y = y.transpose(0, 2, 3, 1).reshape(-1, 6).astype(np.float64)
    w0, b0 = weight(onnx.load(str(src)), "k_w"), weight(onnx.load(str(src)), "k_b")
    w1, b1 = weight(m, "k_w"), weight(m, "k_b")
    assert np.abs(w1 - w0).max() > 1e-3
    for g in range(2):
        cols = slice(3 * g, 3 * g + 3)
        start = np.vstack([w0[cols].reshape(3, -1).T, b0[None, cols]])
        got = np.vstack([w1[cols].reshape(3, -1).T, b1[None, cols]])
        patches = im2col(x, g, 4)
        candidates = [ridge(patches, y[:, cols], start, d) for d in (0.01, 0.1, 1, 10)] + [start]
        assert min(np.abs(c - got).max() for c in candidates) < 2e-3 * np.abs(got).max(), g


@pytest.mark.parametrize("name,args", [("ffn_torchscript.onnx", ["--prune-heads", "0.5", "--prune-ffn", "0.5"]),
                                       ("bert_torchscript.onnx", ["--prune-heads", "0.5", "--prune-ffn", "0.5"]),
                                       ("bert_dynamo.onnx", ["--prune-heads", "0.5"]),
                                       ("llama_gqa.onnx", ["--prune-ffn", "0.5"]),
                                       ("bert_torchscript.onnx", ["--low-rank", "0.5"]),
                                       ("llama_gqa.onnx", ["--low-rank", "0.5"])])
def test_repair_never_worsens_a_layer_and_brings_the_output_closer(slim, tmp_path, name, args):
    """Per layer, the teacher-matching error after repair is at most the one before, with layers
    in two stages or more; the repaired model's outputs are closer to the original's than the
    unrepaired model's on the calibration samples."""
    src = os.path.join(PRUNING, name)
    calibration, feeds = write_feeds(tmp_path / "cal", src, seed=4)
    plain, repaired = tmp_path / "plain.onnx", tmp_path / "repaired.onnx"
    args = args + ["--round-to", "1", "--calibration", calibration]
    convert(slim, src, plain, *args)
    report = convert(slim, src, repaired, *args, "--repair")
    assert_valid_same_signature_runs(src, repaired)
    layers = refits(report)
    assert layers, repair_lines(report)
    for label, (before, after, _, _) in layers.items():
        assert after <= before, (label, before, after)
    assert max(s for _, _, s, _ in layers.values()) >= 2
    error = {p: 0.0 for p in (plain, repaired)}
    for feed in feeds:
        ref = run_outputs(src, feed)[0]
        for p in error: error[p] += float(np.sum((run_outputs(str(p), feed)[0] - ref) ** 2))
    assert error[repaired] < error[plain], error


def test_pruning_repair_then_gptq_in_one_command(slim, tmp_path):
    """--prune-heads with --quantize int4 and --repair: the pruned layers are refit, then the
    weights are rounded by GPTQ on the repaired model; the result is valid and runs."""
    src = os.path.join(PRUNING, "bert_torchscript.onnx")
    calibration, _ = write_feeds(tmp_path / "cal", src, seed=6)
    out = tmp_path / "x.onnx"
    report = convert(slim, src, out, "--prune-heads", "0.5", "--round-to", "1", "--quantize", "int4", "--block-size", "16",
                     "--repair", "--calibration", calibration)
    assert refits(report), repair_lines(report)
    quantize = next(l for l in report["passes"] if l.startswith("quantize"))
    assert "GPTQ" in quantize, quantize
    assert_valid_same_signature_runs(src, out)


def test_nothing_compressed_leaves_the_model_as_it_was(slim, tmp_path):
    """--low-rank 1.0 keeps every layer dense: repair finds nothing to refit and the outputs are
    the input model's exactly."""
    src = os.path.join(PRUNING, "bert_torchscript.onnx")
    out = tmp_path / "x.onnx"
    report = convert(slim, src, out, "--low-rank", "1.0", "--repair")
    assert "no compressed layer to refit" in repair_lines(report)[0]
    m = onnx.load(src)
    from slim_helpers import random_feed
    feed = random_feed(ort.InferenceSession(src, providers=["CPUExecutionProvider"]), m, seed=2)
    for a, b in zip(run_outputs(src, feed), run_outputs(str(out), feed)):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------ trained models

def test_minilm_repair_wins_back_what_pruning_and_low_rank_lose(slim, tmp_path, minilm, summary_lines):
    """paraphrase-MiniLM-L3-v2 calibrated on 32 lee_background sentences. Low-rank 75%: the
    repaired model loses at most half the Lee correlation the unrepaired one loses, and its
    embeddings are closer to the float model's. Heads 25%: pruning does not lower Lee r or the
    polarity kNN accuracy (both measured above float, with and without repair), so the loss
    repair wins back is the embeddings' distance from the float model's; Lee r stays within 0.02
    of float. Measured (Xeon): low-rank Lee r 0.607 → 0.632 (float 0.633), cos 0.944 → 0.951;
    heads cos 0.935 → 0.943, Lee r 0.651 → 0.623."""
    path, calibration = minilm
    metrics = {}
    for label, args in [("heads 25%", ["--prune-heads", "0.25"]), ("low-rank 75%", ["--low-rank", "0.75"])]:
        for kind, extra in [("plain", []), ("repaired", ["--repair"])]:
            out = tmp_path / f"{kind}.onnx"
            t = time.time()
            convert(slim, path, out, *args, "--calibration", calibration, *extra)
            seconds = time.time() - t
            onnx.checker.check_model(str(out), full_check=True)
            metrics[label, kind] = m = tm.minilm_metrics(str(out), path)
            summary_lines.append(f"repair minilm {label} {kind}: emb cos mean {m['emb_cos_mean']:.4f}, "
                                 f"Lee r {m['lee_pearson']:.4f} (float {m['lee_pearson_float']:.4f}), "
                                 f"polarity kNN {m['polarity_knn_acc']:.3f} (float {m['polarity_knn_acc_float']:.3f}), "
                                 f"{os.path.getsize(out) / 1e6:.1f} MB, {seconds:.1f} s")
    lost = {k: m["lee_pearson_float"] - m["lee_pearson"] for k, m in metrics.items()}
    assert lost["low-rank 75%", "repaired"] <= 0.5 * lost["low-rank 75%", "plain"], lost
    assert lost["low-rank 75%", "plain"] > 0.01, lost
    for label in ["heads 25%", "low-rank 75%"]:
        assert metrics[label, "repaired"]["emb_cos_mean"] > metrics[label, "plain"]["emb_cos_mean"] + 0.005, metrics
    assert abs(lost["heads 25%", "repaired"]) <= 0.02, lost


def test_efficientnet_channel_pruning_repaired(slim, tmp_path, summary_lines):
    """EfficientNet-Lite0, 30% of conv channels, calibrated on the mirrored photos: repair refits
    the convs (pointwise, depthwise per channel, the stem) and the classifier after the cut.
    Measured (Xeon): top-1 agreement 0.473 → 0.818, top-5 overlap 0.640 → 0.891 on 55 photos,
    convert 28 s (pointwise convs alone: 0.782, 0.895)."""
    path = tm.trained_models.ensure("efficientnet_lite0")["model"]
    calibration = tm.write_image_calibration("efficientnet_lite0", str(tmp_path / "calibration"))
    metrics = {}
    for kind, extra in [("plain", []), ("repaired", ["--repair"])]:
        out = tmp_path / f"{kind}.onnx"
        t = time.time()
        report = convert(slim, path, out, "--prune-channels", "0.3", "--calibration", calibration, *extra)
        seconds = time.time() - t
        onnx.checker.check_model(str(out), full_check=True)
        metrics[kind] = m = tm.efficientnet_metrics(str(out), path)
        summary_lines.append(f"repair efficientnet_lite0 channels 30% {kind}: top-1 agreement {m['top1_agree']:.3f}, "
                             f"top-5 overlap {m['top5_overlap']:.3f}, {seconds:.1f} s")
    for label, (before, after, _, _) in refits(report).items():
        assert after <= before, (label, before, after)
    assert metrics["repaired"]["top1_agree"] >= metrics["plain"]["top1_agree"] + 0.15, metrics
    assert metrics["repaired"]["top5_overlap"] > metrics["plain"]["top5_overlap"], metrics
