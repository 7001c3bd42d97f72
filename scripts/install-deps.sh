#!/usr/bin/env bash
# Installs what onnx-slim needs on Debian 12 (with Swift already installed):
# the C libraries it links (protobuf-c, zstd, OpenBLAS), the ONNX conformance corpus the tests use,
# qemu-user (the tests run onnxruntime on an emulated CPU without VNNI, see Tests/integration/emulated_cpu.py),
# and a Python venv (.venv) with onnx and onnxruntime for the integration tests and benchmarks
# (plus torch and transformers, which export the BERT the static int8 tests calibrate).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libprotobuf-c-dev protobuf-c-compiler libzstd-dev zstd pkg-config libonnx-testdata libopenblas-dev liblapacke-dev qemu-user)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    echo "installing: ${missing[*]}"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--with-python" ]; then
    if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import onnx, onnxruntime, onnx_tool, pytest, torch, transformers" 2>/dev/null; then
        echo "creating .venv (onnx, onnxruntime, onnx-tool, numpy, pytest; torch and transformers to export a BERT)"
        python3 -m venv .venv
        .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements-test.txt
        # The CPU-only torch build (the machine image carries its wheel); the default one pulls CUDA.
        .venv/bin/pip install -q --disable-pip-version-check "torch==2.13.0+cpu" \
            || .venv/bin/pip install -q --disable-pip-version-check torch
        .venv/bin/pip install -q --disable-pip-version-check "transformers==5.23.0"
    fi
    # An existing .venv follows scripts/requirements-test.txt: reinstall when the file changed.
    wanted="$(sha256sum scripts/requirements-test.txt | cut -d' ' -f1)"
    if [ "$(cat .venv/requirements-test.sha256 2>/dev/null)" != "$wanted" ]; then
        echo "updating .venv to scripts/requirements-test.txt"
        .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements-test.txt
        echo "$wanted" > .venv/requirements-test.sha256
    fi
fi
