"""Low-rank factorization (`--low-rank R`, `--low-rank-energy E`): every factored model passes
onnx's full checker and runs in onnxruntime with its signature; the factors are numpy's whitened
(or plain) truncated SVD of the same weight and covariance; on trained models whitening keeps
the task where plain SVD does not; it composes with int8 and pruning in one command.

Structure models: testdata/ and testdata/pruning/ (random weights: valid models only). Trained
models and data: scripts/models/trained_models.py.
"""
from __future__ import annotations

import json
import os
import time

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import task_metrics as tm
from slim_helpers import convert_report as convert, describe_run, ort_session, random_feed, signature

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.join(HERE, "..", "..", "testdata")
STRUCTURE = sorted([os.path.join("pruning", f) for f in os.listdir(os.path.join(TESTDATA, "pruning")) if f.endswith(".onnx")]
                   + [f for f in os.listdir(TESTDATA) if f.endswith(".onnx")])


def pass_line(report: dict, name: str) -> str:
    return next(l for l in report["passes"] if l.startswith(name + ":"))


@pytest.mark.parametrize("name", STRUCTURE)
def test_factored_model_is_valid_keeps_its_signature_and_runs(slim, tmp_path, name):
    src, out = os.path.join(TESTDATA, name), tmp_path / "low_rank.onnx"
    line = pass_line(convert(slim, src, out, "--low-rank", "0.5", "--round-to", "1"), "low-rank")
    onnx.checker.check_model(str(out), full_check=True)
    a, b = onnx.load(src, load_external_data=False), onnx.load(str(out), load_external_data=False)
    assert signature(a) == signature(b)
    if "rank" in line:
        sa, sb = ort_session(src), ort_session(str(out))
        feed = random_feed(sa, a, seed=1)
        for x, y in zip(sa.run(None, feed), sb.run(None, feed)):
            assert x.shape == y.shape and x.dtype == y.dtype and np.isfinite(y).all()


def test_some_structure_models_are_factored(slim, tmp_path):
    """The transformer exports have layers worth factoring (a check on the test above, which
    accepts a model left as it was)."""
    for name in ["pruning/bert_torchscript.onnx", "pruning/bert_dynamo.onnx", "pruning/llama_gqa.onnx", "pruning/attention_fused.onnx"]:
        line = pass_line(convert(slim, os.path.join(TESTDATA, name), tmp_path / "x.onnx", "--low-rank", "0.5", "--round-to", "1"),
                         "low-rank")
        assert "layers factored" in line, (name, line)


def test_keeping_everything_changes_nothing(slim, tmp_path):
    """--low-rank 1.0 keeps every layer dense: the outputs are the input model's, exactly."""
    src, out = os.path.join(TESTDATA, "pruning", "bert_torchscript.onnx"), tmp_path / "same.onnx"
    line = pass_line(convert(slim, src, out, "--low-rank", "1.0"), "low-rank")
    assert "stays dense" in line, line
    sa, sb = ort_session(src), ort_session(str(out))
    feed = random_feed(sa, onnx.load(src), seed=2)
    for x, y in zip(sa.run(None, feed), sb.run(None, feed)):
        assert np.array_equal(x, y)


def one_layer(kind: str, w: np.ndarray, constant: bool = False) -> onnx.ModelProto:
    """x [batch, 64] → MatMul(x, W) or Gemm(x, Wᵀ, b, transB=1) → Relu → y, or x [batch, 64, 5, 5]
    → pointwise Conv(x, Wᵀ, b, strides 2, pads 1) → Relu; W as an initializer or a Constant node."""
    m, n = w.shape
    weight = w.T.copy() if kind == "Gemm" else w.T.copy().reshape(n, m, 1, 1) if kind == "Conv" else w
    tensor = numpy_helper.from_array(weight, "w")
    nodes, inits = [], []
    if constant:
        nodes.append(helper.make_node("Constant", [], ["w"], value=tensor))
    else:
        inits.append(tensor)
    if kind in ("Gemm", "Conv"):
        inits.append(numpy_helper.from_array(np.linspace(-1, 1, n).astype(np.float32), "b"))
    if kind == "Gemm":
        nodes.append(helper.make_node("Gemm", ["x", "w", "b"], ["h"], transB=1, name="layer"))
    elif kind == "Conv":
        nodes.append(helper.make_node("Conv", ["x", "w", "b"], ["h"], strides=[2, 2], pads=[1, 1, 1, 1], name="layer"))
    else:
        nodes.append(helper.make_node("MatMul", ["x", "w"], ["h"], name="layer"))
    # (A layer computing the graph output itself is a head, left dense.)
    nodes.append(helper.make_node("Relu", ["h"], ["y"]))
    spatial = [5, 5] if kind == "Conv" else []
    out_spatial = [4, 4] if kind == "Conv" else []
    g = helper.make_graph(nodes, "one", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", m] + spatial)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", n] + out_spatial)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def anisotropic(rows: int, width: int, seed: int) -> np.ndarray:
    """Samples with per-direction scales 1 to 1e-3 in one fixed random basis."""
    q, _ = np.linalg.qr(np.random.default_rng(99).standard_normal((width, width)))
    z = np.random.default_rng(seed).standard_normal((rows, width)) * np.logspace(0, -3, width)
    return (z @ q).astype(np.float32)


def factored_weight(path: str, kind: str) -> tuple[np.ndarray, int]:
    """A·B of the factored layer (as in×out), and the rank."""
    m = onnx.load(path)
    weights = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    for node in m.graph.node:
        if node.op_type == "Constant":
            weights[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    first = next(n for n in m.graph.node if n.op_type in ("MatMul", "Conv") and n.input[0] == "x" and n.name != "layer")
    layer = next(n for n in m.graph.node if n.name == "layer")
    a, b = weights[first.input[1]], weights[layer.input[1]]
    if kind == "Conv":
        a, b = a.reshape(a.shape[:2]).T, b.reshape(b.shape[:2])
    if kind in ("Gemm", "Conv"):
        b = b.T
    return a.astype(np.float64) @ b.astype(np.float64), a.shape[1]


def as_input(rows: np.ndarray, kind: str) -> np.ndarray:
    """Rows of features as the layer's input: [n, 64], or for the Conv [n/25, 64, 5, 5] (each
    pixel one row)."""
    if kind != "Conv":
        return rows
    return rows.reshape(-1, 5, 5, 64).transpose(0, 3, 1, 2).copy()


@pytest.mark.parametrize("kind,constant", [("MatMul", False), ("Gemm", False), ("MatMul", True), ("Conv", False)])
def test_factors_are_numpys_whitened_truncated_svd(slim, tmp_path, kind, constant):
    """On inputs with scales from 1 to 1e-3: the factored weight is numpy's truncation of
    SVD(LᵀW) mapped back by L⁻ᵀ (G + 0.01·mean(diag G)·I = L Lᵀ, G the calibration second
    moment over every row: token or pixel); with --low-rank-data none, the truncation of
    SVD(W). The factored graph computes the layer with that weight (the Conv's strides and
    pads included), and whitening has the smaller output error on held-out inputs."""
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((64, 48)) / 8).astype(np.float32)
    src = tmp_path / "one.onnx"
    onnx.save(one_layer(kind, w, constant), str(src))
    x = anisotropic(800, 64, seed=1)
    calibration = tmp_path / "calibration"
    for i in range(8):
        (calibration / str(i)).mkdir(parents=True)
        np.save(calibration / str(i) / "x.npy", as_input(x[i * 100:(i + 1) * 100], kind))
    results = {}
    for data in ["activations", "none"]:
        out = tmp_path / f"{data}.onnx"
        line = pass_line(convert(slim, src, out, "--low-rank", "0.5", "--round-to", "1", "--low-rank-data", data,
                                 "--calibration", calibration), "low-rank")
        assert "1 of 1 layers factored" in line, line
        onnx.checker.check_model(str(out), full_check=True)
        got, r = factored_weight(str(out), kind)
        assert r <= 0.5 * 64 * 48 / (64 + 48)
        w64 = w.astype(np.float64)
        if data == "activations":
            g = x.astype(np.float64).T @ x.astype(np.float64) / len(x)
            g += 0.01 * np.mean(np.diag(g)) * np.eye(64)
            l = np.linalg.cholesky(g)
            u, s, vt = np.linalg.svd(l.T @ w64, full_matrices=False)
            want = np.linalg.solve(l.T, u[:, :r] * s[:r]) @ vt[:r]
        else:
            u, s, vt = np.linalg.svd(w64, full_matrices=False)
            want = (u[:, :r] * s[:r]) @ vt[:r]
        assert np.linalg.norm(got - want) / np.linalg.norm(w64) < 1e-5, data
        results[data] = out
        # The rewritten graph is the layer with weight A·B.
        dense = tmp_path / f"{data}_dense.onnx"
        onnx.save(one_layer(kind, got.astype(np.float32), constant), str(dense))
        probe = {"x": as_input(anisotropic(400, 64, seed=3), kind)}
        np.testing.assert_allclose(ort_session(str(out)).run(None, probe)[0], ort_session(str(dense)).run(None, probe)[0],
                                   rtol=1e-4, atol=1e-5)
    held_out = as_input(anisotropic(400, 64, seed=2), kind)
    want = ort_session(str(src)).run(None, {"x": held_out})[0]
    errors = {d: np.linalg.norm(ort_session(str(p)).run(None, {"x": held_out})[0] - want) for d, p in results.items()}
    assert errors["activations"] < 0.5 * errors["none"], errors


def test_float16_layers_are_factored_into_float16_factors(slim, tmp_path):
    """A float16 model: the factors are float16 (written where W was), whitened by the float16
    activations' covariance: A·B is numpy's whitened truncation to float16 rounding, and the
    model runs in onnxruntime."""
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((64, 48)) / 8).astype(np.float16)
    model = one_layer("MatMul", w)
    for v in list(model.graph.input) + list(model.graph.output):
        v.type.tensor_type.elem_type = TensorProto.FLOAT16
    src, out = tmp_path / "half.onnx", tmp_path / "factored.onnx"
    onnx.save(model, str(src))
    x = anisotropic(800, 64, seed=1).astype(np.float16)
    calibration = tmp_path / "calibration"
    for i in range(8):
        (calibration / str(i)).mkdir(parents=True)
        np.save(calibration / str(i) / "x.npy", x[i * 100:(i + 1) * 100])
    line = pass_line(convert(slim, src, out, "--low-rank", "0.5", "--round-to", "1", "--calibration", calibration), "low-rank")
    assert "1 of 1 layers factored" in line and "not measured" not in line, line
    onnx.checker.check_model(str(out), full_check=True)
    factored = onnx.load(str(out))
    assert all(t.data_type == TensorProto.FLOAT16 for t in factored.graph.initializer), [t.name for t in factored.graph.initializer]
    got, r = factored_weight(str(out), "MatMul")
    want = whitened_truncation(w, x, r)
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 3e-3
    probe = {"x": anisotropic(50, 64, seed=3).astype(np.float16)}
    y = ort_session(str(out)).run(None, probe)[0]
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.astype(np.float32), np.maximum(probe["x"].astype(np.float64) @ got, 0), rtol=1e-2, atol=2e-3)


def branches_and_loop(w_then: np.ndarray, w_else: np.ndarray, w_body: np.ndarray) -> onnx.ModelProto:
    """x [batch, 64], flag → If(flag): Relu(x·W_then) (W_then an initializer of the branch) else
    Relu(x·W_else) (a Constant node of the branch) → Loop ×3: acc ← Tanh(acc·W_body) (W_body an
    initializer of the main graph, read only in the body) → y."""
    f = TensorProto.FLOAT
    then_g = helper.make_graph([helper.make_node("MatMul", ["x", "w_then"], ["then_mm"], name="then_layer"),
                                helper.make_node("Relu", ["then_mm"], ["then_out"])], "then_branch", [],
                               [helper.make_tensor_value_info("then_out", f, ["batch", 64])],
                               [numpy_helper.from_array(w_then, "w_then")])
    else_g = helper.make_graph([helper.make_node("Constant", [], ["w_else"], value=numpy_helper.from_array(w_else, "w_else")),
                                helper.make_node("MatMul", ["x", "w_else"], ["else_mm"], name="else_layer"),
                                helper.make_node("Relu", ["else_mm"], ["else_out"])], "else_branch", [],
                               [helper.make_tensor_value_info("else_out", f, ["batch", 64])])
    body = helper.make_graph([helper.make_node("MatMul", ["acc_in", "w_body"], ["body_mm"], name="body_layer"),
                              helper.make_node("Tanh", ["body_mm"], ["acc_out"]),
                              helper.make_node("Identity", ["cond_in"], ["cond_out"])], "body",
                             [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                              helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                              helper.make_tensor_value_info("acc_in", f, ["batch", 64])],
                             [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
                              helper.make_tensor_value_info("acc_out", f, ["batch", 64])])
    nodes = [helper.make_node("If", ["flag"], ["branch"], then_branch=then_g, else_branch=else_g, name="choose"),
             helper.make_node("Loop", ["trips", "", "branch"], ["y"], body=body, name="repeat")]
    g = helper.make_graph(nodes, "branches_and_loop",
                          [helper.make_tensor_value_info("x", f, ["batch", 64]), helper.make_tensor_value_info("flag", TensorProto.BOOL, [])],
                          [helper.make_tensor_value_info("y", f, ["batch", 64])],
                          [numpy_helper.from_array(w_body, "w_body"), numpy_helper.from_array(np.array(3, np.int64), "trips")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def whitened_truncation(w: np.ndarray, rows: np.ndarray, r: int) -> np.ndarray:
    """numpy's rank-r whitened truncated SVD of W for inputs `rows` (damping 1% of the mean diagonal)."""
    x = rows.astype(np.float64)
    g = x.T @ x / len(x)
    l = np.linalg.cholesky(g + 0.01 * np.mean(np.diag(g)) * np.eye(len(g)))
    u, s, vt = np.linalg.svd(l.T @ w.astype(np.float64), full_matrices=False)
    return np.linalg.solve(l.T, u[:, :r] * s[:r]) @ vt[:r]


def test_layers_in_if_branches_and_loop_bodies_are_factored_on_their_own_inputs(slim, tmp_path):
    """Dense layers inside subgraphs: each If branch's layer is whitened by the covariance of the
    samples that took that branch, the Loop body's by its input over every iteration; the
    weights stay where they were defined (branch initializer, Constant node, main-graph
    initializer). The model matches the same graph with each weight replaced by A·B, the
    report and `diff` name the layers with their subgraphs."""
    rng = np.random.default_rng(5)
    w_then, w_else, w_body = ((rng.standard_normal((64, 64)) / 8).astype(np.float32) for _ in range(3))
    src = tmp_path / "control.onnx"
    onnx.save(branches_and_loop(w_then, w_else, w_body), str(src))
    x = anisotropic(800, 64, seed=1)
    flags = [True] * 5 + [False] * 3
    calibration = tmp_path / "calibration"
    for i, flag in enumerate(flags):
        (calibration / str(i)).mkdir(parents=True)
        np.save(calibration / str(i) / "x.npy", x[i * 100:(i + 1) * 100])
        np.save(calibration / str(i) / "flag.npy", np.array(flag))
    out = tmp_path / "factored.onnx"
    report = convert(slim, src, out, "--low-rank", "0.5", "--round-to", "1", "--calibration", calibration)
    lines = pass_line(report, "low-rank").splitlines()
    assert "3 of 3 layers factored" in lines[0] and "not measured" not in lines[0], lines
    assert any(l.strip().startswith("[choose.then_branch] then_layer:") for l in lines), lines
    onnx.checker.check_model(str(out), full_check=True)

    m = onnx.load(str(out))
    graphs = {a.g.name: a.g for n in m.graph.node for a in n.attribute if a.type == onnx.AttributeProto.GRAPH}
    main_weights = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}

    def factored(graph, layer):
        weights = dict(main_weights)
        weights.update({t.name: numpy_helper.to_array(t) for t in graph.initializer})
        weights.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in graph.node if n.op_type == "Constant"})
        last = next(n for n in graph.node if n.name == layer)
        first = next(n for n in graph.node if n.output[0] == last.input[0])
        a, b = weights[first.input[1]].astype(np.float64), weights[last.input[1]].astype(np.float64)
        return a @ b, a.shape[1]

    taken = np.concatenate([x[i * 100:(i + 1) * 100] for i, f in enumerate(flags) if f])
    other = np.concatenate([x[i * 100:(i + 1) * 100] for i, f in enumerate(flags) if not f])
    relu = lambda v: np.maximum(v, 0)
    acc = np.concatenate([relu(taken @ w_then), relu(other @ w_else)])
    body_rows = []
    for _ in range(3):
        body_rows.append(acc)
        acc = np.tanh(acc @ w_body).astype(np.float32)
    got = {}
    for graph, layer, w, rows in [("then_branch", "then_layer", w_then, taken), ("else_branch", "else_layer", w_else, other),
                                  ("body", "body_layer", w_body, np.concatenate(body_rows))]:
        got[layer], r = factored(graphs[graph], layer)
        assert 0 < r < 32, (layer, r)
        want = whitened_truncation(w, rows, r)
        assert np.linalg.norm(got[layer] - want) / np.linalg.norm(w) < 1e-4, layer

    # The rewritten model is the original graph with each weight A·B, on both branches.
    dense = tmp_path / "dense.onnx"
    onnx.save(branches_and_loop(*(got[k].astype(np.float32) for k in ["then_layer", "else_layer", "body_layer"])), str(dense))
    sa, sb = ort_session(str(out)), ort_session(str(dense))
    for flag in [True, False]:
        feed = {"x": anisotropic(50, 64, seed=7), "flag": np.array(flag)}
        np.testing.assert_allclose(sa.run(None, feed)[0], sb.run(None, feed)[0], rtol=1e-4, atol=1e-5)

    d = slim("diff", src, out, "--json")
    assert d.returncode == 0, describe_run(d)
    low_rank = sorted((c["graph"], c["a"][0]) for c in json.loads(d.stdout)["changes"] if c["kind"] == "low_rank")
    assert low_rank == [("choose.else_branch", "w_else"), ("choose.then_branch", "w_then"), ("repeat.body", "w_body")], low_rank


def test_energy_mode_and_the_report(slim, tmp_path):
    """--low-rank-energy 0.9: each factored layer keeps at least 90% of its output energy, as its
    report line says; `diff` names each factorization with the rank the report gives."""
    src, out = os.path.join(TESTDATA, "pruning", "bert_torchscript.onnx"), tmp_path / "energy.onnx"
    report = convert(slim, src, out, "--low-rank-energy", "0.9", "--round-to", "1")
    lines = [l.strip() for l in pass_line(report, "low-rank").splitlines()[1:]]
    assert lines, report["passes"]
    ranks = {}
    for l in lines:
        layer, rest = l.split(": ", 1)
        assert float(rest.rsplit(" ", 1)[1]) >= 0.9, l
        ranks[layer] = int(rest.split("rank ")[1].split(",")[0])
    d = slim("diff", src, out, "--json")
    assert d.returncode == 0, describe_run(d)
    changes = json.loads(d.stdout)["changes"]
    low_rank = [c for c in changes if c["kind"] == "low_rank"]
    assert sorted(c["rank"] for c in low_rank) == sorted(ranks.values()), (low_rank, ranks)
    assert all(c["kind"] == "low_rank" for c in changes), [c["kind"] for c in changes]


def test_verify_reports_the_change(slim, tmp_path):
    src, out = os.path.join(TESTDATA, "pruning", "ffn_torchscript.onnx"), tmp_path / "v.onnx"
    report = convert(slim, src, out, "--low-rank", "0.5", "--round-to", "1", "--verify", "2")
    v = report["verification"]
    assert v["samples"] == 2 and 0 < v["outputs"][0]["cosine"] < 1, v


@pytest.mark.parametrize("args", [["--low-rank", "1.5"], ["--low-rank", "0"], ["--low-rank-energy", "2"],
                                  ["--low-rank", "0.5", "--low-rank-energy", "0.9"], ["--low-rank", "0.5", "--low-rank-exclude", "("],
                                  ["--low-rank", "0.5", "--low-rank-ops", "Relu"]])
def test_bad_options_are_refused(slim, tmp_path, args):
    out = tmp_path / "x.onnx"
    p = slim("convert", os.path.join(TESTDATA, "pruning", "ffn_torchscript.onnx"), out, *args)
    assert p.returncode != 0 and not out.exists(), describe_run(p)
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_order_of_the_options_is_the_order_of_the_passes(slim, tmp_path):
    src = os.path.join(TESTDATA, "pruning", "bert_torchscript.onnx")
    first = convert(slim, src, tmp_path / "a.onnx", "--prune-ffn", "0.25", "--low-rank", "0.75")["passes"]
    second = convert(slim, src, tmp_path / "b.onnx", "--low-rank", "0.75", "--prune-ffn", "0.25")["passes"]
    names = lambda passes: [l.split(":")[0] for l in passes if l.split(":")[0] in ("prune", "low-rank")]
    assert names(first) == ["prune", "low-rank"] and names(second) == ["low-rank", "prune"], (first, second)


# ------------------------------------------------------------------------------ trained models

def test_minilm_whitened_keeps_the_task_where_plain_svd_does_not(slim, tmp_path, minilm, summary_lines):
    """paraphrase-MiniLM-L3-v2 at 75% of its factorable layers' parameters, calibrated on 32
    lee_background sentences. Measured (Xeon, onnxruntime 1.31.1): whitened emb cos 0.944, Lee
    0.607 (float 0.633); plain SVD cos 0.835, Lee 0.572; 2.9 s."""
    path, calibration = minilm
    metrics = {}
    for label, extra in [("whitened", []), ("plain", ["--low-rank-data", "none"])]:
        out = tmp_path / f"{label}.onnx"
        t = time.time()
        report = convert(slim, path, out, "--low-rank", "0.75", "--calibration", calibration, *extra)
        seconds = time.time() - t
        onnx.checker.check_model(str(out), full_check=True)
        metrics[label] = m = tm.minilm_metrics(str(out), path)
        summary_lines.append(f"low-rank minilm 75% {label}: emb cos mean {m['emb_cos_mean']:.4f} min {m['emb_cos_min']:.4f}, "
                             f"Lee r {m['lee_pearson']:.4f} (float {m['lee_pearson_float']:.4f}), "
                             f"{os.path.getsize(out) / 1e6:.1f} MB, {seconds:.1f} s; {pass_line(report, 'low-rank').splitlines()[0]}")
    assert metrics["whitened"]["emb_cos_mean"] >= 0.92
    assert metrics["whitened"]["emb_cos_mean"] >= metrics["plain"]["emb_cos_mean"] + 0.05
    assert abs(metrics["whitened"]["lee_pearson"] - metrics["whitened"]["lee_pearson_float"]) <= 0.05


def test_minilm_low_rank_with_int8_and_with_pruning(slim, tmp_path, minilm, summary_lines):
    """One command each: low-rank then int8 (both factors quantized), and FFN pruning then
    low-rank. Valid, runs, metrics reported."""
    path, calibration = minilm
    for label, args in [("low-rank 75% + int8", ["--low-rank", "0.75", "--quantize", "int8"]),
                        ("prune FFN 25% + low-rank 75%", ["--prune-ffn", "0.25", "--low-rank", "0.75"])]:
        out = tmp_path / "combined.onnx"
        report = convert(slim, path, out, *args, "--calibration", calibration)
        onnx.checker.check_model(str(out), full_check=True)
        m = tm.minilm_metrics(str(out), path)
        summary_lines.append(f"low-rank minilm {label}: emb cos mean {m['emb_cos_mean']:.4f}, Lee r {m['lee_pearson']:.4f}, "
                             f"{os.path.getsize(out) / 1e6:.1f} MB")
        assert m["emb_cos_mean"] >= 0.85, (label, m)
        if "int8" in label:
            factored = int(pass_line(report, "low-rank").split(" of ")[0].split()[-1])
            a_factors = [t for t in onnx.load(str(out)).graph.initializer
                         if "_low_rank_a" in t.name and t.data_type == TensorProto.INT8]
            assert len(a_factors) == factored, "every first factor is quantized too"


def test_efficientnet_pointwise_convs_whitened_against_plain(slim, tmp_path, summary_lines):
    """EfficientNet-Lite0 at 75% of its pointwise convs' parameters, calibrated on the mirrored
    photos (covariance over channels, every pixel a sample). Measured: top-1 agreement 0.727
    whitened, 0.000 plain SVD."""
    path = tm.trained_models.ensure("efficientnet_lite0")["model"]
    calibration = tm.write_image_calibration("efficientnet_lite0", str(tmp_path / "calibration"))
    metrics = {}
    for label, extra in [("whitened", []), ("plain", ["--low-rank-data", "none"])]:
        out = tmp_path / f"{label}.onnx"
        report = convert(slim, path, out, "--low-rank", "0.75", "--calibration", calibration, *extra)
        onnx.checker.check_model(str(out), full_check=True)
        metrics[label] = m = tm.efficientnet_metrics(str(out), path)
        summary_lines.append(f"low-rank efficientnet_lite0 75% {label}: top-1 agreement {m['top1_agree']:.3f}, top-5 overlap "
                             f"{m['top5_overlap']:.3f} ({os.path.getsize(path) / 1e6:.1f} → {os.path.getsize(out) / 1e6:.1f} MB); "
                             f"{pass_line(report, 'low-rank').splitlines()[0][:80]}")
    assert metrics["whitened"]["top1_agree"] >= 0.6
    assert metrics["whitened"]["top1_agree"] >= metrics["plain"]["top1_agree"] + 0.3
