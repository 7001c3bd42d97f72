"""`--verify`: the convert command runs the original and the result on the same inputs.

Its cosine and max error must match what onnxruntime measures on those inputs (cosine within
1e-3); a breached --min-cosine / --max-error exits 3 and writes nothing.
"""

from __future__ import annotations

import json
import os

import numpy as np
import onnx
import pytest

from slim_helpers import TESTDATA, cosine, describe_run, ort_session, random_feed


@pytest.mark.parametrize("model,fmt", [("transformer_block", "int4"), ("cnn_constant_weights", "int8"),
                                       ("tiny_mlp", "int4"), ("fp16_model", "int8")])
def test_verify_agrees_with_onnxruntime(slim, tmp_path, model, fmt):
    src = os.path.join(TESTDATA, f"{model}.onnx")
    session = ort_session(src)
    samples = [random_feed(session, onnx.load(src, load_external_data=False), seed=s) for s in (11, 12)]
    folder = tmp_path / "samples"
    for k, feed in enumerate(samples):
        (folder / f"s{k}").mkdir(parents=True)
        for name, v in feed.items():
            np.save(folder / f"s{k}" / f"{name}.npy", v)
    out = str(tmp_path / "out.onnx")
    proc = slim(src, out, "--quantize", fmt, "--inputs", str(folder), "--report", "json")
    assert proc.returncode == 0, describe_run(proc)
    verification = json.loads(proc.stdout)["verification"]
    assert verification["samples"] == 2
    converted = ort_session(out)
    a = [session.run(None, f) for f in samples]
    b = [converted.run(None, f) for f in samples]
    for k, o in enumerate(verification["outputs"]):
        x = np.concatenate([r[k].ravel() for r in a])
        y = np.concatenate([r[k].ravel() for r in b])
        assert abs(cosine(x, y) - o["cosine"]) <= 1e-3, (o, cosine(x, y))
        err = float(np.max(np.abs(x.astype(np.float64) - y)))
        # float16 outputs may differ from onnxruntime's in their last bit.
        ulp = float(np.max(np.abs(x))) * 2.0 ** -10 if x.dtype == np.float16 else 0.0
        assert abs(err - o["max_abs_error"]) <= 1e-2 * max(err, 1e-3) + ulp, (o, err)


def test_verify_generated_text_report(slim, tmp_path):
    out = tmp_path / "out.onnx"
    proc = slim(os.path.join(TESTDATA, "transformer_block.onnx"), str(out), "--quantize", "int8",
                "--verify", "--dim", "sequence=8")
    assert proc.returncode == 0, describe_run(proc)
    assert "verify: 8 samples, generated (seed 0" in proc.stdout, proc.stdout
    assert "cosine" in proc.stdout and out.exists()


@pytest.mark.parametrize("bound", [["--min-cosine", "0.9999999"], ["--max-error", "0"]])
def test_verify_bound_breached_writes_nothing(slim, tmp_path, bound):
    out = tmp_path / "out.onnx"
    proc = slim(os.path.join(TESTDATA, "transformer_block.onnx"), str(out), "--quantize", "int4",
                "--verify", "2", *bound)
    assert proc.returncode == 3, describe_run(proc)
    assert len(proc.stderr.strip().splitlines()) == 1 and "verification failed" in proc.stderr
    assert not out.exists() and os.listdir(tmp_path) == []


def test_verify_bound_met(slim, tmp_path):
    out = tmp_path / "out.onnx"
    proc = slim(os.path.join(TESTDATA, "tiny_mlp.onnx"), str(out), "--quantize", "int8", "--verify", "3",
                "--min-cosine", "0.99", "--report", "json")
    assert proc.returncode == 0, describe_run(proc)
    v = json.loads(proc.stdout)["verification"]
    assert v["samples"] == 3 and all(o["cosine"] >= 0.99 for o in v["outputs"])
