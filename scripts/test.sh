#!/usr/bin/env bash
# Runs the whole test suite: Swift unit tests (XCTest), then the integration tests (pytest) that
# check every written model with the real onnx and onnxruntime packages.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-python
swift build -c release --static-swift-stdlib 2>&1 | tail -1
swift test 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]|^Test Case .* (started|passed)' 
ONNX_SLIM_BIN="$PWD/.build/release/onnx-slim" .venv/bin/python -m pytest -q Tests/integration
