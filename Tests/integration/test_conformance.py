"""ONNX backend node tests (Debian's libonnx-testdata) through the evaluator.

Prints pass / fail / unsupported counts. At least 90% of the corpus must pass at the corpus's
tolerances, and no test whose operators the evaluator claims may fail: a claimed operator passes
all its cases.
"""

from __future__ import annotations

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import conformance  # noqa: E402

# Operators the evaluator must implement (issue 4's list).
REQUIRED = """Add Sub Mul Div Pow Sqrt Exp Log Abs Neg Reciprocal Relu Sigmoid Tanh Erf Gelu HardSigmoid
HardSwish LeakyRelu Clip MatMul Gemm Conv ConvTranspose MaxPool AveragePool GlobalAveragePool
BatchNormalization LayerNormalization Softmax LogSoftmax ReduceSum ReduceMean ReduceMax ReduceMin
Reshape Transpose Concat Split Slice Gather GatherElements Expand Squeeze Unsqueeze Shape Size Tile Pad
Where Range ConstantOfShape Cast Flatten Resize TopK CumSum ArgMax ArgMin Einsum If Loop Scan LSTM GRU
QuantizeLinear DequantizeLinear DynamicQuantizeLinear MatMulInteger ConvInteger QLinearMatMul
QLinearConv""".split()


def test_node_conformance(slim_bin, summary_lines):
    results, supported = conformance.run_corpus(slim_bin)
    counts = {k: [r for r in results if r[1] == k] for k in ("pass", "fail", "unsupported")}
    total = len(results)
    line = (f"conformance: {len(counts['pass'])} pass, {len(counts['fail'])} fail, "
            f"{len(counts['unsupported'])} unsupported of {total} node tests "
            f"({100 * len(counts['pass']) / total:.1f}% pass)")
    summary_lines.append(line)
    print(line)
    assert total >= 900, "the corpus is incomplete"
    missing = [op for op in REQUIRED if op not in supported]
    assert not missing, f"operators the evaluator must claim: {missing}"
    failures = [f"{name}: {why}" for name, _, why, _ in counts["fail"]]
    assert not failures, f"{len(failures)} failing tests of claimed operators:\n" + "\n".join(failures[:40])
    assert len(counts["pass"]) >= 0.9 * total, line
