"""Language-model metrics through onnxruntime, for decoder LMs such as SmolLM2-135M
(scripts/models/smollm2_gguf_to_onnx.py).

  lee_background_text()   English news text (gensim's test corpus lee_background.cor, ~360 kB),
                          read from the pinned gensim wheel (downloaded with pip, not installed)
  tokenize(text, tok)     token ids with a tokenizer.json (the `tokenizers` package)
  perplexity(model, ids)  exp(mean next-token NLL) of a full-sequence model (input_ids -> logits)
                          over non-overlapping windows of `ctx` tokens
  kv_agreement(full, kv)  greedy decoding with a past_key_values model against the full-sequence
                          model recomputing every step: max |logit diff| and the two token lists
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import numpy as np

GENSIM = "gensim==4.4.0"
LEE_MEMBER = "gensim/test/test_data/lee_background.cor"


def cache_dir() -> str:
    return os.environ.get("ONNX_SLIM_MODEL_CACHE") or os.path.expanduser("~/.cache/onnx-slim/models")


def _gensim_wheel() -> str:
    folder = os.path.join(cache_dir(), "wheels")
    prefix = "gensim-" + GENSIM.split("==")[1] + "-"
    found = sorted(f for f in os.listdir(folder) if f.startswith(prefix) and f.endswith(".whl")) \
        if os.path.isdir(folder) else []
    if not found:
        os.makedirs(folder, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                        "--disable-pip-version-check", "-q", "-d", folder, GENSIM], check=True)
        found = sorted(f for f in os.listdir(folder) if f.startswith(prefix) and f.endswith(".whl"))
    return os.path.join(folder, found[0])


def lee_background_text() -> str:
    with zipfile.ZipFile(_gensim_wheel()) as z:
        return z.read(LEE_MEMBER).decode("utf-8")


def tokenize(text: str, tokenizer_json: str) -> list[int]:
    from tokenizers import Tokenizer
    return Tokenizer.from_file(tokenizer_json).encode(text).ids


def session(path: str, threads: int | None = None):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = x.max(-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))


def window_nlls(model, tokens, ctx: int = 128, max_windows: int | None = None, batch: int = 4):
    """Mean next-token NLL of each non-overlapping window of `ctx` tokens (ctx - 1 predictions
    each). `model` is a path or an onnxruntime session of a model input_ids -> logits."""
    sess = session(model) if isinstance(model, str) else model
    tokens = np.asarray(tokens, dtype=np.int64)
    n = len(tokens) // ctx
    if max_windows is not None:
        n = min(n, max_windows)
    if n == 0:
        raise ValueError(f"{len(tokens)} tokens make no window of {ctx}")
    windows = tokens[: n * ctx].reshape(n, ctx)
    out = []
    for i in range(0, n, batch):
        ids = windows[i:i + batch]
        logits = sess.run(["logits"], {"input_ids": ids})[0]
        lp = _log_softmax(logits[:, :-1])
        nll = -np.take_along_axis(lp, ids[:, 1:, None], axis=-1)[..., 0]
        out.extend(nll.mean(axis=1).tolist())
    return out


def perplexity(model, tokens, ctx: int = 128, max_windows: int | None = None, batch: int = 4) -> float:
    """exp(mean NLL) over the windows (each window weighs the same: they have equal length)."""
    return float(np.exp(np.mean(window_nlls(model, tokens, ctx, max_windows, batch))))


def empty_past(kv_sess, batch: int):
    feeds = {}
    for i in kv_sess.get_inputs():
        if i.name.startswith("past_key_values."):
            heads, dim = i.shape[1], i.shape[3]
            feeds[i.name] = np.zeros((batch, heads, 0, dim), np.float32)
    return feeds


def kv_agreement(full_model, kv_model, prompt, steps: int = 16) -> dict:
    """Greedy decoding of `steps` tokens after `prompt` twice: with the KV model (the prompt in one
    call from an empty past, then one token per call feeding present back as past) and with the
    full-sequence model rerun on the whole sequence each step. Compares the KV model's logits with
    the full model's at the same positions (the prompt's too). Returns max_abs_diff (over all
    compared logits), max_rel_diff (relative to max |logit|), tokens_kv, tokens_full,
    same_tokens, and argmax_agree (fraction of compared positions whose argmax matches)."""
    full = session(full_model) if isinstance(full_model, str) else full_model
    kv = session(kv_model) if isinstance(kv_model, str) else kv_model
    present_names = [o.name for o in kv.get_outputs()][1:]
    past_names = [n.replace("present.", "past_key_values.") for n in present_names]

    prompt = np.asarray(prompt, dtype=np.int64)[None]
    feeds = {"input_ids": prompt, "attention_mask": np.ones_like(prompt), **empty_past(kv, 1)}
    outs = kv.run(None, feeds)
    kv_logits = [outs[0][0]]
    past = dict(zip(past_names, outs[1:]))
    seq = prompt[0].tolist()
    tokens_kv = []
    for _ in range(steps):
        tok = int(np.argmax(kv_logits[-1][-1]))
        tokens_kv.append(tok)
        seq.append(tok)
        feeds = {"input_ids": np.array([[tok]], np.int64),
                 "attention_mask": np.ones((1, len(seq)), np.int64), **past}
        outs = kv.run(None, feeds)
        kv_logits.append(outs[0][0])
        past = dict(zip(past_names, outs[1:]))
    kv_all = np.concatenate(kv_logits, axis=0)  # [len(prompt) + steps, vocab]

    # full-sequence model: greedy on its own, then its logits over the KV model's sequence
    fseq = prompt[0].tolist()
    tokens_full = []
    for _ in range(steps):
        logits = full.run(["logits"], {"input_ids": np.array([fseq], np.int64)})[0][0]
        tokens_full.append(int(np.argmax(logits[-1])))
        fseq.append(tokens_full[-1])
    full_all = full.run(["logits"], {"input_ids": np.array([seq], np.int64)})[0][0]

    diff = np.abs(kv_all - full_all)
    return {"max_abs_diff": float(diff.max()),
            "max_rel_diff": float(diff.max() / np.abs(full_all).max()),
            "tokens_kv": tokens_kv, "tokens_full": tokens_full,
            "same_tokens": tokens_kv == tokens_full,
            "argmax_agree": float(np.mean(kv_all.argmax(-1) == full_all.argmax(-1)))}
