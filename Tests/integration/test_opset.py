"""Opset upgrades: `onnx-slim IN OUT --opset N` on the ONNX conformance corpus.

Every model of the node, simple, pytorch-converted and pytorch-operator folders
whose default-domain opset is below 21 is upgraded to 21, and those below 13
also to 13. onnx-slim may refuse an upgrade it cannot do faithfully (exit 2,
one line naming the problem); otherwise OUT must declare the target opset,
pass onnx.checker full_check wherever IN does, and, wherever onnxruntime runs
IN deterministically on test_data_set_0, give outputs allclose to IN's
(rtol 1e-5, atol 1e-6, NaN == NaN). Models are spread over a process pool;
one test per target opset lists every failure in its assertion message and
the refused models in the terminal summary.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import textwrap
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor

import onnx
import pytest

from slim_helpers import OpsetUpgrade, corpus_models, default_opset, upgrade_one

FOLDERS = ["node", "simple", "pytorch-converted", "pytorch-operator"]


def _corpus_below(target: int) -> list[tuple[str, str]]:
    """(path, folder/name) of every corpus model whose default opset < target."""
    picked = []
    for folder in FOLDERS:
        for path in corpus_models(folder):
            m = onnx.load(path, load_external_data=False)
            v = default_opset(m)
            if v is not None and v < target:
                picked.append((path, f"{folder}/{os.path.basename(os.path.dirname(path))}"))
    return picked


def _run_pool(binary: str, jobs: list[tuple[str, str]], target: int,
              work_root: str) -> list[OpsetUpgrade]:
    ctx = multiprocessing.get_context("spawn")
    results = []
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 2, mp_context=ctx) as pool:
        futures = [(name, pool.submit(upgrade_one, binary, path, name, target, work_root))
                   for path, name in jobs]
        for name, fut in futures:
            try:
                results.append(fut.result())
            except Exception as e:  # noqa: BLE001 - a crashed worker is a failure of that model
                results.append(OpsetUpgrade(name, target,
                                            failures=[f"worker died: {type(e).__name__}: {e}"]))
    return results


def _grouped(pairs: list[tuple[str, str]]) -> str:
    """'[n models] kind' followed by the models, most frequent kind first."""
    groups: dict[str, list[str]] = defaultdict(list)
    for kind, name in pairs:
        groups[kind].append(name)
    lines = []
    for kind, names in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines.append(f"[{len(names)} models] {kind}")
        lines.append(textwrap.fill(", ".join(names), 100, initial_indent="    ",
                                   subsequent_indent="    ", break_on_hyphens=False))
    return "\n".join(lines)


def _refusal_kind(message: str) -> str:
    """A refusal message with the model-specific parts masked."""
    m = re.search(r"upgrading from below \d+ is not supported", message)
    if m:
        return f"refused: {m.group(0)}"
    m = re.search(r"cannot upgrade (\S+) .*?from opset (\d+) to \d+: (.*)", message)
    if m:
        return f"refused: cannot upgrade {m.group(1)} from opset {m.group(2)}: {m.group(3)}"
    return f"refused: {message}"


@pytest.mark.parametrize("target", [21, 13])
def test_corpus_opset_upgrade(target, slim_bin, summary_lines, tmp_path):
    """Every corpus model below opset `target` is either refused (exit 2, one
    line: "cannot upgrade <Op> ..." or "upgrading from below N is not
    supported") or upgraded: OUT declares `target`, passes check_model
    full_check wherever IN does, and wherever onnxruntime runs IN
    deterministically, runs OUT with outputs allclose to IN's (rtol 1e-5,
    atol 1e-6, NaN-equal; models with random ops are not compared)."""
    jobs = _corpus_below(target)
    if not jobs:
        pytest.skip("conformance corpus not installed locally")
    results = _run_pool(slim_bin, jobs, target, str(tmp_path))

    refused = [r for r in results if r.refused and not r.failures]
    failed = [r for r in results if r.failures]
    mismatches = sum(r.mismatch for r in results)
    nondet = sum(any("nondeterministic" in n or "random op" in n for n in r.notes)
                 for r in results)
    line = (f"opset {target}: {len(results)} models, {sum(r.upgraded for r in results)} upgraded, "
            f"{len(refused)} refused, {sum(r.checker_checked for r in results)} checker-checked, "
            f"{sum(r.ort_compared for r in results)} ort-compared ({nondet} skipped as "
            f"nondeterministic), {mismatches} mismatches, {len(failed)} failed")
    summary_lines.append(line)
    if refused:
        summary_lines.append(f"opset {target} refusals:")
        summary_lines.extend("  " + s for s in
                             _grouped([(_refusal_kind(r.refused), r.name)
                                       for r in refused]).splitlines())
    print(line)

    report = _grouped([(f, r.name) for r in failed for f in r.failures])
    assert mismatches == 0 and not failed, (
        f"{len(failed)} of {len(results)} upgrades to opset {target} failed "
        f"({mismatches} with mismatching outputs):\n{report}")
