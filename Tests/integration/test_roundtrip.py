"""Round trips: `onnx-slim IN OUT` (no passes yet) must re-encode faithfully.

For each model: OUT and OUT.zst (decoded by stock `zstd -d`, and read back by
onnx-slim) load as a ModelProto equal to IN; where onnx.checker accepts IN it
accepts OUT; where onnxruntime runs IN, OUT gives bit-identical outputs.

The ONNX conformance corpus (~1000 models) is checked with one test per corpus
folder; the models of a folder are spread over a process pool and every
failure is listed in that test's single assertion message.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import subprocess
import textwrap
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor

import onnx
import pytest
from onnx import numpy_helper

from slim_helpers import (CORPUS, CORPUS_FOLDERS, TESTDATA, RoundTrip, bit_difference,
                          corpus_models, first_difference, iter_tensors, ort_session,
                          random_feed, roundtrip_one, run_slim, sha256, list_testdata_models)


def _summary(label: str, results: list[RoundTrip]) -> str:
    failed = sum(1 for r in results if r.failures)
    nondet = sum(1 for r in results if "ort: IN is nondeterministic" in r.notes)
    return (f"{label}: {len(results)} models, {sum(r.equal for r in results)} equal, "
            f"{sum(r.zst_equal for r in results)} zst-equal, "
            f"{sum(r.checker_checked for r in results)} checker-checked, "
            f"{sum(r.ort_compared for r in results)} ort-compared "
            f"({nondet} skipped as nondeterministic), {failed} failed")


def _failure_report(results: list[RoundTrip]) -> str:
    """Failures grouped by kind (temp paths masked), each with the models hit."""
    groups: dict[str, list[str]] = defaultdict(list)
    for r in results:
        for f in r.failures:
            kind = re.sub(r"/\S*/(rt-[^/\s]+)/", "<tmp>/", f)
            groups[kind].append(r.name)
    lines = []
    for kind, names in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"[{len(names)} models] {kind}")
        lines.append(textwrap.fill(", ".join(names), 100, initial_indent="    ",
                                   subsequent_indent="    "))
    return "\n".join(lines)


def _run_pool(binary: str, models: list[str], work_root: str) -> list[RoundTrip]:
    ctx = multiprocessing.get_context("spawn")
    results = []
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2, mp_context=ctx) as pool:
        futures = [(m, pool.submit(roundtrip_one, binary, m, os.path.basename(os.path.dirname(m)),
                                   True, work_root)) for m in models]
        for model, fut in futures:
            try:
                results.append(fut.result())
            except Exception as e:  # noqa: BLE001 - a crashed worker is a failure of that model
                name = os.path.basename(os.path.dirname(model))
                results.append(RoundTrip(name, failures=[f"worker died: {type(e).__name__}: {e}"]))
    return results


@pytest.mark.parametrize("folder", CORPUS_FOLDERS)
def test_corpus_folder_roundtrip(folder, slim_bin, summary_lines, tmp_path):
    """Every conformance-corpus model of `folder` re-encodes to an equal
    ModelProto (plain, via zstd -d of OUT.zst, and read back from OUT.zst by
    onnx-slim), keeps passing onnx.checker full_check, and gives bit-identical
    onnxruntime outputs on test_data_set_0 wherever ORT can run the original."""
    models = corpus_models(folder)
    if not models:
        pytest.skip(f"no */model.onnx under {CORPUS}/{folder} (not installed locally)")
    results = _run_pool(slim_bin, models, str(tmp_path))
    line = _summary(f"corpus/{folder}", results)
    summary_lines.append(line)
    print(line)
    failed = sum(1 for r in results if r.failures)
    assert failed == 0, (f"{failed} of {len(results)} models in {folder} failed the "
                        f"round trip:\n{_failure_report(results)}")


@pytest.mark.parametrize("model", list_testdata_models(), ids=os.path.basename)
def test_testdata_roundtrip(model, slim_bin, summary_lines, tmp_path):
    """A testdata model re-encodes to an equal ModelProto (plain and through
    .zst; external data loaded on both sides), keeps passing onnx.checker, and
    gives bit-identical onnxruntime outputs on random inputs."""
    r = roundtrip_one(slim_bin, model, os.path.basename(model), corpus=False,
                      work_root=str(tmp_path))
    line = _summary(f"testdata/{os.path.basename(model)}", [r])
    summary_lines.append(line)
    assert len(r.failures) == 0, _failure_report([r])
    assert r.checker_checked and r.ort_compared, f"testdata model not fully checked: {r.notes}"


# --------------------------------------------------------------------------
# external data
# --------------------------------------------------------------------------

def _normalized(model: onnx.ModelProto) -> onnx.ModelProto:
    """Copy of a model loaded *with* external data, with the explicit
    data_location=DEFAULT that onnx.load leaves behind cleared, so that it
    compares equal to a model that never had external data."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for t in iter_tensors(m):
        if t.HasField("data_location") and t.data_location == onnx.TensorProto.DEFAULT:
            t.ClearField("data_location")
    return m


def _external_info(t: onnx.TensorProto) -> dict:
    return {e.key: e.value for e in t.external_data}


def _assert_same_outputs(reference_path: str, path: str):
    ref_model = onnx.load(reference_path)
    sess = ort_session(reference_path)
    feed = random_feed(sess, ref_model)
    want = sess.run(None, feed)
    got = ort_session(path).run(None, feed)
    diff = bit_difference(want, got)
    assert diff is None, f"onnxruntime outputs differ from {os.path.basename(reference_path)}: {diff}"


@pytest.mark.parametrize("out_name", ["tb.onnx", "tb.onnx.zst"])
def test_external_data_flag_on_transformer(out_name, slim_bin, tmp_path):
    """`--external-data` writes OUT plus OUT.data (for OUT.zst: the frame plus
    tb.onnx.data, and `zstd -d` gives tb.onnx next to it): exactly the tensors
    of >= 1 KiB move to OUT.data (in bounds, relative location), the model
    loads back equal to IN, passes check_model(path, full_check=True) and runs
    in onnxruntime with bit-identical outputs."""
    src = os.path.join(TESTDATA, "transformer_block.onnx")
    p = run_slim(slim_bin, src, tmp_path / out_name, "--external-data")
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(tmp_path)) == sorted([out_name, "tb.onnx.data"])
    out, data = tmp_path / "tb.onnx", tmp_path / "tb.onnx.data"
    if out_name.endswith(".zst"):
        subprocess.run(["zstd", "-d", "-q", str(tmp_path / out_name), "-o", str(out)], check=True)
    data_size = data.stat().st_size

    ref = onnx.load(src)
    slim = onnx.load(str(out), load_external_data=False)
    problems = []
    for i, (rt, st) in enumerate(zip(iter_tensors(ref), iter_tensors(slim))):
        nbytes = numpy_helper.to_array(rt).nbytes
        name = rt.name or f"tensor #{i}"
        external = st.data_location == onnx.TensorProto.EXTERNAL
        if external != (nbytes >= 1024):
            problems.append(f"{name} ({nbytes} B): external={external}")
        if external:
            info = _external_info(st)
            off, length = int(info.get("offset", 0)), int(info.get("length", nbytes))
            if info.get("location") != "tb.onnx.data":
                problems.append(f"{name}: location {info.get('location')!r}")
            if length != nbytes or off + length > data_size:
                problems.append(f"{name}: offset {off} length {length} (tensor {nbytes} B, "
                                f"file {data_size} B)")
    assert not problems, "external-data layout wrong:\n" + "\n".join(problems)

    onnx.checker.check_model(str(out), full_check=True)
    loaded = _normalized(onnx.load(str(out)))
    assert loaded == ref, first_difference(ref, loaded)
    _assert_same_outputs(src, str(out))


def test_external_input_reencoded_elsewhere_is_standalone(slim_bin, tmp_path):
    """Re-encoding external_data.onnx into another folder copies its weights
    into OUT.data there (relative location): after moving the output folder
    away, the model still loads equal to IN, passes the checker and runs with
    bit-identical outputs; the input's .data file is untouched."""
    src = os.path.join(TESTDATA, "external_data.onnx")
    src_data = src + ".data"
    before = sha256(src_data)
    out_dir = tmp_path / "elsewhere"
    out_dir.mkdir()
    p = run_slim(slim_bin, src, out_dir / "copy.onnx")
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(out_dir)) == ["copy.onnx", "copy.onnx.data"]
    assert sha256(src_data) == before, "input external data file was modified"

    moved = tmp_path / "moved"
    shutil.move(str(out_dir), str(moved))
    path = str(moved / "copy.onnx")
    locations = {_external_info(t).get("location")
                 for t in iter_tensors(onnx.load(path, load_external_data=False))
                 if t.data_location == onnx.TensorProto.EXTERNAL}
    assert locations == {"copy.onnx.data"}

    ref = onnx.load(src)
    loaded = onnx.load(path)
    assert loaded == ref, first_difference(ref, loaded)
    onnx.checker.check_model(path, full_check=True)
    _assert_same_outputs(src, path)
    assert sha256(src_data) == before, "input external data file was modified"


# --------------------------------------------------------------------------
# zstd frames written by the stock zstd CLI
# --------------------------------------------------------------------------

@pytest.mark.parametrize("zstd_flags", [[], ["--no-content-size"], ["-19", "--check"]],
                         ids=["default", "no-content-size", "level19"])
def test_reads_stock_zstd_frame(zstd_flags, slim_bin, tmp_path):
    """A model compressed by the stock `zstd` CLI (which records the content
    size in the frame header by default) is read back by onnx-slim and
    re-encodes to a ModelProto equal to the original."""
    src = os.path.join(TESTDATA, "tiny_mlp.onnx")
    zst = tmp_path / "tiny.onnx.zst"
    subprocess.run(["zstd", "-q", "-f", *zstd_flags, src, "-o", str(zst)], check=True)
    out = tmp_path / "back.onnx"
    p = run_slim(slim_bin, zst, out)
    assert p.returncode == 0, f"exit {p.returncode}: {p.stderr.strip()}"
    ref, got = onnx.load(src), onnx.load(str(out))
    assert got == ref, first_difference(ref, got)
