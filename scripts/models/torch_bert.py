#!/usr/bin/env python3
"""A BERT-family transformer exported by PyTorch, as users have them.

Builds `transformers.BertModel` from a config (weights from the seeded random initialisation:
this machine reaches no model hub) and exports it with torch.onnx.export (the TorchScript
exporter, opset 17, dynamic batch and sequence), the way most BERT ONNX files in the wild were
made: embeddings as Gather, LayerNormalization, MatMul + Add, Erf GELU, the attention mask
built with Where/IsNaN, shapes computed at run time.

Sizes: --size small (4 layers, hidden 256, ~15 MB; the test suite) or base (12 layers, hidden 768,
vocab 30522, ~420 MB; the calibration memory benchmark).

Usage: python torch_bert.py OUT.onnx [--size small|base] [--seed N]
"""
import argparse
import os
import sys
import tempfile

SIZES = {
    "small": dict(vocab_size=2000, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                  intermediate_size=1024, max_position_embeddings=256),
    "base": dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, max_position_embeddings=512),
}
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


def export(path, size="small", seed=0):
    """Writes the exported model to `path` (atomically) and returns its vocabulary size."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    config = BertConfig(**SIZES[size])
    bert = BertModel(config).eval()

    class Wrapper(torch.nn.Module):
        """Positional inputs and a tuple of outputs, as torch.onnx.export expects."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state, out.pooler_output

    ids = torch.randint(0, config.vocab_size, (1, 16))
    args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    dynamic = {name: {0: "batch", 1: "sequence"} for name in INPUTS}
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=folder)
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(Wrapper(bert), args, tmp, input_names=INPUTS,
                              output_names=["last_hidden_state", "pooler_output"],
                              dynamic_axes=dynamic, opset_version=17, dynamo=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return config.vocab_size


def sample(rng, vocab, seq=128, batch=1):
    """One input set: random token ids, a full attention mask, two segments."""
    import numpy as np
    ids = rng.integers(0, vocab, (batch, seq)).astype(np.int64)
    segments = (np.arange(seq) >= seq // 2).astype(np.int64)[None, :].repeat(batch, 0)
    return {"input_ids": ids, "attention_mask": np.ones((batch, seq), np.int64), "token_type_ids": segments}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    import warnings
    warnings.filterwarnings("ignore")
    vocab = export(a.out, a.size, a.seed)
    print(f"wrote {a.out} ({os.path.getsize(a.out) / 1e6:.1f} MB, vocab {vocab})", file=sys.stderr)


if __name__ == "__main__":
    main()
