"""Shared helpers for the onnx-slim integration tests.

Kept out of conftest.py so that worker processes (see ``roundtrip_one``) can
import them by module name.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TESTDATA = os.path.join(REPO, "testdata")
CORPUS = "/usr/share/libonnx-testdata/data"
CORPUS_FOLDERS = ["node", "simple", "pytorch-converted", "pytorch-operator", "real"]
DEFAULT_BIN = os.path.join(REPO, ".build", "release", "onnx-slim")
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
TIMEOUT = 120  # seconds for any single child process

# Every --quantize format and --int8-mode form, and an opset upgrade, as convert arguments.
# Generated calibration samples give symbolic dims the value 1; the CRNN's width must survive
# two poolings, so static forms set it (--dim of a name a model lacks is ignored).
CONVERT_FORMS = {
    "int8": ["--quantize", "int8"],
    "uint8": ["--quantize", "uint8"],
    "int4": ["--quantize", "int4"],
    "uint4": ["--quantize", "uint4"],
    "fp16": ["--quantize", "fp16"],
    "bf16": ["--quantize", "bf16"],
    "fp8": ["--quantize", "fp8"],
    "int8-weight-only": ["--quantize", "int8", "--int8-mode", "weight-only"],
    "int8-dynamic": ["--quantize", "int8", "--int8-mode", "dynamic"],
    "int8-folded": ["--quantize", "int8", "--int8-mode", "folded"],
    "int8-static": ["--quantize", "int8", "--int8-mode", "static", "--calibration-generated",
                    "--calibration-samples", "4", "--dim", "width=40"],
    "uint8-static": ["--quantize", "uint8", "--int8-mode", "static", "--calibration-generated",
                     "--calibration-samples", "4", "--dim", "width=40"],
    "opset-21": ["--opset", "21"],
}


# --------------------------------------------------------------------------
# running the binary
# --------------------------------------------------------------------------

def run_slim(binary: str, *args, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """Runs onnx-slim with ``args``; never raises on a non-zero exit code."""
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def describe_run(proc: subprocess.CompletedProcess) -> str:
    err = proc.stderr.strip().replace("\n", " | ")
    return f"exit {proc.returncode}, stderr: {err[:300]!r}"


def convert_report(slim, src, out, *args) -> dict:
    """`onnx-slim convert SRC OUT ARGS --report json`, which must succeed; its report."""
    p = slim("convert", src, out, *args, "--report", "json")
    assert p.returncode == 0, describe_run(p)
    return json.loads(p.stdout)


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def list_testdata_models() -> list[str]:
    return sorted(glob.glob(os.path.join(TESTDATA, "*.onnx")))


def corpus_models(folder: str) -> list[str]:
    return sorted(glob.glob(os.path.join(CORPUS, folder, "*", "model.onnx")))


# --------------------------------------------------------------------------
# protobuf comparison
# --------------------------------------------------------------------------

def _short(v) -> str:
    r = repr(v)
    return r if len(r) <= 80 else r[:77] + "..."


def _is_repeated(fd) -> bool:
    rep = getattr(fd, "is_repeated", None)
    if rep is not None:
        return rep() if callable(rep) else rep
    return fd.label == fd.LABEL_REPEATED


def first_difference(a, b, path: str = "model") -> str | None:
    """Path and values of the first field where messages ``a`` and ``b`` differ,
    or None when they are equal."""
    if a == b:
        return None
    fa = {fd.name: (fd, v) for fd, v in a.ListFields()}
    fb = {fd.name: (fd, v) for fd, v in b.ListFields()}
    for name in sorted(set(fa) | set(fb)):
        if name not in fb:
            return f"{path}.{name}: {_short(fa[name][1])} in IN, unset in OUT"
        if name not in fa:
            return f"{path}.{name}: unset in IN, {_short(fb[name][1])} in OUT"
        fd, va = fa[name]
        vb = fb[name][1]
        is_msg = fd.message_type is not None
        if _is_repeated(fd):
            if len(va) != len(vb):
                return f"{path}.{name}: {len(va)} entries in IN, {len(vb)} in OUT"
            pairs = [(f"{path}.{name}[{i}]", x, y) for i, (x, y) in enumerate(zip(va, vb))]
        else:
            pairs = [(f"{path}.{name}", va, vb)]
        for where, x, y in pairs:
            if is_msg:
                d = first_difference(x, y, where)
                if d:
                    return d
            elif x != y and not (x != x and y != y):  # NaN == NaN
                return f"{where}: {_short(x)} != {_short(y)}"
    return f"{path}: messages differ but no known field does (unknown fields / NaN?)"


# --------------------------------------------------------------------------
# walking a model
# --------------------------------------------------------------------------

def iter_graphs(graph: onnx.GraphProto):
    """The graph and, recursively, every subgraph in node attributes."""
    yield graph
    for node in graph.node:
        yield from _subgraphs_of(node)


def _subgraphs_of(node: onnx.NodeProto):
    for a in node.attribute:
        if a.HasField("g"):
            yield from iter_graphs(a.g)
        for g in a.graphs:
            yield from iter_graphs(g)


def renamed_shuffled(src: str, dst: str, seed: int = 0) -> str:
    """A copy of `src` with every node and value (inputs, outputs, initializers, intermediates,
    value_info, in subgraphs too) renamed consistently and the nodes of every graph shuffled: what
    `diff` must report as no change (tests and scripts/bench/bench_diff.py). Returns the path
    written (next to `src` when its weights are external, so their references stay valid)."""
    m = onnx.load(src, load_external_data=False)
    rng = random.Random(seed)
    names: dict[str, str] = {}

    def new(name: str) -> str:
        if not name:
            return name
        if name not in names:
            names[name] = f"v{len(names)}_{rng.randrange(1 << 30):x}"
        return names[name]

    for g in iter_graphs(m.graph):
        for vi in list(g.input) + list(g.output) + list(g.value_info):
            vi.name = new(vi.name)
        for t in g.initializer:
            t.name = new(t.name)
        for n in g.node:
            n.name = f"n{rng.randrange(1 << 40):x}"
            n.input[:] = [new(x) for x in n.input]
            n.output[:] = [new(x) for x in n.output]
        nodes = list(g.node)
        rng.shuffle(nodes)
        del g.node[:]
        g.node.extend(nodes)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in m.graph.initializer):
        dst = os.path.join(os.path.dirname(src), os.path.basename(dst))
    onnx.save(m, dst)
    return dst


_CONSTANT_SCALARS = {"value_float", "value_int", "value_string"}
_CONSTANT_LISTS = {"value_floats": "floats", "value_ints": "ints", "value_strings": "strings"}


def iter_tensors(model: onnx.ModelProto):
    """Every weight in the model as a TensorProto: initializers, sparse
    initializers (values and indices), tensor attributes of any node (Constant
    ``value`` and others), and a Constant's value_float(s)/value_int(s)/
    value_string(s) as the scalar or 1-D tensor they stand for; in the main
    graph, all subgraphs and model-local functions."""
    def from_nodes(nodes):
        for node in nodes:
            is_constant = node.op_type == "Constant" and node.domain in ("", "ai.onnx")
            for a in node.attribute:
                if is_constant and a.name in _CONSTANT_SCALARS:
                    yield onnx.TensorProto(dims=[])
                if is_constant and a.name in _CONSTANT_LISTS:
                    yield onnx.TensorProto(dims=[len(getattr(a, _CONSTANT_LISTS[a.name]))])
                if a.HasField("t"):
                    yield a.t
                yield from a.tensors
                if a.HasField("sparse_tensor"):
                    yield a.sparse_tensor.values
                    yield a.sparse_tensor.indices
                for s in a.sparse_tensors:
                    yield s.values
                    yield s.indices
                if a.HasField("g"):
                    yield from from_graph(a.g)
                for g in a.graphs:
                    yield from from_graph(g)

    def from_graph(g):
        yield from g.initializer
        for s in g.sparse_initializer:
            yield s.values
            yield s.indices
        yield from from_nodes(g.node)

    yield from from_graph(model.graph)
    for f in model.functions:
        yield from from_nodes(f.node)


def element_count(t: onnx.TensorProto) -> int:
    n = 1
    for d in t.dims:
        n *= d
    return n


# --------------------------------------------------------------------------
# onnxruntime
# --------------------------------------------------------------------------

def ort_session(path: str):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 4
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def _read_proto(path: str, type_proto: onnx.TypeProto | None):
    with open(path, "rb") as f:
        data = f.read()
    kind = type_proto.WhichOneof("value") if type_proto is not None else "tensor_type"
    if kind == "sequence_type":
        p = onnx.SequenceProto()
        p.ParseFromString(data)
        return numpy_helper.to_list(p)
    if kind == "optional_type":
        p = onnx.OptionalProto()
        p.ParseFromString(data)
        return numpy_helper.to_optional(p)
    if kind == "map_type":
        p = onnx.MapProto()
        p.ParseFromString(data)
        return numpy_helper.to_dict(p)
    p = onnx.TensorProto()
    p.ParseFromString(data)
    return numpy_helper.to_array(p)


def corpus_feed(model: onnx.ModelProto, model_dir: str) -> dict:
    """Inputs of ``test_data_set_0`` keyed by graph input name (in order)."""
    init_names = {i.name for i in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in init_names]
    files = sorted(glob.glob(os.path.join(model_dir, "test_data_set_0", "input_*.pb")),
                   key=lambda p: int(p.rsplit("_", 1)[1].split(".")[0]))
    feed = {}
    for i, path in enumerate(files):
        if i >= len(graph_inputs):
            break
        feed[graph_inputs[i].name] = _read_proto(path, graph_inputs[i].type)
    return feed


_NP = {
    "tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int16)": np.int16,
    "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(uint16)": np.uint16,
    "tensor(uint32)": np.uint32, "tensor(uint64)": np.uint64, "tensor(bool)": np.bool_,
}


def cosine(a, b) -> float:
    """Cosine similarity of two arrays, in float64 (1.0 when both are zero)."""
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 and nb == 0:
        return 1.0
    return float(a @ b / (na * nb)) if na and nb else 0.0


def random_feed(session, model: onnx.ModelProto, seed: int = 0, int_high: int = 10) -> dict:
    """Random inputs: symbolic, unnamed and negative (Paddle's -1) dims = 2, floats N(0,1),
    ints in [0, int_high)."""
    rng = np.random.default_rng(seed)
    init_names = {i.name for i in model.graph.initializer}
    feed = {}
    for inp in session.get_inputs():
        if inp.name in init_names:
            continue
        shape = [d if isinstance(d, int) and d >= 0 else 2 for d in inp.shape]
        dtype = _NP.get(inp.type)
        if dtype is None:
            raise ValueError(f"no random generator for {inp.type}")
        if dtype == np.bool_:
            feed[inp.name] = rng.integers(0, 2, size=shape).astype(np.bool_)
        elif np.issubdtype(dtype, np.integer):
            feed[inp.name] = rng.integers(0, int_high, size=shape).astype(dtype)
        else:
            feed[inp.name] = rng.standard_normal(shape).astype(dtype)
    return feed


def _walk_difference(a, b, leaf, where: str) -> str | None:
    """Walks nested outputs (sequences, maps, None, arrays) and returns the first
    difference; arrays of equal dtype and shape are compared by ``leaf``."""
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        if not isinstance(a, (list, tuple)) or not isinstance(b, (list, tuple)) or len(a) != len(b):
            return f"{where}: sequence structure differs"
        for i, (x, y) in enumerate(zip(a, b)):
            d = _walk_difference(x, y, leaf, f"{where}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, dict) or isinstance(b, dict):
        if not isinstance(a, dict) or not isinstance(b, dict) or a.keys() != b.keys():
            return f"{where}: map keys differ"
        for k in a:
            d = _walk_difference(a[k], b[k], leaf, f"{where}[{k!r}]")
            if d:
                return d
        return None
    if a is None or b is None:
        return None if a is None and b is None else f"{where}: None vs value"
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return f"{where}: {a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}"
    return leaf(a, b, where)


def bit_difference(a, b, where: str = "output") -> str | None:
    """None when ``a`` and ``b`` (arrays, lists, dicts, None) are bit-identical."""
    def leaf(x, y, w):
        same = x.tolist() == y.tolist() if x.dtype == object else x.tobytes() == y.tobytes()
        return None if same else f"{w}: values differ (not bit-identical)"
    return _walk_difference(a, b, leaf, where)


def run_outputs(path: str, feed: dict):
    sess = ort_session(path)
    return sess.run(None, feed)


# --------------------------------------------------------------------------
# one model's round trip (runs in worker processes for the corpus)
# --------------------------------------------------------------------------

@dataclass
class RoundTrip:
    name: str
    failures: list[str] = field(default_factory=list)
    equal: bool = False          # OUT loads equal to IN
    zst_equal: bool = False      # zstd -d of OUT.zst and OUT.zst read back both equal to IN
    checker_checked: bool = False
    ort_compared: bool = False
    notes: list[str] = field(default_factory=list)


def _load(path: str) -> onnx.ModelProto:
    return onnx.load(path)  # loads external data next to ``path``


def _compare_models(rt: RoundTrip, ref: onnx.ModelProto, path: str, what: str) -> bool:
    try:
        other = _load(path)
    except Exception as e:  # noqa: BLE001 - reported as a failure
        rt.failures.append(f"{what}: onnx.load failed: {type(e).__name__}: {str(e)[:200]}")
        return False
    if ref != other:
        rt.failures.append(f"{what}: differs from IN: {first_difference(ref, other)}")
        return False
    return True


def roundtrip_one(binary: str, model_path: str, name: str, corpus: bool = True,
                  work_root: str | None = None) -> RoundTrip:
    """Converts ``model_path`` with onnx-slim (plain and through .zst) and checks
    message equality, onnx.checker parity and bit-identical onnxruntime outputs.
    Failures are collected in the returned record, never raised."""
    rt = RoundTrip(name)
    work = tempfile.mkdtemp(prefix="rt-", dir=work_root)
    try:
        _roundtrip_into(rt, binary, model_path, corpus, work)
    except Exception as e:  # noqa: BLE001 - a crash of the checker itself is a failure too
        rt.failures.append(f"test harness error: {type(e).__name__}: {str(e)[:300]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rt


def _roundtrip_into(rt: RoundTrip, binary: str, model_path: str, corpus: bool, work: str):
    ref = _load(model_path)

    # 1. plain re-encode
    out = os.path.join(work, "out1.onnx")
    p = run_slim(binary, model_path, out)
    if p.returncode != 0:
        rt.failures.append(f"convert IN -> OUT: {describe_run(p)}")
        return
    rt.equal = _compare_models(rt, ref, out, "OUT")

    # 2. through a zstd frame: stock zstd decodes it, onnx-slim reads it back
    zst = os.path.join(work, "out2.onnx.zst")
    p = run_slim(binary, model_path, zst)
    if p.returncode != 0:
        rt.failures.append(f"convert IN -> OUT.zst: {describe_run(p)}")
    else:
        rt.zst_equal = True
        with open(zst, "rb") as f:
            magic = f.read(4)
        if magic != ZSTD_MAGIC:
            rt.failures.append(f"OUT.zst does not start with the zstd magic (got {magic.hex()})")
            rt.zst_equal = False
        dec = os.path.join(work, "dec2.onnx")
        z = subprocess.run(["zstd", "-d", "-q", "-f", zst, "-o", dec],
                           capture_output=True, text=True, timeout=TIMEOUT)
        if z.returncode != 0:
            rt.failures.append(f"zstd -d OUT.zst failed: {z.stderr.strip()[:200]}")
            rt.zst_equal = False
        else:
            rt.zst_equal &= _compare_models(rt, ref, dec, "zstd -d OUT.zst")
        back = os.path.join(work, "back3.onnx")
        p = run_slim(binary, zst, back)
        if p.returncode != 0:
            rt.failures.append(f"convert OUT.zst -> OUT2.onnx: {describe_run(p)}")
            rt.zst_equal = False
        else:
            rt.zst_equal &= _compare_models(rt, ref, back, "OUT.zst -> OUT2.onnx")

    # 3. checker parity
    try:
        onnx.checker.check_model(model_path, full_check=True)
        in_ok = True
    except Exception:  # noqa: BLE001 - IN is not checker-clean: nothing to compare
        in_ok = False
    if in_ok:
        rt.checker_checked = True
        try:
            onnx.checker.check_model(out, full_check=True)
        except Exception as e:  # noqa: BLE001
            rt.failures.append(f"check_model passes for IN but fails for OUT: {str(e)[:300]}")

    # 4. onnxruntime parity
    try:
        sess = ort_session(model_path)
        if corpus:
            feed = corpus_feed(ref, os.path.dirname(model_path))
        else:
            feed = random_feed(sess, ref)
        want = sess.run(None, feed)
        again = sess.run(None, feed)
    except Exception as e:  # noqa: BLE001 - ORT cannot run IN: nothing to compare
        rt.notes.append(f"ort: IN not runnable ({type(e).__name__})")
        return
    if bit_difference(want, again) is not None:
        rt.notes.append("ort: IN is nondeterministic")
        return
    rt.ort_compared = True
    try:
        got = run_outputs(out, feed)
    except Exception as e:  # noqa: BLE001
        rt.failures.append(f"onnxruntime runs IN but not OUT: {type(e).__name__}: {str(e)[:300]}")
        return
    d = bit_difference(want, got)
    if d:
        rt.failures.append(f"onnxruntime outputs differ: {d}")


def close_difference(a, b, rtol: float = 1e-5, atol: float = 1e-6,
                     where: str = "output") -> str | None:
    """None when ``a`` and ``b`` (arrays, lists, dicts, None) match: same dtype
    and shape, floats allclose(rtol, atol) with NaN == NaN, other types equal."""
    def leaf(x, y, w):
        if x.dtype.kind in "fc":
            if np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True):
                return None
            with np.errstate(invalid="ignore"):
                err = np.nanmax(np.abs(x.astype(np.complex128) - y.astype(np.complex128)))
            return f"{w}: not allclose (max |diff| {err:.3g})"
        return None if x.tolist() == y.tolist() else f"{w}: values differ"
    return _walk_difference(a, b, leaf, where)


# --------------------------------------------------------------------------
# one model's opset upgrade (runs in worker processes for the corpus)
# --------------------------------------------------------------------------

RANDOM_OPS = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
              "Multinomial", "Bernoulli"}


def default_opset(model: onnx.ModelProto) -> int | None:
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx"):
            return o.version
    return None


@dataclass
class OpsetUpgrade:
    name: str
    target: int
    failures: list[str] = field(default_factory=list)
    refused: str | None = None      # the one-line refusal message (exit 2)
    upgraded: bool = False          # exit 0 and OUT written
    checker_checked: bool = False   # IN passes check_model, so OUT must too
    ort_compared: bool = False
    mismatch: bool = False          # ORT outputs of OUT not close to IN's
    notes: list[str] = field(default_factory=list)


# exit 2 with one of these one-line messages is a deliberate refusal
REFUSAL_PATTERNS = (r"cannot upgrade \S+", r"upgrading from below \d+ is not supported")


def upgrade_one(binary: str, model_path: str, name: str, target: int,
                work_root: str | None = None) -> OpsetUpgrade:
    """Runs ``onnx-slim IN OUT --opset target``; checks a refusal is exit 2 with
    a one-line message, otherwise that OUT declares ``target``, passes
    onnx.checker full_check wherever IN does, and (where onnxruntime runs IN
    deterministically on test_data_set_0) gives outputs allclose to IN's.
    Failures are collected in the returned record, never raised."""
    import re
    r = OpsetUpgrade(name, target)
    work = tempfile.mkdtemp(prefix="up-", dir=work_root)
    try:
        out = os.path.join(work, "out.onnx")
        p = run_slim(binary, model_path, out, "--opset", target)
        err = p.stderr.strip()
        if p.returncode == 2 and any(re.search(pat, err) for pat in REFUSAL_PATTERNS):
            if "\n" in err:
                r.failures.append(f"refusal message is not one line: {err[:300]!r}")
            r.refused = err
            return r
        if p.returncode != 0:
            r.failures.append(f"convert --opset {target}: {describe_run(p)}")
            return r
        r.upgraded = True
        got_model = onnx.load(out)
        if default_opset(got_model) != target:
            r.failures.append(f"OUT declares opset {default_opset(got_model)}, not {target}")
        try:
            onnx.checker.check_model(model_path, full_check=True)
            in_ok = True
        except Exception:  # noqa: BLE001 - IN is not checker-clean: nothing to compare
            in_ok = False
            r.notes.append("IN fails check_model")
        if in_ok:
            r.checker_checked = True
            try:
                onnx.checker.check_model(out, full_check=True)
            except Exception as e:  # noqa: BLE001
                r.failures.append(f"check_model passes for IN but fails for OUT: "
                                  f"{str(e).strip().splitlines()[0][:250]}")
        ref = _load(model_path)
        ops = {n.op_type for g in iter_graphs(ref.graph) for n in g.node}
        if ops & RANDOM_OPS:
            r.notes.append("ort: random op, not compared")
            return r
        try:
            sess = ort_session(model_path)
            feed = corpus_feed(ref, os.path.dirname(model_path))
            want = sess.run(None, feed)
            again = sess.run(None, feed)
        except Exception as e:  # noqa: BLE001 - ORT cannot run IN: nothing to compare
            r.notes.append(f"ort: IN not runnable ({type(e).__name__})")
            return r
        if bit_difference(want, again) is not None:
            r.notes.append("ort: IN is nondeterministic")
            return r
        r.ort_compared = True
        try:
            got = run_outputs(out, feed)
        except Exception as e:  # noqa: BLE001
            msg = str(e).strip().replace(work, "<tmp>").splitlines()[0][:250]
            r.failures.append(f"onnxruntime runs IN but not OUT: {msg}")
            return r
        d = close_difference(want, got, 1e-5, 1e-6)
        if d:
            r.mismatch = True
            r.failures.append(f"onnxruntime outputs differ: {d}")
    except Exception as e:  # noqa: BLE001 - a crash of the checker itself is a failure too
        r.failures.append(f"test harness error: {type(e).__name__}: {str(e)[:300]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return r


def signature(m: onnx.ModelProto):
    """The graph inputs that are not weights, and the outputs, with their element types: what a
    structural pass (pruning, low-rank) must leave as it was."""
    weights = {t.name for t in m.graph.initializer}
    ios = [(v.name, v.type.tensor_type.elem_type) for v in m.graph.input if v.name not in weights]
    return ios, [(v.name, v.type.tensor_type.elem_type) for v in m.graph.output]


def assert_valid_same_signature_runs(src: str, out: str, seed: int = 1) -> None:
    """`out` passes the full checker, keeps `src`'s signature and runs in onnxruntime on
    random inputs with outputs of the same shapes and types, all finite."""
    onnx.checker.check_model(str(out), full_check=True)
    a, b = onnx.load(str(src), load_external_data=False), onnx.load(str(out), load_external_data=False)
    assert signature(a) == signature(b)
    sa, sb = ort_session(str(src)), ort_session(str(out))
    feed = random_feed(sa, a, seed=seed)
    for x, y in zip(sa.run(None, feed), sb.run(None, feed)):
        assert x.shape == y.shape and x.dtype == y.dtype and np.isfinite(y).all()
