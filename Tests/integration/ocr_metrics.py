"""Task-level accuracy of the PP-OCR models (scripts/models/trained_models.py: ppocr_rec,
ppocr_cls) on the rendered text lines (data set text_lines: 120 snippets of gensim's Lee corpus).

Each `*_metrics(path, float_path)` runs the model at `path` (the float model or a compressed one)
and the float reference at `float_path` in onnxruntime (one thread, default graph optimization)
on the same inputs and returns a dict of floats. Float reference outputs are computed once per
process (keyed by the float model's path, size and mtime).

Preprocessing and decoding are rapidocr_onnxruntime 1.4.4's (ch_ppocr_rec/text_recognize.py,
ch_ppocr_rec/utils.py, ch_ppocr_cls/text_cls.py), without OpenCV:
  the image as BGR uint8 (rapidocr's LoadImage turns PIL's RGB into BGR), resized to height 48
  by bilinear interpolation with half-pixel centres and no antialiasing (cv2.INTER_LINEAR, here in
  numpy: values may differ from OpenCV's fixed-point rounding by one level), (x/255 - 0.5) / 0.5
  in CHW, zero-padded on the right.
  rec: width ceil(48 w / h), capped at and padded to int(48 max(320/48, w/h)); one line per run
       (a batch of one, so no line is padded to another's width). CTC greedy decoding: argmax per
       step, repeats merged, the blank (class 0) dropped, class k >= 1 -> keys.txt line k.
  cls: width ceil(48 w / h) capped at 192 (long lines squeezed), padded to 192; argmax over
       ['0', '180']. Each line is classified upright and rotated by 180 degrees.

  ppocr_rec_metrics   exact_match        decoded text (spaces at the ends stripped) == label
                      char_accuracy      1 - sum of Levenshtein distances / sum of label lengths
                      agree_float        decoded text identical to the float model's
                      exact_match_float, char_accuracy_float: the float model's values
  ppocr_cls_metrics   accuracy           predicted orientation correct (240 images)
                      agree_float        prediction equal to the float model's
                      accuracy_float     the float model's accuracy

`write_rec_calibration(folder)` / `write_cls_calibration(folder)` write 16 of the preprocessed
lines as `--calibration` sample folders (x.npy each).
"""
from __future__ import annotations

import math
import os
import sys

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "..", "scripts", "models"))
import trained_models  # noqa: E402
# One onnxruntime session rule and one cache of float reference outputs for every task metric.
from task_metrics import _reference, session  # noqa: E402

REC_HEIGHT, REC_MIN_WIDTH = 48, 320
CLS_SHAPE = (3, 48, 192)
CLS_LABELS = ["0", "180"]
BATCH = 16
CALIBRATION_SAMPLES = 16
PRIMARY = {"ppocr_rec": "exact_match", "ppocr_cls": "accuracy"}

_INPUTS: dict = {}


# ------------------------------------------------------------------------------------ running

def _same(path: str, float_path: str) -> bool:
    return os.path.realpath(path) == os.path.realpath(float_path)


# ------------------------------------------------------------------------------------- inputs

def text_lines() -> list[tuple[str, str, np.ndarray]]:
    """(file, label, BGR uint8 [h, w, 3]) of every rendered line, in labels.tsv order."""
    from PIL import Image
    if "lines" not in _INPUTS:
        d = trained_models.ensure("text_lines")
        with open(d["labels.tsv"], encoding="utf-8") as f:
            rows = [line.rstrip("\n").split("\t") for line in f][1:]
        out = []
        for row in rows:
            with Image.open(os.path.join(d["dir"], row[0])) as im:
                rgb = np.asarray(im.convert("RGB"))
            out.append((row[0], row[1], np.ascontiguousarray(rgb[:, :, ::-1])))
        _INPUTS["lines"] = out
    return _INPUTS["lines"]


def resize_linear(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """cv2.resize(img, (width, height)) with INTER_LINEAR: half-pixel centres, edge clamped, no
    antialiasing; uint8 out, rounded."""
    h, w = img.shape[:2]

    def axis(n_out: int, n_in: int):
        src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
        src = np.maximum(src, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, (src - i0)

    y0, y1, fy = axis(height, h)
    x0, x1, fx = axis(width, w)
    a = img.astype(np.float64)
    rows = a[y0] * (1 - fy)[:, None, None] + a[y1] * fy[:, None, None]
    out = rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _normalise(resized: np.ndarray, channels: int, height: int, width: int) -> np.ndarray:
    x = resized.astype(np.float32).transpose(2, 0, 1) / 255
    x -= 0.5
    x /= 0.5
    pad = np.zeros((channels, height, width), np.float32)
    pad[:, :, :x.shape[2]] = x
    return pad


def rec_input(img: np.ndarray) -> np.ndarray:
    """[1, 3, 48, W] as TextRecognizer.resize_norm_img prepares a batch of one."""
    h, w = img.shape[:2]
    max_wh_ratio = max(REC_MIN_WIDTH / REC_HEIGHT, w / h)
    width = int(REC_HEIGHT * max_wh_ratio)
    resized_w = min(width, int(math.ceil(REC_HEIGHT * w / h)))
    return _normalise(resize_linear(img, resized_w, REC_HEIGHT), 3, REC_HEIGHT, width)[None]


def cls_input(img: np.ndarray) -> np.ndarray:
    """[3, 48, 192] as TextClassifier.resize_norm_img prepares it."""
    c, height, width = CLS_SHAPE
    h, w = img.shape[:2]
    resized_w = min(width, int(math.ceil(height * w / h)))
    return _normalise(resize_linear(img, resized_w, height), c, height, width)


def _rec_inputs() -> list[np.ndarray]:
    if "rec" not in _INPUTS:
        _INPUTS["rec"] = [rec_input(img) for _, _, img in text_lines()]
    return _INPUTS["rec"]


def _cls_inputs() -> tuple[np.ndarray, np.ndarray]:
    """[240, 3, 48, 192] (line i upright at 2i, rotated by 180 degrees at 2i + 1) and the labels
    (index into CLS_LABELS)."""
    if "cls" not in _INPUTS:
        xs, labels = [], []
        for _, _, img in text_lines():
            xs += [cls_input(img), cls_input(np.ascontiguousarray(img[::-1, ::-1]))]
            labels += [0, 1]
        _INPUTS["cls"] = (np.stack(xs), np.array(labels))
    return _INPUTS["cls"]


# ---------------------------------------------------------------------------------- decoding

def keys() -> list[str]:
    if "keys" not in _INPUTS:
        _INPUTS["keys"] = trained_models.read_keys(trained_models.ensure("ppocr_rec")["keys"])
    return _INPUTS["keys"]


def ctc_greedy(probs: np.ndarray, table: list[str]) -> str:
    """[T, classes] -> text: argmax per step, repeats merged, blank (0) dropped."""
    idx = probs.argmax(axis=1)
    keep = np.ones(len(idx), bool)
    keep[1:] = idx[1:] != idx[:-1]
    keep &= idx != 0
    return "".join(table[int(k) - 1] for k in idx[keep])


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


# ------------------------------------------------------------------------------------- metrics

def ppocr_rec_texts(path: str) -> list[str]:
    """The decoded text of every line (ends stripped of spaces)."""
    sess = session(path)
    name = sess.get_inputs()[0].name
    table = keys()
    return [ctc_greedy(sess.run(None, {name: x})[0][0], table).strip(" ") for x in _rec_inputs()]


def _rec_scores(texts: list[str]) -> tuple[float, float]:
    labels = [label.strip(" ") for _, label, _ in text_lines()]
    exact = float(np.mean([t == lab for t, lab in zip(texts, labels)]))
    errors = sum(edit_distance(t, lab) for t, lab in zip(texts, labels))
    return exact, 1.0 - errors / sum(len(lab) for lab in labels)


def ppocr_rec_metrics(path: str, float_path: str) -> dict:
    ref = _reference("ppocr_rec", float_path, ppocr_rec_texts)
    got = ref if _same(path, float_path) else ppocr_rec_texts(path)
    exact, chars = _rec_scores(got)
    exact_f, chars_f = _rec_scores(ref)
    return {"exact_match": exact, "char_accuracy": chars,
            "agree_float": float(np.mean([a == b for a, b in zip(got, ref)])),
            "exact_match_float": exact_f, "char_accuracy_float": chars_f, "lines": float(len(got))}


def ppocr_cls_predictions(path: str) -> np.ndarray:
    """Predicted label index of every image of _cls_inputs()."""
    x, _ = _cls_inputs()
    sess = session(path)
    name = sess.get_inputs()[0].name
    probs = np.concatenate([sess.run(None, {name: x[i:i + BATCH]})[0] for i in range(0, len(x), BATCH)])
    return probs.argmax(axis=1)


def ppocr_cls_metrics(path: str, float_path: str) -> dict:
    _, labels = _cls_inputs()
    ref = _reference("ppocr_cls", float_path, ppocr_cls_predictions)
    got = ref if _same(path, float_path) else ppocr_cls_predictions(path)
    return {"accuracy": float((got == labels).mean()), "agree_float": float((got == ref).mean()),
            "accuracy_float": float((ref == labels).mean()), "images": float(len(got))}


METRICS = {"ppocr_rec": ppocr_rec_metrics, "ppocr_cls": ppocr_cls_metrics}


def ocr_metrics(name: str, path: str, float_path: str) -> dict:
    return METRICS[name](path, float_path)


# ---------------------------------------------------------------------------------- calibration

def calibration_lines(count: int = CALIBRATION_SAMPLES) -> list[int]:
    """Indices of `count` lines spread evenly over the 120 (they are evaluated too)."""
    n = len(text_lines())
    return [int(i) for i in np.linspace(0, n - 1, count).round()]


def write_rec_calibration(folder: str, count: int = CALIBRATION_SAMPLES) -> str:
    """`count` preprocessed lines, one sub-folder each with x.npy [1, 3, 48, W] (each line's own
    width), as `--calibration` reads."""
    xs = _rec_inputs()
    for k, i in enumerate(calibration_lines(count)):
        sample = os.path.join(folder, f"{k:03d}")
        os.makedirs(sample, exist_ok=True)
        np.save(os.path.join(sample, "x.npy"), xs[i])
    return folder


def write_cls_calibration(folder: str, count: int = CALIBRATION_SAMPLES) -> str:
    """The same lines for the classifier, every other one rotated by 180 degrees: x.npy
    [1, 3, 48, 192] per sub-folder."""
    x, _ = _cls_inputs()
    for k, i in enumerate(calibration_lines(count)):
        sample = os.path.join(folder, f"{k:03d}")
        os.makedirs(sample, exist_ok=True)
        np.save(os.path.join(sample, "x.npy"), x[2 * i + (k % 2)][None])
    return folder
