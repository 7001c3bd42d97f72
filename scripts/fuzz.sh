#!/usr/bin/env bash
# Coverage-guided fuzzing of the loader with libFuzzer, seeded with testdata/ models.
# Usage: scripts/fuzz.sh [seconds]   (default 300). Crashes are written to fuzz-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
# SwiftPM aliases main to the target's own main, and -sanitize=fuzzer links libFuzzer's main as
# well: lld with --allow-multiple-definition keeps ours, which hands over to LLVMFuzzerRunDriver.
(cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address \
    -Xswiftc -use-ld=lld -Xlinker --allow-multiple-definition 2>&1 | tail -1)
mkdir -p fuzz-out/corpus
cp testdata/*.onnx fuzz-out/corpus/
Fuzz/.build/release/LoaderFuzzer fuzz-out/corpus -max_total_time="$seconds" -max_len=1048576 \
    -rss_limit_mb=4096 -artifact_prefix=fuzz-out/ -print_final_stats=1
