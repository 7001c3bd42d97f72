"""Bad inputs and usage errors.

Every bad input must make `onnx-slim IN OUT` exit with 2 and exactly one line
on stderr, starting with "onnx-slim: " and naming the input file; it must not
leave OUT (or OUT.data, or a `.NAME.tmp-*` file) behind and must not change the
input. Bad models are built with onnx.helper and written with
SerializeToString(), bypassing onnx's own checks.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from slim_helpers import TESTDATA

VALID = os.path.join(TESTDATA, "tiny_mlp.onnx")


# --------------------------------------------------------------------------
# building bad inputs; each builder gets the input folder and returns the path
# --------------------------------------------------------------------------

def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _model(nodes, initializers=(), inputs=None, outputs=None) -> onnx.ModelProto:
    """A small opset-13 model: x float[4] -> nodes -> y float[4]."""
    inputs = inputs if inputs is not None else [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])]
    outputs = outputs if outputs is not None else [
        helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])]
    graph = helper.make_graph(nodes, "bad", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def _save(path: Path, model: onnx.ModelProto) -> Path:
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def _external_weight(location: str) -> onnx.ModelProto:
    """y = x + w where w float[4] is declared external at `location`."""
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4])
    w.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", "0"), ("length", "16")):
        e = w.external_data.add()
        e.key, e.value = k, v
    return _model([helper.make_node("Add", ["x", "w"], ["y"])], [w])


WEIGHTS = np.arange(4, dtype=np.float32).tobytes()


def truncated_protobuf(d: Path) -> Path:
    data = Path(VALID).read_bytes()
    return _write(d / "truncated.onnx", data[: len(data) // 2])


def random_bytes(d: Path) -> Path:
    data = np.random.default_rng(42).bytes(4096)
    with pytest.raises(Exception):  # make sure it really is not a ModelProto
        onnx.ModelProto().ParseFromString(data)
    return _write(d / "random.onnx", data)


def ff_bytes(d: Path) -> Path:
    return _write(d / "ff.onnx", b"\xff" * 1024)


def empty_file(d: Path) -> Path:
    return _write(d / "empty.onnx", b"")


def _zstd(src: Path, dst: Path):
    subprocess.run(["zstd", "-q", "-f", str(src), "-o", str(dst)], check=True)


def zstd_of_text(d: Path) -> Path:
    text = d.parent / "notes.txt"
    text.write_text("This is a plain text file, not an ONNX model.\n" * 50)
    _zstd(text, d / "text.onnx.zst")
    text.unlink()
    return d / "text.onnx.zst"


def truncated_zstd(d: Path) -> Path:
    full = d.parent / "full.onnx.zst"
    _zstd(Path(VALID), full)
    data = full.read_bytes()
    full.unlink()
    return _write(d / "truncated.onnx.zst", data[: len(data) // 2])


def dims_overflow(d: Path) -> Path:
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2**62, 4], raw_data=b"")
    return _save(d / "overflow.onnx",
                 _model([helper.make_node("Add", ["x", "w"], ["y"])], [w]))


def raw_data_size_mismatch(d: Path) -> Path:
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4], raw_data=b"\0" * 12)
    return _save(d / "rawsize.onnx",
                 _model([helper.make_node("Add", ["x", "w"], ["y"])], [w]))


def dangling_node_input(d: Path) -> Path:
    return _save(d / "dangling.onnx",
                 _model([helper.make_node("Add", ["x", "ghost"], ["y"])]))


def two_node_cycle(d: Path) -> Path:
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="A"),
             helper.make_node("Relu", ["a"], ["b"], name="B"),
             helper.make_node("Identity", ["b"], ["y"], name="C")]
    return _save(d / "cycle.onnx", _model(nodes))


def external_parent_dir(d: Path) -> Path:
    (d.parent / "outside.bin").write_bytes(WEIGHTS)  # exists: only the escape is wrong
    return _save(d / "escape.onnx", _external_weight("../outside.bin"))


def external_absolute(d: Path) -> Path:
    return _save(d / "absolute.onnx", _external_weight("/etc/passwd"))


def external_symlink_outside(d: Path) -> Path:
    secret = d.parent / "secret"
    secret.mkdir()
    (secret / "secret.bin").write_bytes(WEIGHTS)
    (d / "link.bin").symlink_to(secret / "secret.bin")
    return _save(d / "symlinked.onnx", _external_weight("link.bin"))


def external_missing(d: Path) -> Path:
    return _save(d / "missing.onnx", _external_weight("missing.bin"))


BAD_INPUTS = [truncated_protobuf, random_bytes, ff_bytes, empty_file, zstd_of_text,
              truncated_zstd, dims_overflow, raw_data_size_mismatch, dangling_node_input,
              two_node_cycle, external_parent_dir, external_absolute,
              external_symlink_outside, external_missing]


def _snapshot(folder: Path) -> dict:
    """Bytes of every regular file under `folder` (symlinks recorded by target)."""
    snap = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            snap[str(p)] = ("link", os.readlink(p))
        elif p.is_file():
            snap[str(p)] = p.read_bytes()
    return snap


def _assert_one_line_error(proc, name: str):
    lines = proc.stderr.rstrip("\n").split("\n")
    assert proc.stderr.strip(), "stderr is empty"
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{proc.stderr}"
    assert lines[0].startswith("onnx-slim: "), lines[0]
    assert name in lines[0], f"stderr does not name {name!r}: {lines[0]}"


@pytest.mark.parametrize("out_name", ["out.onnx", "out.onnx.zst"])
@pytest.mark.parametrize("build", BAD_INPUTS, ids=lambda f: f.__name__)
def test_bad_input_rejected_cleanly(build, out_name, slim, tmp_path):
    """The bad input exits 2 with one 'onnx-slim: ' stderr line naming the
    input; the output folder stays empty (no OUT, OUT.data or temp file) and
    every input-side file keeps its bytes."""
    in_dir, out_dir = tmp_path / "in", tmp_path / "out"
    in_dir.mkdir()
    out_dir.mkdir()
    src = build(in_dir)
    before = _snapshot(tmp_path)
    proc = slim(src, out_dir / out_name)

    assert proc.returncode == 2, f"exit {proc.returncode}, stderr: {proc.stderr!r}"
    _assert_one_line_error(proc, src.name)
    assert sorted(os.listdir(out_dir)) == [], "output folder not empty after failure"
    assert _snapshot(tmp_path) == before, "input-side files changed"


# --------------------------------------------------------------------------
# usage errors
# --------------------------------------------------------------------------

def test_nonexistent_input(slim, tmp_path):
    """A missing input file exits 2 with one stderr line naming it and
    creates no output."""
    proc = slim(tmp_path / "nope.onnx", tmp_path / "out.onnx")
    assert proc.returncode == 2, proc.stderr
    _assert_one_line_error(proc, "nope.onnx")
    assert os.listdir(tmp_path) == []


def test_output_equal_to_input(slim, tmp_path):
    """OUT == IN is a usage error (exit 1); the input keeps its bytes and no
    temp file is left next to it."""
    src = tmp_path / "model.onnx"
    src.write_bytes(Path(VALID).read_bytes())
    before = src.read_bytes()
    proc = slim(src, src)
    assert proc.returncode == 1, f"exit {proc.returncode}, stderr: {proc.stderr!r}"
    assert src.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.onnx"]


def test_output_same_file_other_spelling(slim, tmp_path):
    """OUT naming the input through another path spelling (sub/../model.onnx)
    is refused too (non-zero exit) and leaves the input untouched."""
    src = tmp_path / "model.onnx"
    src.write_bytes(Path(VALID).read_bytes())
    (tmp_path / "sub").mkdir()
    before = src.read_bytes()
    proc = slim(src, f"{tmp_path}/sub/../model.onnx")
    assert proc.returncode != 0, "writing over the input through another spelling succeeded"
    assert src.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.onnx", "sub"]


def test_unknown_flag(slim, tmp_path):
    """An unknown flag is a usage error (exit 1) and writes nothing."""
    proc = slim(VALID, tmp_path / "out.onnx", "--no-such-flag")
    assert proc.returncode == 1, f"exit {proc.returncode}, stderr: {proc.stderr!r}"
    assert os.listdir(tmp_path) == []


def test_help(slim, tmp_path):
    """`--help` exits 0 and prints usage on stdout."""
    proc = slim("--help")
    assert proc.returncode == 0, proc.stderr
    assert "USAGE" in proc.stdout.upper()


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), 1e30, 0.0, -2.0])
def test_absurd_resize_scales_never_crash(slim, tmp_path, scale):
    """Shape inference used to trap (SIGILL) turning a NaN or 1e30 Resize scale into a dim:
    info and convert must finish, or fail with one line, whatever the scale."""
    from onnx import numpy_helper
    scales = numpy_helper.from_array(np.array([1, 1, scale, 2], np.float32).reshape(1, 1, 4), "scales")
    roi = numpy_helper.from_array(np.array([], np.float32), "roi")
    model = _model([helper.make_node("Resize", ["x", "roi", "scales"], ["y"], name="r")], [scales, roi],
                   inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                   outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    src = _save(tmp_path / "resize.onnx", model)
    for args in (["info", src], ["info", src, "--layers"], [src, tmp_path / "out.onnx", "--quantize", "fp16"]):
        proc = slim(*args)
        assert proc.returncode in (0, 1, 2), f"{args[0]}: exit {proc.returncode}, stderr {proc.stderr!r}"
        if proc.returncode != 0:
            _assert_one_line_error(proc, "resize.onnx")


def test_concat_of_scalars_never_crashes(slim, tmp_path):
    """A Concat fed a scalar (a mutated Unsqueeze in a shape computation) used to trap in shape
    inference: every command must finish or fail with one line."""
    from onnx import numpy_helper
    one = numpy_helper.from_array(np.array(1, np.int64), "one")
    model = _model([helper.make_node("Shape", ["x"], ["s"], name="shape"),
                    helper.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
                    helper.make_node("Concat", ["n", "one"], ["dims"], name="concat", axis=0),
                    helper.make_node("Reshape", ["x", "dims"], ["y"], name="reshape")],
                   [one, numpy_helper.from_array(np.array(0, np.int64), "zero")],
                   outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    src = _save(tmp_path / "concat.onnx", model)
    for args in (["info", src], ["run", src], [src, tmp_path / "out.onnx", "--quantize", "int8"]):
        proc = slim(*args)
        assert proc.returncode in (0, 1, 2), f"{args[0]}: exit {proc.returncode}, stderr {proc.stderr!r}"
        if proc.returncode != 0:
            _assert_one_line_error(proc, "concat.onnx")
