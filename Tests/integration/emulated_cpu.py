"""onnxruntime on an emulated CPU without VNNI (qemu-user, `-cpu Haswell`: AVX2, no AVX-512).

Models are converted once and deployed on many CPUs. onnxruntime picks its integer kernels from
the CPU it runs on: on x86 without VNNI its u8·s8 kernel sums pairs of products in int16 with
saturation (vpmaddubsw), so an int8 model accurate on a VNNI machine can be wrong on an AVX2 one.
Debian's qemu-user runs the same Python and onnxruntime with such a CPU's cpuid, so the suite
reproduces that case on any x86-64 machine (slowly: keep the models small, one process per batch).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "ort_runner.py")
QEMU = shutil.which("qemu-x86_64")
CPU = "Haswell"
EXACT_PROBE = 255 * 127 * 64


def run_jobs(jobs: list[dict], work: str, emulated: bool = True, timeout: float = 1200) -> dict:
    """Runs ``jobs`` (see ort_runner.py) natively or under emulation; returns the probe's value."""
    path = os.path.join(work, "jobs-emulated.json" if emulated else "jobs-native.json")
    with open(path, "w") as f:
        json.dump(jobs, f)
    command = [sys.executable, RUNNER, path]
    if emulated:
        if QEMU is None:
            raise RuntimeError("qemu-x86_64 not found (scripts/install-deps.sh installs Debian's qemu-user)")
        command = [QEMU, "-cpu", CPU, *command]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"ort_runner failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    with open(path + ".probe") as f:
        return json.load(f)["value"]


def job_outputs(job: dict) -> list[np.ndarray] | str:
    """A job's outputs in graph order, or its error message."""
    if os.path.exists(job["outputs"] + ".err"):
        with open(job["outputs"] + ".err") as f:
            return json.load(f)["error"]
    with np.load(job["outputs"]) as data:
        return [data[f"out{k}"] for k in range(len(data.files))]
