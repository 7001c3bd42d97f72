#!/usr/bin/env bash
# The main job on a bundled sample: installs dependencies, builds onnx-slim (release), describes
# the sample transformer, and compresses it (int8 weights, zstd-packed), printing the report.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --static-swift-stdlib 2>&1 | tail -1
mkdir -p demo-out
.build/release/onnx-slim info testdata/transformer_block.onnx
echo
.build/release/onnx-slim testdata/transformer_block.onnx demo-out/transformer_block.int8.onnx.zst --quantize int8
