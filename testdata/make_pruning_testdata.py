#!/usr/bin/env python3
"""Generate small ONNX models for onnx-slim's structured-pruning tests.

Usage (from the repository root):

    python testdata/make_pruning_testdata.py [--out testdata/pruning]

Needs torch (cpu), transformers, onnx, onnxruntime and numpy; the dynamo
exporter (`bert_dynamo.onnx`) also needs `onnxscript` (pip install
onnxscript==0.7.2, which pulls in onnx-ir).  Generated with torch 2.13.0+cpu,
transformers 5.23.0, onnx 1.23.2, onnxruntime 1.31.1, onnxscript 0.7.2.

Every model is built from fixed seeds (torch.manual_seed(0) / numpy seed 0
before each model), float32, exported with a dynamic batch axis (and a
dynamic sequence axis for the transformers), checked with
onnx.checker.check_model(full_check=True), run once in onnxruntime on inputs
whose batch/sequence sizes differ from the export example and compared with
the torch output.  Re-running overwrites the files with identical bytes.
A table (file, size in KB, op-type counts) is printed at the end, and
README.md is (re)written next to the models.
"""

import argparse
import collections
import hashlib
import math
import os
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import torch
from torch import nn

warnings.filterwarnings("ignore")

OPSET = 17
SEED = 0
# example sizes used for export, and different sizes used for the checks
EXPORT_BATCH, EXPORT_SEQ = 2, 8
CHECK_BATCH, CHECK_SEQ = 3, 5
MAX_BYTES = 1 << 20

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "pruning")


def seed_all(seed=SEED):
    torch.manual_seed(seed)
    np.random.seed(seed)


def randomize_parameters(model, seed=SEED):
    """Give every parameter distinct, non-trivial random values.

    transformers initialises biases to 0 and norm weights to 1; identical
    tensors are merged into one shared initializer by the dynamo exporter's
    optimizer (every zero bias would become `...LayerNorm.bias`), and zero
    biases hide pruning mistakes.  Matrices get N(0, 1/fan_in), 1-D norm
    weights 1 + N(0, 0.1^2), other 1-D parameters (biases) N(0, 0.1^2).
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
            elif name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
    return model


def remove_stale(path):
    for p in (path, path + ".data"):
        if os.path.exists(p):
            os.remove(p)


def torchscript_export(model, args, path, input_names, output_names,
                       dynamic_axes, do_constant_folding=True):
    remove_stale(path)
    torch.onnx.export(
        model, args, path, dynamo=False, opset_version=OPSET,
        input_names=input_names, output_names=output_names,
        dynamic_axes=dynamic_axes, do_constant_folding=do_constant_folding)


def dynamo_export(model, args, path, input_names, output_names,
                  dynamic_shapes):
    remove_stale(path)
    program = torch.onnx.export(
        model, args, dynamo=True, opset_version=OPSET,
        input_names=input_names, output_names=output_names,
        dynamic_shapes=dynamic_shapes, verbose=False, optimize=True)
    program.save(path, external_data=False)


# --------------------------------------------------------------------------
# 1. hand-written transformer encoder layer (TorchScript exporter)
# --------------------------------------------------------------------------

class EncoderLayer(nn.Module):
    """Post-LN encoder layer: hidden 32, 4 heads of 8, FFN 64, erf-GELU."""

    def __init__(self, hidden=32, heads=4, ffn=64):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.q = nn.Linear(hidden, hidden)
        self.k = nn.Linear(hidden, hidden)
        self.v = nn.Linear(hidden, hidden)
        self.o = nn.Linear(hidden, hidden)
        self.ln1 = nn.LayerNorm(hidden)
        self.fc1 = nn.Linear(hidden, ffn)
        self.act = nn.GELU()            # approximate='none' -> Erf
        self.fc2 = nn.Linear(ffn, hidden)
        self.ln2 = nn.LayerNorm(hidden)

    def split(self, t, b, s):
        return t.view(b, s, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x):
        b, s, h = x.shape
        q = self.split(self.q(x), b, s)
        k = self.split(self.k(x), b, s)
        v = self.split(self.v(x), b, s)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
        ctx = ctx.transpose(1, 2).reshape(b, s, h)
        x = self.ln1(x + self.o(ctx))
        x = self.ln2(x + self.fc2(self.act(self.fc1(x))))
        return x


def make_ffn_torchscript(out):
    seed_all()
    model = randomize_parameters(EncoderLayer()).eval()
    path = os.path.join(out, "ffn_torchscript.onnx")
    x = torch.randn(EXPORT_BATCH, EXPORT_SEQ, 32)
    torchscript_export(model, (x,), path, ["x"], ["y"],
                       {"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}})
    xc = torch.randn(CHECK_BATCH, CHECK_SEQ, 32)
    with torch.no_grad():
        ref = model(xc).numpy()
    return path, {"x": xc.numpy()}, ref


# --------------------------------------------------------------------------
# 2. transformers BertModel (TorchScript and dynamo exporters)
# --------------------------------------------------------------------------

class BertWrapper(nn.Module):
    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask):
        return self.bert(input_ids=input_ids,
                         attention_mask=attention_mask).last_hidden_state


# transformers' default attention implementation ("sdpa"): what a user of
# transformers 5 gets.  "eager" is used only for attention_fused.onnx, because
# the ONNX Runtime optimizer does not fuse the exported sdpa pattern.
BERT_ATTN = "sdpa"


def build_bert(attn_implementation=BERT_ATTN):
    from transformers import BertConfig, BertModel
    seed_all()
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=64,
                        max_position_embeddings=64, hidden_act="gelu",
                        attn_implementation=attn_implementation)
    bert = BertModel(config, add_pooling_layer=False)
    randomize_parameters(bert)
    return BertWrapper(bert).eval()


def bert_inputs(batch, seq, gen):
    ids = torch.randint(0, 100, (batch, seq), generator=gen)
    mask = torch.ones(batch, seq, dtype=torch.int64)
    mask[0, seq - 2:] = 0          # some padding in the first row
    return ids, mask


def bert_check(model):
    gen = torch.Generator().manual_seed(1)
    ids, mask = bert_inputs(CHECK_BATCH, CHECK_SEQ, gen)
    with torch.no_grad():
        ref = model(ids, mask).numpy()
    return {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}, ref


def make_bert_torchscript(out, filename="bert_torchscript.onnx",
                          attn_implementation=BERT_ATTN):
    model = build_bert(attn_implementation)
    path = os.path.join(out, filename)
    gen = torch.Generator().manual_seed(0)
    args = bert_inputs(EXPORT_BATCH, EXPORT_SEQ, gen)
    axes = {0: "batch", 1: "seq"}
    torchscript_export(model, args, path,
                       ["input_ids", "attention_mask"], ["last_hidden_state"],
                       {"input_ids": axes, "attention_mask": axes,
                        "last_hidden_state": axes})
    feeds, ref = bert_check(model)
    return path, feeds, ref


def make_bert_dynamo(out):
    from torch.export import Dim
    model = build_bert()
    path = os.path.join(out, "bert_dynamo.onnx")
    gen = torch.Generator().manual_seed(0)
    args = bert_inputs(EXPORT_BATCH, EXPORT_SEQ, gen)
    batch, seq = Dim("batch"), Dim("seq", max=64)
    dynamo_export(model, args, path,
                  ["input_ids", "attention_mask"], ["last_hidden_state"],
                  {"input_ids": {0: batch, 1: seq},
                   "attention_mask": {0: batch, 1: seq}})
    feeds, ref = bert_check(model)
    return path, feeds, ref


# --------------------------------------------------------------------------
# 3. transformers LlamaForCausalLM with grouped-query attention
# --------------------------------------------------------------------------

class LlamaWrapper(nn.Module):
    def __init__(self, llama):
        super().__init__()
        self.llama = llama

    def forward(self, input_ids):
        # An explicit all-ones attention_mask: without one, transformers'
        # create_causal_mask probes position_ids for packed sequences with
        # torch.diff (aten::diff), which the TorchScript exporter cannot export.
        mask = torch.ones_like(input_ids)
        return self.llama(input_ids=input_ids, attention_mask=mask,
                          use_cache=False).logits


def make_llama_gqa(out):
    from transformers import LlamaConfig, LlamaForCausalLM
    seed_all()
    config = LlamaConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2,
                         head_dim=8, intermediate_size=48,
                         max_position_embeddings=64, hidden_act="silu",
                         use_cache=False, tie_word_embeddings=False)
    llama = randomize_parameters(LlamaForCausalLM(config))
    model = LlamaWrapper(llama).eval()
    path = os.path.join(out, "llama_gqa.onnx")
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 100, (EXPORT_BATCH, EXPORT_SEQ), generator=gen)
    axes = {0: "batch", 1: "seq"}
    torchscript_export(model, (ids,), path, ["input_ids"], ["logits"],
                       {"input_ids": axes, "logits": axes})
    idc = torch.randint(0, 100, (CHECK_BATCH, CHECK_SEQ), generator=gen)
    with torch.no_grad():
        ref = model(idc).numpy()
    return path, {"input_ids": idc.numpy()}, ref


# --------------------------------------------------------------------------
# 4. small CNN with residual / depthwise / SE / concat / split couplings
# --------------------------------------------------------------------------

def conv_bn(cin, cout, k=3, stride=1, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = conv_bn(c, c)
        self.conv2 = conv_bn(c, c, relu=False)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.conv2(self.conv1(x)) + x)


class SqueezeExcite(nn.Module):
    def __init__(self, c, r=4):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)     # -> GlobalAveragePool
        self.fc1 = nn.Conv2d(c, c // r, 1)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv2d(c // r, c, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        return x * self.gate(self.fc2(self.relu(self.fc1(self.pool(x)))))


class CSPConcat(nn.Module):
    """Two branches concatenated along channels, then a 1x1 conv."""

    def __init__(self, c):
        super().__init__()
        self.a = conv_bn(c, c // 2, k=1)
        self.b = conv_bn(c, c // 2, k=3)
        self.fuse = conv_bn(c, c, k=1)

    def forward(self, x):
        return self.fuse(torch.cat([self.a(x), self.b(x)], dim=1))


class SplitConcat(nn.Module):
    """Split along channels -> two convs -> Concat.

    torch.split with explicit sizes exports as one Split node; torch.chunk
    would export (TorchScript exporter, torch 2.13) as two Slices whose
    bounds are computed from Shape -> Gather -> Add -> Div -> Mul.
    """

    def __init__(self, c):
        super().__init__()
        self.a = conv_bn(c // 2, c // 2)
        self.b = conv_bn(c // 2, c // 2, k=1)

    def forward(self, x):
        half = self.a[0].in_channels
        x1, x2 = torch.split(x, [half, half], dim=1)
        return torch.cat([self.a(x1), self.b(x2)], dim=1)


class SmallCNN(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = conv_bn(3, 8)                          # 8 x 16 x 16
        self.res = ResidualBlock(8)
        self.dw = conv_bn(8, 8, k=3, stride=2, groups=8)   # 8 x 8 x 8
        self.pw = conv_bn(8, 16, k=1)                      # 16 x 8 x 8
        self.se = SqueezeExcite(16)
        self.csp = CSPConcat(16)
        self.split = SplitConcat(16)
        self.down = conv_bn(16, 8, k=3, stride=2)          # 8 x 4 x 4
        self.up = nn.Upsample(scale_factor=2, mode="nearest")  # 8 x 8 x 8
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(8 * 8 * 8, classes)

    def forward(self, x):
        x = self.res(self.stem(x))
        x = self.se(self.pw(self.dw(x)))
        x = self.split(self.csp(x))
        x = self.up(self.down(x))
        return self.fc(self.flatten(x))


def build_cnn():
    seed_all()
    model = SmallCNN()
    # non-trivial BatchNorm statistics and affine parameters
    g = torch.Generator().manual_seed(2)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
            m.running_var.copy_(0.5 + torch.rand(c, generator=g))
            m.weight.data.copy_(1.0 + 0.1 * torch.randn(c, generator=g))
            m.bias.data.copy_(0.1 * torch.randn(c, generator=g))
    return model.eval()


def make_cnn(out, fused):
    model = build_cnn()
    name = "cnn_residual_fused.onnx" if fused else "cnn_residual.onnx"
    path = os.path.join(out, name)
    x = torch.randn(EXPORT_BATCH, 3, 16, 16)
    # The TorchScript exporter folds BatchNormalization into the preceding
    # Conv in its eval peephole pass, which only runs together with constant
    # folding: do_constant_folding=False keeps the BatchNormalization nodes.
    torchscript_export(model, (x,), path, ["input"], ["output"],
                       {"input": {0: "batch"}, "output": {0: "batch"}},
                       do_constant_folding=fused)
    xc = torch.randn(CHECK_BATCH, 3, 16, 16,
                     generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = model(xc).numpy()
    n_bn = sum(n.op_type == "BatchNormalization"
               for n in onnx.load(path).graph.node)
    if fused and n_bn:
        raise RuntimeError(f"{name}: expected BN folded, found {n_bn} BN nodes")
    if not fused and not n_bn:
        raise RuntimeError(f"{name}: expected BatchNormalization nodes")
    return path, {"input": xc.numpy()}, ref


# --------------------------------------------------------------------------
# 5. Paddle-style NHWC CNN built with onnx.helper, weights in Constant nodes
# --------------------------------------------------------------------------

def make_cnn_constant_weights_nhwc(out):
    rng = np.random.default_rng(SEED)
    nodes = []
    counter = collections.Counter()

    def name(op):
        k = counter[op]
        counter[op] += 1
        return f"p2o.{op}.{k}"

    consts = {}

    def const(cname, array):
        consts[cname] = np.asarray(array)
        nodes.append(helper.make_node(
            "Constant", [], [cname], name=name("Constant"),
            value=numpy_helper.from_array(np.asarray(array), name=cname)))
        return cname

    def node(op, inputs, output, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], name=name(op),
                                      **attrs))
        return output

    def w(*shape):
        fan_in = int(np.prod(shape[1:]))
        return (rng.standard_normal(shape) / math.sqrt(fan_in)).astype(np.float32)

    def decomposed_bn(prefix, x, c):
        """(x - mean) * (gamma / sqrt(var + eps)) + beta, constants [1,C,1,1]."""
        gamma = 1.0 + 0.1 * rng.standard_normal(c)
        beta = 0.1 * rng.standard_normal(c)
        mean = 0.1 * rng.standard_normal(c)
        var = rng.uniform(0.5, 1.5, c)
        scale = gamma / np.sqrt(var + 1e-5)
        shp = (1, c, 1, 1)
        m = const(f"{prefix}.mean", mean.reshape(shp).astype(np.float32))
        s = const(f"{prefix}.scale", scale.reshape(shp).astype(np.float32))
        b = const(f"{prefix}.bias", beta.reshape(shp).astype(np.float32))
        t = node("Sub", [x, m], f"{prefix}.tmp_0")
        t = node("Mul", [t, s], f"{prefix}.tmp_1")
        return node("Add", [t, b], f"{prefix}.tmp_2")

    t = node("Transpose", ["x"], "transpose_0.tmp_0", perm=[0, 3, 1, 2])
    cw0 = const("conv2d_0.w_0", w(8, 3, 3, 3))
    t = node("Conv", [t, cw0], "conv2d_0.tmp_0", kernel_shape=[3, 3],
             pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1)
    t = decomposed_bn("batch_norm_0", t, 8)
    t = node("Relu", [t], "relu_0.tmp_0")
    cw1 = const("conv2d_1.w_0", w(16, 8, 3, 3))
    cb1 = const("conv2d_1.b_0", (0.05 * rng.standard_normal(16)).astype(np.float32))
    t = node("Conv", [t, cw1, cb1], "conv2d_1.tmp_1", kernel_shape=[3, 3],
             pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1)
    t = node("Transpose", [t], "transpose_1.tmp_0", perm=[0, 2, 3, 1])
    t = node("ReduceMean", [t], "mean_0.tmp_0", axes=[1, 2], keepdims=0)
    fw = const("linear_0.w_0", w(16, 10))            # Paddle stores [in, out]
    fb = const("linear_0.b_0", (0.05 * rng.standard_normal(10)).astype(np.float32))
    t = node("MatMul", [t, fw], "linear_0.tmp_0")
    node("Add", [t, fb], "linear_0.tmp_1")

    graph = helper.make_graph(
        nodes, "paddle_nhwc_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16, 16, 3])],
        [helper.make_tensor_value_info("linear_0.tmp_1", TensorProto.FLOAT,
                                       ["batch", 10])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="PaddlePaddle", producer_version="")
    model.ir_version = 8
    path = os.path.join(out, "cnn_constant_weights_nhwc.onnx")
    remove_stale(path)
    onnx.save_model(model, path)

    # reference computed with torch from the same constants
    x = np.random.default_rng(1).standard_normal((CHECK_BATCH, 16, 16, 3)).astype(np.float32)
    c = {k: torch.from_numpy(v) for k, v in consts.items()}
    import torch.nn.functional as F
    t = torch.from_numpy(x).permute(0, 3, 1, 2)
    t = F.conv2d(t, c["conv2d_0.w_0"], padding=1)
    t = (t - c["batch_norm_0.mean"]) * c["batch_norm_0.scale"] + c["batch_norm_0.bias"]
    t = F.conv2d(torch.relu(t), c["conv2d_1.w_0"], c["conv2d_1.b_0"], padding=1)
    t = t.permute(0, 2, 3, 1).mean(dim=(1, 2))
    ref = (t @ c["linear_0.w_0"] + c["linear_0.b_0"]).numpy()
    return path, {"x": x}, ref


# --------------------------------------------------------------------------
# 6. ONNX Runtime fused attention (transformers optimizer on the BERT export)
# --------------------------------------------------------------------------

def ort_optimize(src, multi_head=False):
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model
    options = FusionOptions("bert")
    options.use_multi_head_attention = multi_head
    return optimize_model(src, model_type="bert", num_heads=4, hidden_size=32,
                          opt_level=None, use_gpu=False,
                          optimization_options=options,
                          only_onnxruntime=False).model


def contrib_ops(model):
    return sorted({n.op_type for n in model.graph.node
                   if n.domain == "com.microsoft"})


def make_attention_fused(out, bert_path, multi_head=False):
    """com.microsoft Attention (packed QKV), or with `multi_head` MultiHeadAttention (separate
    Q/K/V MatMuls, packed bias)."""
    import tempfile
    op = "MultiHeadAttention" if multi_head else "Attention"
    path = os.path.join(out, "attention_mha.onnx" if multi_head else "attention_fused.onnx")
    remove_stale(path)
    # 1. the optimizer on bert_torchscript.onnx (sdpa export) as it is
    fused = ort_optimize(bert_path, multi_head)
    print(f"    optimize_model(bert_torchscript.onnx): com.microsoft ops "
          f"{contrib_ops(fused)}", flush=True)
    if op not in contrib_ops(fused):
        # 2. the same weights exported with eager attention, which the
        # optimizer's attention fusion recognises
        print("    no Attention fused; using the same BERT exported with "
              "attn_implementation='eager'", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            eager_path, feeds, ref = make_bert_torchscript(
                tmp, "bert_eager.onnx", attn_implementation="eager")
            fused = ort_optimize(eager_path, multi_head)
        print(f"    optimize_model(eager export): com.microsoft ops "
              f"{contrib_ops(fused)}", flush=True)
    else:
        feeds, ref = bert_check(build_bert())
    if op not in contrib_ops(fused):
        raise RuntimeError(f"onnxruntime optimizer did not fuse {op}")
    onnx.save_model(fused, path)
    return path, feeds, ref


# --------------------------------------------------------------------------
# verification, summary, README
# --------------------------------------------------------------------------

def op_counts(model):
    c = collections.Counter()
    for n in model.graph.node:
        dom = n.domain if n.domain not in ("", "ai.onnx") else ""
        c[f"{dom}:{n.op_type}" if dom else n.op_type] += 1
    return c


def verify(path, feeds, ref, atol=1e-4):
    size = os.path.getsize(path)
    if size >= MAX_BYTES:
        raise RuntimeError(f"{path}: {size} bytes >= 1 MB")
    if os.path.exists(path + ".data"):
        raise RuntimeError(f"{path}: unexpected external data file")
    onnx.checker.check_model(path, full_check=True)
    model = onnx.load(path)
    for init in model.graph.initializer:
        if init.data_type not in (TensorProto.FLOAT, TensorProto.INT64,
                                  TensorProto.INT32, TensorProto.BOOL):
            raise RuntimeError(f"{path}: initializer {init.name} has type "
                               f"{init.data_type}")
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    if sorted(names) != sorted(feeds):
        raise RuntimeError(f"{path}: inputs {names}, expected {sorted(feeds)}")
    got = sess.run(None, feeds)[0]
    if ref is not None:
        err = float(np.max(np.abs(got - ref)))
        if err > atol:
            raise RuntimeError(f"{path}: max |ort - torch| = {err}")
    else:
        err = float("nan")
    return model, got, err


README_LINES = {
    "ffn_torchscript.onnx":
        "Hand-written post-LN transformer encoder layer (hidden 32, 4 heads x 8, "
        "FFN 64, erf-GELU, LayerNormalization, two residual Adds); `x` "
        "[batch,seq,32] -> `y`. Couples Q/K/V/O projections through the head "
        "Reshape/Transpose (head pruning) and FFN fc1->fc2 through Erf-GELU "
        "(neuron pruning); residual Adds tie the hidden dim. "
        "TorchScript exporter (dynamo=False), opset 17.",
    "bert_torchscript.onnx":
        "transformers BertModel (BertConfig vocab 100, hidden 32, 2 layers, "
        "4 heads, intermediate 64, max positions 64, no pooler, "
        "default sdpa attention), `input_ids`/`attention_mask` int64 "
        "[batch,seq] -> `last_hidden_state`. Head pruning on decomposed "
        "attention as the TorchScript exporter writes it (head Reshape targets "
        "Concat(batch, seq, -1, 8) from Shape/Gather/Unsqueeze chains, scale "
        "8^-0.25 multiplied into Q and K^T); FFN neuron pruning through "
        "erf-GELU. TorchScript exporter (dynamo=False), opset 17.",
    "bert_dynamo.onnx":
        "Same BertModel and weights as bert_torchscript.onnx, exported with the "
        "dynamo exporter (dynamo=True, onnxscript optimizer on; exported at "
        "opset 18 and converted to 17 by onnx's version converter), IR 10. "
        "Head pruning on decomposed attention as the dynamo exporter writes "
        "it: one shared Concat(batch, seq, -1, 8) Reshape target for all Q/K/V "
        "of both layers, K^T built with Reshape/Transpose/Reshape, "
        "projection weights renamed `val_N` (transposed constants).",
    "llama_gqa.onnx":
        "transformers LlamaForCausalLM (vocab 100, hidden 32, 2 layers, 4 query "
        "heads / 2 KV heads, head_dim 8, intermediate 48, SwiGLU, RoPE, "
        "use_cache=False), `input_ids` int64 [batch,seq] -> `logits`. "
        "Grouped-query attention (each KV head shared by 2 query heads, "
        "repeat_kv Expand/Reshape), RoPE on Q/K, gated SwiGLU FFN "
        "(gate_proj and up_proj pruned together, down_proj input). "
        "TorchScript exporter (dynamo=False), opset 17.",
    "cnn_residual.onnx":
        "Small CNN `input` [batch,3,16,16] -> `output` [batch,10]: Conv+BN+ReLU "
        "stem, residual block (Add ties channels), depthwise Conv (group=C) + "
        "pointwise Conv, squeeze-excitation (GlobalAveragePool -> Conv -> Relu "
        "-> Conv -> Sigmoid -> Mul), Concat of two branches + 1x1 Conv "
        "(C2f/CSP), Split (torch.split) -> two Convs -> Concat, Upsample "
        "(Resize), Flatten -> Gemm. BatchNormalization kept as separate nodes "
        "(TorchScript exporter, do_constant_folding=False), opset 17.",
    "cnn_residual_fused.onnx":
        "Same CNN and weights as cnn_residual.onnx with BatchNormalization "
        "folded into the Convs (TorchScript exporter, eval mode, "
        "do_constant_folding=True), opset 17.",
    "cnn_constant_weights_nhwc.onnx":
        "Paddle2ONNX-style NHWC CNN built with onnx.helper (no torch): "
        "`x` [batch,16,16,3] -> Transpose to NCHW -> Conv -> BatchNormalization "
        "decomposed into Sub/Mul/Add with [1,C,1,1] constants -> Relu -> Conv "
        "(bias) -> Transpose to NHWC -> ReduceMean over H,W -> MatMul + Add -> "
        "[batch,10]. All weights are Constant nodes (no initializers); channel "
        "coupling through per-channel constants and NHWC layout. Opset 17.",
    "attention_fused.onnx":
        "The BERT of bert_torchscript.onnx (same weights) exported with "
        "attn_implementation='eager' (TorchScript exporter) and run through "
        "onnxruntime.transformers.optimizer.optimize_model(model_type='bert', "
        "num_heads=4, hidden_size=32): com.microsoft Attention (packed QKV "
        "weight [32,96], num_heads attribute), EmbedLayerNormalization, "
        "SkipLayerNormalization, BiasGelu. The optimizer fuses no Attention "
        "in the sdpa export itself (only SkipLayerNormalization and BiasGelu).",
    "attention_mha.onnx":
        "The same eager BERT through optimize_model with "
        "FusionOptions.use_multi_head_attention: com.microsoft "
        "MultiHeadAttention reading separate Q, K and V MatMul outputs "
        "[batch,seq,32] with their biases packed in one [96] input and "
        "EmbedLayerNormalization's mask index as key_padding_mask.",
}


def versions():
    import transformers
    v = {"torch": torch.__version__, "transformers": transformers.__version__,
         "onnx": onnx.__version__, "onnxruntime": ort.__version__,
         "numpy": np.__version__}
    try:
        import onnxscript
        v["onnxscript"] = onnxscript.__version__
    except ImportError:
        pass
    return v


def write_readme(out):
    """Lists every model of README_LINES present in `out`."""
    rows = []
    for fname in README_LINES:
        path = os.path.join(out, fname)
        if os.path.exists(path):
            rows.append((fname, os.path.getsize(path) / 1024, op_counts(onnx.load(path))))
    v = versions()
    lines = [
        "# testdata/pruning",
        "",
        "Small float32 ONNX models (random weights, fixed seeds, each < 1 MB) "
        "for onnx-slim's structured-pruning structure tests. Generated by "
        "`testdata/make_pruning_testdata.py` "
        "(`python testdata/make_pruning_testdata.py [--out testdata/pruning]`) "
        "with " + ", ".join(f"{k} {val}" for k, val in v.items()) + ". "
        "Each model is checked with `onnx.checker.check_model(full_check=True)` "
        "and run once in onnxruntime against the torch output. "
        "Dynamic axes: `batch` (and `seq` for the transformers).",
        "",
    ]
    for fname, kb, counts in rows:
        ops = ", ".join(f"{op} {n}" for op, n in sorted(counts.items()))
        lines.append(f"- `{fname}` ({kb:.1f} KB): {README_LINES[fname]} Ops: {ops}.")
    lines.append("")
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT,
                    help="output folder (default: testdata/pruning)")
    ap.add_argument("--only", nargs="+", metavar="FILE",
                    help="make only these models (the others stay as they are)")
    args = ap.parse_args()
    wanted = lambda f: args.only is None or f in args.only
    try:
        import onnxscript  # noqa: F401  (needed by torch.onnx dynamo=True)
    except ImportError:
        if wanted("bert_dynamo.onnx"):
            sys.exit("the dynamo exporter (bert_dynamo.onnx) needs onnxscript: "
                     "pip install onnxscript==0.7.2")
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)

    results = []

    def run(builder, *bargs, file):
        if not wanted(file):
            return os.path.join(out, file), None, None
        path, feeds, ref = builder(*bargs)
        model, got, err = verify(path, feeds, ref)
        results.append((path, model, err))
        print(f"ok  {os.path.basename(path):34s} max|ort-ref| = {err:.2e}",
              flush=True)
        return path, feeds, got

    run(make_ffn_torchscript, out, file="ffn_torchscript.onnx")
    bert_path, _, _ = run(make_bert_torchscript, out, file="bert_torchscript.onnx")
    run(make_bert_dynamo, out, file="bert_dynamo.onnx")
    run(make_llama_gqa, out, file="llama_gqa.onnx")
    run(make_cnn, out, False, file="cnn_residual.onnx")
    run(make_cnn, out, True, file="cnn_residual_fused.onnx")
    run(make_cnn_constant_weights_nhwc, out, file="cnn_constant_weights_nhwc.onnx")
    run(make_attention_fused, out, bert_path, file="attention_fused.onnx")
    run(make_attention_fused, out, bert_path, True, file="attention_mha.onnx")

    print()
    print(f"{'file':34s} {'KB':>7s}  op types")
    for path, model, _ in results:
        kb = os.path.getsize(path) / 1024
        counts = op_counts(model)
        ops = ", ".join(f"{op}:{n}" for op, n in sorted(counts.items()))
        print(f"{os.path.basename(path):34s} {kb:7.1f}  {ops}")
    print()
    for path, _, _ in results:
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        print(f"sha256 {digest}  {os.path.basename(path)}")
    write_readme(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
