"""Every output of every `--quantize` format (and its --int8-mode forms, and an opset upgrade)
on every testdata model passes onnx.checker with full_check and loads and runs in onnxruntime
(the product's contract: "every model it writes passes check_model(full_check=True) and loads
and runs in onnxruntime"). No testdata model is refused by any form.

The (model, form) pairs run on two threads; each pair is one onnx-slim process plus the checker
and one onnxruntime run, so the sweep takes well under a minute."""
from __future__ import annotations

import concurrent.futures as cf
import os

import onnx
import pytest

from slim_helpers import CONVERT_FORMS, describe_run, list_testdata_models, ort_session, random_feed, run_slim

FORMS = CONVERT_FORMS


def _check_output(path: str) -> str | None:
    """None when `path` passes the full checker and runs in onnxruntime, else why not."""
    try:
        onnx.checker.check_model(path, full_check=True)
    except Exception as e:  # the checker raises several exception types
        return f"checker: {str(e).splitlines()[0][:300]}"
    try:
        session = ort_session(path)
        session.run(None, random_feed(session, onnx.load(path, load_external_data=False)))
    except Exception as e:
        return f"onnxruntime: {str(e).splitlines()[0][:300]}"
    return None


@pytest.mark.parametrize("model", list_testdata_models(), ids=os.path.basename)
def test_every_form_writes_a_valid_model(model, slim_bin, tmp_path, summary_lines):
    """For each form: onnx-slim exits 0 and the output passes the checker and runs."""
    name = os.path.basename(model)

    def one(form: str) -> str | None:
        out = os.path.join(tmp_path, f"{form}.onnx")
        proc = run_slim(slim_bin, model, out, *FORMS[form])
        if proc.returncode != 0:
            return f"{form}: {describe_run(proc)}"
        problem = _check_output(out)
        return None if problem is None else f"{form}: {problem}"

    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        problems = [p for p in pool.map(one, FORMS) if p]
    summary_lines.append(f"every form valid on {name}: {len(FORMS) - len(problems)}/{len(FORMS)}")
    assert not problems, f"{name}:\n" + "\n".join(problems)


def _help_values(help_text: str, option: str) -> set[str]:
    """The "(values: …)" list swift-argument-parser prints for `option`."""
    text = " ".join(help_text.split())
    start = text.index(f"{option} <")
    listed = text[text.index("(values: ", start) + len("(values: "):]
    listed = listed[:listed.index(")")].split("; default")[0]
    return {v.strip() for v in listed.split(",")}


def test_forms_cover_every_listed_format_and_mode(slim):
    """Every --quantize value and --int8-mode value `convert --help` lists is swept above
    (auto is what plain --quantize int8 runs)."""
    help_text = slim("convert", "--help").stdout
    args = [a for form in FORMS.values() for a in form]
    quantized = {args[k + 1] for k, a in enumerate(args) if a == "--quantize"}
    modes = {args[k + 1] for k, a in enumerate(args) if a == "--int8-mode"} | {"auto"}
    assert _help_values(help_text, "--quantize") == quantized
    assert _help_values(help_text, "--int8-mode") == modes
