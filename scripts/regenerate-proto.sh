#!/usr/bin/env bash
# Regenerates the protobuf-c bindings for schemas/onnx.proto.
# Needs Debian's protobuf-c-compiler. The output is committed; run this only when the schema changes.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
protoc-c --c_out="$tmp" -Ischemas schemas/onnx.proto
cp "$tmp/onnx.pb-c.h" Sources/ONNXProto/include/onnx.pb-c.h
sed 's|#include "onnx.pb-c.h"|#include "include/onnx.pb-c.h"|' "$tmp/onnx.pb-c.c" > Sources/ONNXProto/onnx.pb-c.c
echo "regenerated Sources/ONNXProto from schemas/onnx.proto with $(protoc-c --version | head -1)"
