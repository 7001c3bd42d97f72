#!/usr/bin/env python3
"""`onnx-slim diff` benchmark: two ~90 MB transformers, beside a peer in the same run.

Pairs (generated once in the work directory, see models.py / bench_io.ensure_bert):
  renamed   bert_90mb.onnx vs. a copy with every node and value renamed and the nodes shuffled
            (both ~90 MB; the diff must report no change)
  int8      bert_90mb.onnx vs. its `onnx-slim --quantize int8` output (every quantized weight named)

For each pair, in alternating order, `--runs` times:
  onnx-slim diff A B          whole process wall time (graph only), and with --weights
  peer                         onnx.load(A, load_external_data=False) + onnx.load(B, ...) + matching
                               nodes by output name (as onnxsim's graph diff does), timed inside the
                               Python process (interpreter start and `import onnx` not counted)
Prints medians, the ratio peer / onnx-slim, and checks the 0.3 s target without --weights.

Usage: python bench_diff.py [--bin PATH] [--workdir DIR] [--runs N]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_io import ensure_bert  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "Tests", "integration"))
from slim_helpers import renamed_shuffled  # noqa: E402

PEER = r"""
import sys, time, onnx
t0 = time.perf_counter()
a = onnx.load(sys.argv[1], load_external_data=False)
b = onnx.load(sys.argv[2], load_external_data=False)
def index(g):
    return {o: n for n in g.node for o in n.output}
ia, ib = index(a.graph), index(b.graph)
added = [o for o in ib if o not in ia]
removed = [o for o in ia if o not in ib]
changed = [o for o in ia if o in ib and (ia[o].op_type != ib[o].op_type or ia[o].attribute != ib[o].attribute
                                          or list(ia[o].input) != list(ib[o].input))]
wa = {t.name: (t.data_type, tuple(t.dims)) for t in a.graph.initializer}
wb = {t.name: (t.data_type, tuple(t.dims)) for t in b.graph.initializer}
wchanged = [k for k in wa if k in wb and wa[k] != wb[k]]
print(time.perf_counter() - t0, len(added), len(removed), len(changed), len(wchanged))
"""


def wall(argv):
    t0 = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{p.stderr}")
    return dt, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(REPO, ".build", "release", "onnx-slim"))
    ap.add_argument("--workdir", default="/tmp/onnx-slim-bench")
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    base = ensure_bert(a.workdir)
    renamed = os.path.join(a.workdir, "bert_90mb.renamed.onnx")
    if not os.path.exists(renamed):
        renamed_shuffled(base, renamed)
    int8 = os.path.join(a.workdir, "bert_90mb.int8.onnx")
    if not os.path.exists(int8):
        wall([a.bin, base, int8, "--quantize", "int8"])

    print(f"onnx-slim: {a.bin}")
    print(f"A: {base} ({os.path.getsize(base) / 1e6:.1f} MB)")
    results = {}
    for key, other in (("renamed", renamed), ("int8", int8)):
        print(f"B ({key}): {other} ({os.path.getsize(other) / 1e6:.1f} MB)")
        # what the diff says (once)
        _, out = wall([a.bin, "diff", base, other, "--json"])
        r = json.loads(out)
        slim_t, slim_w, peer_t = [], [], []
        peer_out = None
        wall([a.bin, "diff", base, other])  # warm the page cache
        for k in range(a.runs):
            order = [0, 1, 2] if k % 2 == 0 else [2, 1, 0]
            for which in order:
                if which == 0:
                    slim_t.append(wall([a.bin, "diff", base, other])[0])
                elif which == 1:
                    slim_w.append(wall([a.bin, "diff", base, other, "--weights"])[0])
                else:
                    _, o = wall([sys.executable, "-c", PEER, base, other])
                    peer_out = o.split()
                    peer_t.append(float(peer_out[0]))
        res = {"slim_s": statistics.median(slim_t), "slim_weights_s": statistics.median(slim_w),
               "peer_s": statistics.median(peer_t), "changes": r["summary"]["by_kind"],
               "peer_counts": {"added": int(peer_out[1]), "removed": int(peer_out[2]),
                               "changed": int(peer_out[3]), "weights_changed": int(peer_out[4])}}
        res["ratio"] = res["peer_s"] / res["slim_s"]
        results[key] = res
        print(f"  onnx-slim diff            {res['slim_s'] * 1000:7.1f} ms   (median of {a.runs}, whole process)")
        print(f"  onnx-slim diff --weights  {res['slim_weights_s'] * 1000:7.1f} ms")
        print(f"  peer (onnx.load + names)  {res['peer_s'] * 1000:7.1f} ms   (in-process, imports not counted)")
        print(f"  peer / onnx-slim          {res['ratio']:7.1f}x")
        print(f"  onnx-slim reports {r['summary']['changes']} changes {r['summary']['by_kind']}; "
              f"the peer reports {res['peer_counts']}")
        target = "met" if res["slim_s"] < 0.3 else "MISSED"
        print(f"  target < 0.3 s without --weights: {target}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
