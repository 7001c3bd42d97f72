"""Dims of 0 or below, in every command. Paddle writes unknown dims as dim_value -1; other tools
write 0 or garbage (-5). For inputs, value_info and outputs declared so, and for weights with
such dims, every command (convert with each form, info, diff, run, --verify) either succeeds
(a written model passes the full checker and runs in onnxruntime when the input does) or exits
1/2 with one stderr line and writes nothing; it never crashes. Weights with negative dims are
bad input for the commands that write or evaluate (exit 2); info and diff read models without
validation on purpose (to describe broken ones), so they may also succeed.

Also: `run` and static int8 with generated calibration work on a Paddle classifier whose input
is declared float32[-1,3,?,?]."""
from __future__ import annotations

import concurrent.futures as cf
import copy
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from slim_helpers import CONVERT_FORMS, TESTDATA, describe_run, ort_session, run_slim

MODELS = ["tiny_mlp.onnx", "crnn_captcha.onnx", "control_flow.onnx", "paddle_classifier.onnx",
          "cnn_constant_weights.onnx"]
VALUES = [-1, -5, 0]
PADDLE = os.path.join(TESTDATA, "paddle_classifier.onnx")
CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_models.py")


def _set_dims(infos, value, first_only):
    for info in infos:
        dims = info.type.tensor_type.shape.dim
        for d in dims[:1] if first_only else dims:
            d.Clear()
            d.dim_value = value


def _variants(name: str):
    """(label, model, weights_bad): the model with dims ≤ 0 in one place."""
    base = onnx.load(os.path.join(TESTDATA, name))
    weights = {t.name for t in base.graph.initializer}
    for v in VALUES:
        for where in ("input", "input_all", "value_info", "output"):
            m = copy.deepcopy(base)
            g = m.graph
            infos = {"input": g.input, "input_all": g.input, "value_info": g.value_info,
                     "output": g.output}[where]
            infos = [i for i in infos if i.name not in weights]
            if not infos:
                continue
            _set_dims(infos, v, first_only=where != "input_all")
            yield f"{where}{v}", m, False
        m = copy.deepcopy(base)
        shaped = [t for t in m.graph.initializer if t.dims] + [
            n.attribute[0].t for n in m.graph.node
            if n.op_type == "Constant" and n.attribute[0].HasField("t") and n.attribute[0].t.dims]
        if not shaped:
            continue
        t = shaped[-1]
        if v == 0:   # an empty weight: a valid tensor, usually a wrong model
            a = numpy_helper.to_array(t)
            t.CopyFrom(numpy_helper.from_array(np.zeros((0,) + a.shape[1:], a.dtype), t.name))
        else:        # a negative dim: the data cannot match
            t.dims[0] = v
        yield f"weight{v}", m, v < 0


def _commands(src: str, out: str):
    yield "convert", [src, out]
    for form, args in CONVERT_FORMS.items():
        yield form, [src, out, *args]
    yield "verify", [src, out, "--verify", "2"]
    yield "info", ["info", src, "--json"]
    yield "diff", ["diff", os.path.join(TESTDATA, os.path.basename(src).split("__")[0]), src]
    yield "run", ["run", src]


def _problems(paths: list[str]) -> dict[str, str | None]:
    """check_models.problem for each path, in a child process; an abort there is the problem
    of the model it was checking."""
    found: dict[str, str | None] = {}
    rest = list(paths)
    while rest:
        proc = subprocess.run([sys.executable, CHECKER, *rest], capture_output=True, text=True,
                              cwd=os.path.dirname(CHECKER), timeout=600)
        for line in proc.stdout.splitlines():
            r = json.loads(line)
            found[r["path"]] = r["problem"]
        rest = [p for p in rest if p not in found]
        if rest:
            found[rest.pop(0)] = f"the checker or onnxruntime aborted (exit {proc.returncode})"
    return found


@pytest.mark.parametrize("name", MODELS)
def test_dims_at_most_zero_in_every_command(name, slim_bin, tmp_path, summary_lines):
    """Each variant × command: exit 0 with a valid output (when the input is valid), or exit
    1/2 with one 'onnx-slim: ' line and no output left; negative weight dims exit 2."""
    jobs, sources = [], []
    for label, model, weights_bad in _variants(name):
        src = str(tmp_path / f"{name}__{label}.onnx")
        with open(src, "wb") as f:
            f.write(model.SerializeToString())
        sources.append(src)
        for command, args in _commands(src, str(tmp_path / f"{label}__{{}}.onnx")):
            jobs.append((label, command, args, weights_bad, src))
    input_problems = _problems(sources)

    def one(job):
        label, command, args, weights_bad, src = job
        args = [a.format(command) if "__{}" in a else a for a in args]
        out = next((a for a in args if a.endswith(f"__{command}.onnx")), None)
        proc = run_slim(slim_bin, *args)
        where = f"{label} {command}"
        lines = proc.stderr.strip().splitlines()
        if weights_bad and command not in ("info", "diff") and proc.returncode != 2:
            return f"{where}: a negative weight dim must be refused as bad input; {describe_run(proc)}"
        if proc.returncode != 0:
            if proc.returncode not in (1, 2) or len(lines) != 1 or not lines[0].startswith("onnx-slim: "):
                return f"{where}: {describe_run(proc)}"
            if out and os.path.exists(out):
                return f"{where}: failed but left {out}"
            return None
        # outputs of inputs that pass the checker and run are checked below
        return ("check", out) if out and input_problems[src] is None else None

    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, jobs))
    problems = [r for r in results if isinstance(r, str)]
    outputs = [r[1] for r in results if isinstance(r, tuple)]
    for out, problem in _problems(outputs).items():
        if problem is not None:
            problems.append(f"{os.path.basename(out)}: output invalid: {problem}")
    refused = sum(1 for r in results if r is None)
    invalid_inputs = sum(1 for p in input_problems.values() if p is not None)
    summary_lines.append(f"dims <= 0 on {name}: {len(jobs)} runs of {len(sources)} variants "
                         f"({invalid_inputs} invalid in onnx), {len(outputs)} outputs checked, "
                         f"{refused} refused or not checked, {len(problems)} problems")
    assert not problems, "\n".join(problems[:30])


def test_paddle_input_runs_on_generated_inputs(slim):
    """`run` generates x for float32[-1,3,?,?] (unknown dims → 1) and gives softmax rows."""
    proc = slim("run", PADDLE, "--json")
    assert proc.returncode == 0, describe_run(proc)
    report = json.loads(proc.stdout)
    out = report["outputs"][0]
    assert out["shape"] == [1, 10]
    assert out["mean"] == pytest.approx(0.1, abs=1e-6)   # one probability row over 10 classes
    assert report["generated_inputs"] == ["x"]


def test_paddle_input_static_int8_with_generated_calibration(slim, tmp_path):
    """Static int8 calibrates on generated inputs of the [-1,3,?,?] input; the result passes the
    full checker, runs on other sizes, and stays within 0.05 of the float probabilities
    (measured 0.021 on 8×8 inputs)."""
    out = str(tmp_path / "paddle_static.onnx")
    proc = slim(PADDLE, out, "--quantize", "int8", "--int8-mode", "static", "--calibration-generated")
    assert proc.returncode == 0, describe_run(proc)
    onnx.checker.check_model(out, full_check=True)
    assert "QuantizeLinear" in {n.op_type for n in onnx.load(out).graph.node}
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    want = ort_session(PADDLE).run(None, {"x": x})[0]
    got = ort_session(out).run(None, {"x": x})[0]
    assert got.shape == (2, 10)
    assert np.abs(got - want).max() <= 0.05
