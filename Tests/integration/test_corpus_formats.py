"""Every model of the ONNX conformance corpus that onnxruntime loads must still load after
onnx-slim converts it to each format (the issue's "never write a model onnxruntime refuses"),
or be refused with a one-line error; every output of an input that passes onnx.checker with
full_check must pass it too. Numerical closeness is checked on the testdata models
(test_quantize.py); this sweep catches signatures, opsets and types across ~1,000 operators."""
import concurrent.futures as cf
import functools
import os

import onnx
import onnxruntime as ort
import pytest

from slim_helpers import CONVERT_FORMS, CORPUS_FOLDERS, corpus_models, run_slim

FORMATS = list(CONVERT_FORMS)


def _loads(path: str) -> str | None:
    so = ort.SessionOptions()
    so.log_severity_level = 4
    try:
        ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        return None
    except Exception as e:  # onnxruntime raises several unrelated exception types
        return str(e).splitlines()[0][:200]


def _checker_problem(path: str) -> str | None:
    try:
        onnx.checker.check_model(path, full_check=True)
        return None
    except Exception as e:  # the checker raises several exception types
        return str(e).splitlines()[0][:200]


@functools.lru_cache(maxsize=None)
def _input_passes_checker(path: str) -> bool:
    """Asked once per corpus model for all formats (a few old models fail the checker)."""
    return _checker_problem(path) is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_corpus_models_still_load(fmt, slim_bin, tmp_path, summary_lines):
    """For form FMT (CONVERT_FORMS): every corpus model onnxruntime loads gives an output it
    loads too, which passes the full checker when the input does; a refusal is allowed only as
    exit 1/2 with one line on stderr."""
    models = [m for f in CORPUS_FOLDERS for m in corpus_models(f)]
    if not models:
        pytest.skip("conformance corpus not installed")

    def one(index_and_model):
        k, model = index_and_model
        if _loads(model) is not None:
            return "input not loadable", None
        out = os.path.join(tmp_path, f"{k}.onnx")
        proc = run_slim(slim_bin, model, out, *CONVERT_FORMS[fmt])
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines()
            if proc.returncode in (1, 2) and len(lines) == 1:
                return "refused", None
            return "failed", f"{model}: exit {proc.returncode}: {proc.stderr.strip()[:200]}"
        problem = _loads(out)
        if problem is not None:
            os.remove(out)
            return "not loadable", f"{model}: {problem}"
        if not _input_passes_checker(model):
            os.remove(out)
            return "loads (input fails the checker)", None
        invalid = _checker_problem(out)
        os.remove(out)
        return ("loads, checker passes", None) if invalid is None else ("checker rejects", f"{model}: checker: {invalid}")

    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, enumerate(models)))
    counts = {}
    for status, _ in results:
        counts[status] = counts.get(status, 0) + 1
    summary_lines.append(f"corpus {fmt}: {counts}")
    problems = [detail for status, detail in results if detail]
    assert not problems, f"{len(problems)} outputs onnxruntime or the checker refuses:\n" + "\n".join(problems[:20])
