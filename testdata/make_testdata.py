#!/usr/bin/env python3
"""Generate the small ONNX test models used by onnx-slim's tests.

Run from the repository root (any python with onnx + numpy + onnxruntime):

    /tmp/venv/bin/python testdata/make_testdata.py

Every model is written next to this script, built deterministically (fixed
numpy seeds), checked with onnx.checker (full_check=True) and executed once
in onnxruntime on the CPUExecutionProvider.  One summary line is printed per
model.  No torch / paddle is needed: the exporter conventions (naming, Constant
nodes, shape sub-graphs, ...) are emulated by hand.
"""

import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT_DIR = os.path.dirname(os.path.abspath(__file__))

FLOAT = TensorProto.FLOAT
FLOAT16 = TensorProto.FLOAT16
INT64 = TensorProto.INT64
BOOL = TensorProto.BOOL


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------

def path_of(name):
    return os.path.join(OUT_DIR, name)


def const_node(name, output, array):
    """A Constant node carrying `array` in its `value` attribute."""
    return helper.make_node(
        "Constant", [], [output], name=name,
        value=numpy_helper.from_array(np.asarray(array), name=""))


def make_model(graph, opset, ir_version, producer_name="onnx-slim-testdata",
               producer_version="1.0"):
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name=producer_name,
        producer_version=producer_version,
    )
    model.ir_version = ir_version
    return model


def save(model, filename):
    onnx.save_model(model, path_of(filename))


# --------------------------------------------------------------------------
# 1. Paddle2ONNX-style CNN, all weights in Constant nodes
# --------------------------------------------------------------------------

def make_cnn_constant_weights():
    """Paddle2ONNX writes parameters as Constant nodes instead of initializers.

    NOTE: `value_float` / `value_ints` Constant attributes only exist from
    Constant-12 on, so this model uses opset 12 (opset 11 would be rejected
    by the checker).
    """
    rng = np.random.default_rng(1)
    nodes = []
    counter = {"n": 0}

    def p2o(op):
        # Paddle2ONNX names nodes "p2o.<Op>.<k>" with a per-op counter.
        k = counter.setdefault(op, 0)
        counter[op] = k + 1
        return f"p2o.{op}.{k}"

    def param(pname, array):
        # parameters keep their Paddle names, e.g. "conv2d_0.w_0"
        nodes.append(const_node(p2o("Constant"), pname,
                                np.asarray(array, dtype=np.float32)))
        return pname

    def w(*shape, scale=None):
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        s = scale if scale is not None else 1.0 / math.sqrt(fan_in)
        return rng.standard_normal(shape).astype(np.float32) * s

    def bn(prefix, x, out, c):
        sc = param(f"{prefix}.w_0", 1.0 + 0.1 * rng.standard_normal(c))
        b = param(f"{prefix}.b_0", 0.1 * rng.standard_normal(c))
        mean = param(f"{prefix}.w_1", 0.1 * rng.standard_normal(c))
        var = param(f"{prefix}.w_2", rng.uniform(0.5, 1.5, c))
        nodes.append(helper.make_node(
            "BatchNormalization", [x, sc, b, mean, var], [out],
            name=p2o("BatchNormalization"), epsilon=1e-5, momentum=0.9))
        return out

    # stem: conv 3->16, 3x3, bn, relu, maxpool -> [N,16,16,16]
    cw = param("conv2d_0.w_0", w(16, 3, 3, 3))
    nodes.append(helper.make_node(
        "Conv", ["x", cw], ["conv2d_0.tmp_0"], name=p2o("Conv"),
        kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1],
        dilations=[1, 1], group=1))
    bn("batch_norm_0", "conv2d_0.tmp_0", "batch_norm_0.tmp_2", 16)
    nodes.append(helper.make_node("Relu", ["batch_norm_0.tmp_2"],
                                  ["relu_0.tmp_0"], name=p2o("Relu")))
    nodes.append(helper.make_node(
        "MaxPool", ["relu_0.tmp_0"], ["pool2d_0.tmp_0"], name=p2o("MaxPool"),
        kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0]))

    # residual block: conv 16->16 (with bias) -> depthwise 3x3 (group=16)
    cw1 = param("conv2d_1.w_0", w(16, 16, 1, 1))
    cb1 = param("conv2d_1.b_0", 0.05 * rng.standard_normal(16))
    nodes.append(helper.make_node(
        "Conv", ["pool2d_0.tmp_0", cw1, cb1], ["conv2d_1.tmp_1"],
        name=p2o("Conv"), kernel_shape=[1, 1], pads=[0, 0, 0, 0],
        strides=[1, 1], dilations=[1, 1], group=1))
    nodes.append(helper.make_node("Relu", ["conv2d_1.tmp_1"],
                                  ["relu_1.tmp_0"], name=p2o("Relu")))
    dw = param("depthwise_conv2d_0.w_0", w(16, 1, 3, 3))
    nodes.append(helper.make_node(
        "Conv", ["relu_1.tmp_0", dw], ["depthwise_conv2d_0.tmp_0"],
        name=p2o("Conv"), kernel_shape=[3, 3], pads=[1, 1, 1, 1],
        strides=[1, 1], dilations=[1, 1], group=16))
    bn("batch_norm_1", "depthwise_conv2d_0.tmp_0", "batch_norm_1.tmp_2", 16)
    nodes.append(helper.make_node(
        "Add", ["pool2d_0.tmp_0", "batch_norm_1.tmp_2"],
        ["elementwise_add_0"], name=p2o("Add")))
    nodes.append(helper.make_node("Relu", ["elementwise_add_0"],
                                  ["relu_2.tmp_0"], name=p2o("Relu")))

    # head: GAP -> Flatten -> Gemm(16->10) -> Mul(value_float) -> Reshape
    nodes.append(helper.make_node("GlobalAveragePool", ["relu_2.tmp_0"],
                                  ["pool2d_1.tmp_0"],
                                  name=p2o("GlobalAveragePool")))
    nodes.append(helper.make_node("Flatten", ["pool2d_1.tmp_0"],
                                  ["flatten_0.tmp_0"], name=p2o("Flatten"),
                                  axis=1))
    fw = param("linear_0.w_0", w(16, 10))       # Paddle stores [in, out]
    fb = param("linear_0.b_0", 0.05 * rng.standard_normal(10))
    nodes.append(helper.make_node(
        "Gemm", ["flatten_0.tmp_0", fw, fb], ["linear_0.tmp_1"],
        name=p2o("Gemm"), alpha=1.0, beta=1.0, transA=0, transB=0))
    # scalar scale written with value_float
    nodes.append(helper.make_node("Constant", [], ["scale_0.tmp_0.scale"],
                                  name=p2o("Constant"), value_float=0.5))
    nodes.append(helper.make_node(
        "Mul", ["linear_0.tmp_1", "scale_0.tmp_0.scale"], ["scale_0.tmp_0"],
        name=p2o("Mul")))
    # reshape target written with value_ints
    nodes.append(helper.make_node("Constant", [], ["reshape2_0.shape"],
                                  name=p2o("Constant"), value_ints=[-1, 10]))
    nodes.append(helper.make_node(
        "Reshape", ["scale_0.tmp_0", "reshape2_0.shape"], ["save_infer_model/scale_0.tmp_0"],
        name=p2o("Reshape")))

    graph = helper.make_graph(
        nodes, "paddle_cnn",
        [helper.make_tensor_value_info("x", FLOAT, ["N", 3, 32, 32])],
        [helper.make_tensor_value_info("save_infer_model/scale_0.tmp_0",
                                       FLOAT, ["N", 10])])
    model = make_model(graph, opset=12, ir_version=7,
                       producer_name="PaddlePaddle", producer_version="")
    save(model, "cnn_constant_weights.onnx")
    return ["cnn_constant_weights.onnx"]


# --------------------------------------------------------------------------
# 2. torch.onnx.export-style BERT encoder layer, opset 17
# --------------------------------------------------------------------------

class TorchGraph:
    """Collects nodes with torch.onnx.export naming conventions.

    Node names are scoped like "/encoder/layer.0/attention/self/query/MatMul"
    and outputs are "<node name>_output_0".  Repeated op types inside one
    scope get suffixes "_1", "_2", ... as the exporter does.
    """

    def __init__(self):
        self.nodes = []
        self.initializers = []
        self._names = {}
        self._matmul_id = 180   # "onnx::MatMul_<id>" numbering

    def _unique(self, scope, op):
        base = f"{scope}/{op}"
        k = self._names.get(base, 0)
        self._names[base] = k + 1
        return base if k == 0 else f"{base}_{k}"

    def op(self, scope, op_type, inputs, **attrs):
        name = self._unique(scope, op_type)
        out = f"{name}_output_0"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name,
                                           **attrs))
        return out

    def const(self, scope, array):
        name = self._unique(scope, "Constant")
        out = f"{name}_output_0"
        self.nodes.append(const_node(name, out, array))
        return out

    def init(self, name, array):
        self.initializers.append(numpy_helper.from_array(array, name=name))
        return name

    def matmul_weight(self, array):
        # torch constant-folds W.T of nn.Linear into an anonymous initializer
        name = f"onnx::MatMul_{self._matmul_id}"
        self._matmul_id += 1
        return self.init(name, array)


def make_transformer_block():
    rng = np.random.default_rng(2)
    vocab, hidden, heads, ffn, max_pos = 1000, 64, 4, 256, 128
    head_dim = hidden // heads
    g = TorchGraph()

    def rand(*shape, scale=0.02):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def ln(scope, x, prefix):
        wname = g.init(f"{prefix}.weight",
                       (1.0 + rand(hidden, scale=0.1)).astype(np.float32))
        bname = g.init(f"{prefix}.bias", rand(hidden))
        return g.op(scope, "LayerNormalization", [x, wname, bname],
                    axis=-1, epsilon=1e-12)

    def linear(scope, x, bias_name, n_in, n_out):
        w = g.matmul_weight(rand(n_in, n_out))
        b = g.init(bias_name, rand(n_out))
        mm = g.op(scope, "MatMul", [x, w])
        return g.op(scope, "Add", [b, mm])   # torch emits Add(bias, matmul)

    # ---- embeddings --------------------------------------------------------
    emb = "/embeddings"
    word_table = g.init("embeddings.word_embeddings.weight",
                        rand(vocab, hidden))
    pos_ids = g.init("embeddings.position_ids",
                     np.arange(max_pos, dtype=np.int64).reshape(1, max_pos))
    pos_table = g.init("embeddings.position_embeddings.weight",
                       rand(max_pos, hidden))

    # seq_length = input_ids.size(1); position_ids[:, 0:seq_length]
    shape = g.op(emb, "Shape", ["input_ids"])
    seq_len = g.op(emb, "Gather", [shape, g.const(emb, np.array(1, np.int64))],
                   axis=0)
    starts = g.const(emb, np.array([0], np.int64))
    ends = g.op(emb, "Unsqueeze", [seq_len, g.const(emb, np.array([0], np.int64))])
    axes = g.const(emb, np.array([1], np.int64))
    steps = g.const(emb, np.array([1], np.int64))
    positions = g.op(emb, "Slice", [pos_ids, starts, ends, axes, steps])

    inputs_embeds = g.op(f"{emb}/word_embeddings", "Gather",
                         [word_table, "input_ids"])
    pos_embeds = g.op(f"{emb}/position_embeddings", "Gather",
                      [pos_table, positions])
    emb_sum = g.op(emb, "Add", [inputs_embeds, pos_embeds])
    hidden_states = ln(f"{emb}/LayerNorm", emb_sum, "embeddings.LayerNorm")

    # ---- self attention ----------------------------------------------------
    L = "/encoder/layer.0"
    att = f"{L}/attention/self"
    p = "encoder.layer.0.attention.self"

    def split_heads(x, perm):
        # new_x_shape = x.size()[:-1] + (heads, head_dim); x.view(...).permute
        shp = g.op(att, "Shape", [x])
        b = g.op(att, "Gather", [shp, g.const(att, np.array(0, np.int64))], axis=0)
        shp2 = g.op(att, "Shape", [x])
        s = g.op(att, "Gather", [shp2, g.const(att, np.array(1, np.int64))], axis=0)
        ub = g.op(att, "Unsqueeze", [b, g.const(att, np.array([0], np.int64))])
        us = g.op(att, "Unsqueeze", [s, g.const(att, np.array([0], np.int64))])
        new_shape = g.op(att, "Concat",
                         [ub, us, g.const(att, np.array([heads], np.int64)),
                          g.const(att, np.array([head_dim], np.int64))], axis=0)
        r = g.op(att, "Reshape", [x, new_shape], allowzero=0)
        return g.op(att, "Transpose", [r], perm=perm)

    q = linear(f"{att}/query", hidden_states, f"{p}.query.bias", hidden, hidden)
    k = linear(f"{att}/key", hidden_states, f"{p}.key.bias", hidden, hidden)
    v = linear(f"{att}/value", hidden_states, f"{p}.value.bias", hidden, hidden)
    k_t = split_heads(k, [0, 2, 3, 1])   # permute + transpose(-1,-2) fused
    v_h = split_heads(v, [0, 2, 1, 3])
    q_h = split_heads(q, [0, 2, 1, 3])

    scores = g.op(att, "MatMul", [q_h, k_t])
    scores = g.op(att, "Div", [scores, g.const(
        att, np.array(math.sqrt(head_dim), np.float32))])
    probs = g.op(att, "Softmax", [scores], axis=-1)
    ctx = g.op(att, "MatMul", [probs, v_h])
    ctx = g.op(att, "Transpose", [ctx], perm=[0, 2, 1, 3])
    # context.view(context.size()[:-2] + (hidden,))
    cshape = g.op(att, "Shape", [ctx])
    cb = g.op(att, "Gather", [cshape, g.const(att, np.array(0, np.int64))], axis=0)
    cshape2 = g.op(att, "Shape", [ctx])
    cs = g.op(att, "Gather", [cshape2, g.const(att, np.array(1, np.int64))], axis=0)
    ucb = g.op(att, "Unsqueeze", [cb, g.const(att, np.array([0], np.int64))])
    ucs = g.op(att, "Unsqueeze", [cs, g.const(att, np.array([0], np.int64))])
    ctx_shape = g.op(att, "Concat",
                     [ucb, ucs, g.const(att, np.array([hidden], np.int64))],
                     axis=0)
    ctx = g.op(att, "Reshape", [ctx, ctx_shape], allowzero=0)

    ao = f"{L}/attention/output"
    attn_out = linear(f"{ao}/dense", ctx,
                      "encoder.layer.0.attention.output.dense.bias",
                      hidden, hidden)
    attn_res = g.op(ao, "Add", [attn_out, hidden_states])
    attn_ln = ln(f"{ao}/LayerNorm", attn_res,
                 "encoder.layer.0.attention.output.LayerNorm")

    # ---- feed forward with exact (erf) GELU --------------------------------
    it = f"{L}/intermediate"
    inter = linear(f"{it}/dense", attn_ln,
                   "encoder.layer.0.intermediate.dense.bias", hidden, ffn)
    act = f"{it}/intermediate_act_fn"
    gd = g.op(act, "Div", [inter, g.const(act, np.array(1.4142135381698608,
                                                         np.float32))])
    ge = g.op(act, "Erf", [gd])
    ga = g.op(act, "Add", [ge, g.const(act, np.array(1.0, np.float32))])
    gm = g.op(act, "Mul", [inter, ga])
    gelu = g.op(act, "Mul", [gm, g.const(act, np.array(0.5, np.float32))])

    out = f"{L}/output"
    ffn_out = linear(f"{out}/dense", gelu,
                     "encoder.layer.0.output.dense.bias", ffn, hidden)
    ffn_res = g.op(out, "Add", [ffn_out, attn_ln])
    final_ln = ln(f"{out}/LayerNorm", ffn_res,
                  "encoder.layer.0.output.LayerNorm")
    g.nodes.append(helper.make_node("Identity", [final_ln],
                                    ["last_hidden_state"],
                                    name="/Identity"))

    # ---- tied LM head: logits = h @ word_embeddings.weight.T + bias --------
    dec = "/cls/predictions/decoder"
    w_t = g.op(dec, "Transpose", [word_table], perm=[1, 0])
    logits_mm = g.op(dec, "MatMul", ["last_hidden_state", w_t])
    dec_b = g.init("cls.predictions.bias", rand(vocab))
    g.nodes.append(helper.make_node("Add", [dec_b, logits_mm], ["logits"],
                                    name=f"{dec}/Add"))

    value_info = [
        helper.make_tensor_value_info(hidden_states, FLOAT,
                                      ["batch", "sequence", hidden]),
        helper.make_tensor_value_info(q, FLOAT, ["batch", "sequence", hidden]),
        helper.make_tensor_value_info(probs, FLOAT,
                                      ["batch", heads, "sequence", "sequence"]),
        helper.make_tensor_value_info(gelu, FLOAT, ["batch", "sequence", ffn]),
        helper.make_tensor_value_info(w_t, FLOAT, [hidden, vocab]),
    ]
    graph = helper.make_graph(
        g.nodes, "main_graph",
        [helper.make_tensor_value_info("input_ids", INT64,
                                       ["batch", "sequence"])],
        [helper.make_tensor_value_info("last_hidden_state", FLOAT,
                                       ["batch", "sequence", hidden]),
         helper.make_tensor_value_info("logits", FLOAT,
                                       ["batch", "sequence", vocab])],
        initializer=g.initializers,
        value_info=value_info,
        doc_string="Single BERT encoder layer (hidden 64, 4 heads, vocab 1000) "
                   "with tied LM head, emulating torch.onnx.export opset 17.")
    model = make_model(graph, opset=17, ir_version=8,
                       producer_name="pytorch", producer_version="2.5.0")
    save(model, "transformer_block.onnx")
    return ["transformer_block.onnx"]


# --------------------------------------------------------------------------
# 3. If + Loop with subgraph initializers/Constants and outer-scope refs
# --------------------------------------------------------------------------

def make_control_flow():
    rng = np.random.default_rng(3)
    D = 8

    def rand(*shape):
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    outer_bias = rand(D)
    w_then = rand(D, D)
    w_else = rand(D, D)
    w_body = rand(D, D)

    # outer: cond = ReduceSum(x) > 0
    nodes = [
        helper.make_node("ReduceSum", ["x"], ["x_sum"], name="reduce_sum",
                         keepdims=0),
        helper.make_node("Greater", ["x_sum", "zero"], ["cond"],
                         name="greater"),
    ]

    # then branch: MatMul(x, W_then) [initializer inside the subgraph] + outer bias
    then_graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "then_weight"], ["then_mm"],
                          name="then_matmul"),
         helper.make_node("Add", ["then_mm", "outer_bias"], ["then_out"],
                          name="then_add")],
        "then_branch", [],
        [helper.make_tensor_value_info("then_out", FLOAT, ["N", D])],
        initializer=[numpy_helper.from_array(w_then, "then_weight")])

    # else branch: MatMul(x, W_else) with W_else in a Constant node
    else_graph = helper.make_graph(
        [const_node("else_weight_const", "else_weight", w_else),
         helper.make_node("MatMul", ["x", "else_weight"], ["else_mm"],
                          name="else_matmul"),
         helper.make_node("Sub", ["else_mm", "outer_bias"], ["else_out"],
                          name="else_sub")],
        "else_branch", [],
        [helper.make_tensor_value_info("else_out", FLOAT, ["N", D])])

    nodes.append(helper.make_node("If", ["cond"], ["if_out"], name="if_node",
                                  then_branch=then_graph,
                                  else_branch=else_graph))

    # Loop body: (iter, cond_in, acc) -> (cond_out, acc_out, scan_out)
    #   acc_out  = Tanh(MatMul(acc, W_body) + outer_bias)      (W_body: body initializer)
    #   cond_out = iter < max_iter                              (max_iter: outer scope)
    body = helper.make_graph(
        [helper.make_node("MatMul", ["acc_in", "body_weight"], ["body_mm"],
                          name="body_matmul"),
         helper.make_node("Add", ["body_mm", "outer_bias"], ["body_add"],
                          name="body_add"),
         helper.make_node("Tanh", ["body_add"], ["acc_out"], name="body_tanh"),
         helper.make_node("Less", ["iter_num", "max_iter"], ["cond_out"],
                          name="body_less"),
         helper.make_node("ReduceMean", ["acc_out"], ["scan_out"],
                          name="body_reduce_mean", axes=[1], keepdims=0)],
        "loop_body",
        [helper.make_tensor_value_info("iter_num", INT64, []),
         helper.make_tensor_value_info("cond_in", BOOL, []),
         helper.make_tensor_value_info("acc_in", FLOAT, ["N", D])],
        [helper.make_tensor_value_info("cond_out", BOOL, []),
         helper.make_tensor_value_info("acc_out", FLOAT, ["N", D]),
         helper.make_tensor_value_info("scan_out", FLOAT, ["N"])],
        initializer=[numpy_helper.from_array(w_body, "body_weight")])

    nodes.append(helper.make_node(
        "Loop", ["trip_count", "loop_cond", "if_out"],
        ["loop_final", "loop_scan"], name="loop_node", body=body))

    graph = helper.make_graph(
        nodes, "control_flow",
        [helper.make_tensor_value_info("x", FLOAT, ["N", D])],
        [helper.make_tensor_value_info("loop_final", FLOAT, ["N", D]),
         helper.make_tensor_value_info("loop_scan", FLOAT, [None, "N"])],
        initializer=[
            numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
            numpy_helper.from_array(outer_bias, "outer_bias"),
            numpy_helper.from_array(np.array(5, np.int64), "trip_count"),
            numpy_helper.from_array(np.array(True), "loop_cond"),
            numpy_helper.from_array(np.array(3, np.int64), "max_iter"),
        ])
    model = make_model(graph, opset=13, ir_version=7)
    save(model, "control_flow.onnx")
    return ["control_flow.onnx"]


# --------------------------------------------------------------------------
# 4. float16 model
# --------------------------------------------------------------------------

def make_fp16_model():
    rng = np.random.default_rng(4)

    def rand16(*shape, scale=0.2):
        return (rng.standard_normal(shape) * scale).astype(np.float16)

    inits = [
        numpy_helper.from_array(rand16(8, 3, 3, 3), "conv.weight"),
        numpy_helper.from_array(rand16(8, scale=0.05), "conv.bias"),
        numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32),
                                "resize.scales"),
        numpy_helper.from_array(rand16(8, 16), "fc.weight"),
        numpy_helper.from_array(rand16(16, scale=0.05), "fc.bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["conv_out"],
                         name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv_out"], ["relu_out"], name="relu"),
        helper.make_node("Resize", ["relu_out", "", "resize.scales"],
                         ["resize_out"], name="resize", mode="nearest",
                         coordinate_transformation_mode="asymmetric",
                         nearest_mode="floor"),
        helper.make_node("GlobalAveragePool", ["resize_out"], ["gap_out"],
                         name="gap"),
        helper.make_node("Flatten", ["gap_out"], ["flat"], name="flatten",
                         axis=1),
        helper.make_node("MatMul", ["flat", "fc.weight"], ["fc_mm"],
                         name="fc_matmul"),
        helper.make_node("Add", ["fc_mm", "fc.bias"], ["fc_out"],
                         name="fc_add"),
        helper.make_node("Relu", ["fc_out"], ["y"], name="relu_out"),
    ]
    graph = helper.make_graph(
        nodes, "fp16_model",
        [helper.make_tensor_value_info("x", FLOAT16, ["N", 3, 16, 16])],
        [helper.make_tensor_value_info("y", FLOAT16, ["N", 16])],
        initializer=inits)
    model = make_model(graph, opset=13, ir_version=7)
    save(model, "fp16_model.onnx")
    return ["fp16_model.onnx"]


# --------------------------------------------------------------------------
# 5. MLP with two weights in an external data file
# --------------------------------------------------------------------------

def make_external_data():
    rng = np.random.default_rng(5)

    def rand(*shape):
        return (rng.standard_normal(shape) / math.sqrt(shape[0])).astype(
            np.float32)

    inits = [
        numpy_helper.from_array(rand(32, 64), "fc1.weight"),   # 8192 B -> external
        numpy_helper.from_array(rand(64) * 0.1, "fc1.bias"),   # 256 B  -> inline
        numpy_helper.from_array(rand(64, 16), "fc2.weight"),   # 4096 B -> external
        numpy_helper.from_array(rand(16) * 0.1, "fc2.bias"),   # 64 B   -> inline
        numpy_helper.from_array(rand(16, 4), "fc3.weight"),    # 256 B  -> inline
        numpy_helper.from_array(rand(4) * 0.1, "fc3.bias"),    # 16 B   -> inline
    ]
    nodes = []
    x = "x"
    for i in (1, 2, 3):
        nodes.append(helper.make_node("MatMul", [x, f"fc{i}.weight"],
                                      [f"fc{i}_mm"], name=f"fc{i}_matmul"))
        nodes.append(helper.make_node("Add", [f"fc{i}_mm", f"fc{i}.bias"],
                                      [f"fc{i}_out"], name=f"fc{i}_add"))
        x = f"fc{i}_out"
        if i < 3:
            nodes.append(helper.make_node("Relu", [x], [f"relu{i}"],
                                          name=f"relu{i}"))
            x = f"relu{i}"
    graph = helper.make_graph(
        nodes, "external_data_mlp",
        [helper.make_tensor_value_info("x", FLOAT, ["batch", 32])],
        [helper.make_tensor_value_info(x, FLOAT, ["batch", 4])],
        initializer=inits)
    model = make_model(graph, opset=13, ir_version=7)

    data_name = "external_data.onnx.data"
    # onnx appends to an existing data file, so remove it first
    if os.path.exists(path_of(data_name)):
        os.remove(path_of(data_name))
    onnx.save_model(model, path_of("external_data.onnx"),
                    save_as_external_data=True, all_tensors_to_one_file=True,
                    location=data_name, size_threshold=1024,
                    convert_attribute=False)
    os.chmod(path_of(data_name), 0o644)   # onnx creates it with mode 0600
    return ["external_data.onnx", data_name]


# --------------------------------------------------------------------------
# 6. opset 9 / IR 4 model with old operator signatures
# --------------------------------------------------------------------------

def make_old_opset():
    rng = np.random.default_rng(6)
    C = 4
    arrays = {
        "conv.weight": (rng.standard_normal((C, 3, 3, 3)) * 0.3).astype(np.float32),
        "conv.bias": (rng.standard_normal(C) * 0.1).astype(np.float32),
        "bn.scale": (1.0 + rng.standard_normal(C) * 0.1).astype(np.float32),
        "bn.bias": (rng.standard_normal(C) * 0.1).astype(np.float32),
        "bn.mean": (rng.standard_normal(C) * 0.1).astype(np.float32),
        "bn.var": rng.uniform(0.5, 1.5, C).astype(np.float32),
        # Upsample-9 takes scales as an input tensor
        "upsample.scales": np.array([1, 1, 2, 2], np.float32),
    }
    inits = [numpy_helper.from_array(a, n) for n, a in arrays.items()]
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["conv_out"],
                         name="conv", kernel_shape=[3, 3]),          # 8x8 -> 6x6
        helper.make_node("BatchNormalization",
                         ["conv_out", "bn.scale", "bn.bias", "bn.mean", "bn.var"],
                         ["bn_out"], name="bn", epsilon=1e-5, momentum=0.9),
        helper.make_node("Clip", ["bn_out"], ["clip_out"], name="relu6",
                         min=0.0, max=6.0),                        # Clip-6 attrs
        helper.make_node("Pad", ["clip_out"], ["pad_out"], name="pad",
                         mode="constant", value=0.0,
                         pads=[0, 0, 1, 1, 0, 0, 1, 1]),           # Pad-2 attrs
        helper.make_node("Upsample", ["pad_out", "upsample.scales"],
                         ["up_out"], name="upsample", mode="nearest"),
        helper.make_node("Slice", ["up_out"], ["slice_out"], name="slice",
                         axes=[2, 3], starts=[2, 2], ends=[10, 10]),  # Slice-1
        helper.make_node("Dropout", ["slice_out"], ["drop_out"],
                         name="dropout", ratio=0.5),               # Dropout-7
        helper.make_node("GlobalAveragePool", ["drop_out"], ["gap_out"],
                         name="gap"),
        helper.make_node("Squeeze", ["gap_out"], ["squeezed"], name="squeeze",
                         axes=[2, 3]),                              # Squeeze-1
        helper.make_node("Unsqueeze", ["squeezed"], ["y"], name="unsqueeze",
                         axes=[1]),                                 # Unsqueeze-1
    ]
    # IR version < 4 style: every initializer is also a graph input
    graph_inputs = [helper.make_tensor_value_info("x", FLOAT, ["N", 3, 8, 8])]
    graph_inputs += [helper.make_tensor_value_info(n, FLOAT, list(a.shape))
                     for n, a in arrays.items()]
    graph = helper.make_graph(
        nodes, "old_opset",
        graph_inputs,
        [helper.make_tensor_value_info("y", FLOAT, ["N", 1, C])],
        initializer=inits)
    model = make_model(graph, opset=9, ir_version=4)
    save(model, "old_opset.onnx")
    return ["old_opset.onnx"]


# --------------------------------------------------------------------------
# 7. sample model for the README
# --------------------------------------------------------------------------

def make_tiny_mlp():
    rng = np.random.default_rng(7)
    dims = [128, 256, 64, 10]
    inits, nodes = [], []
    x = "input"
    for i in range(3):
        n_in, n_out = dims[i], dims[i + 1]
        w = (rng.standard_normal((n_in, n_out)) / math.sqrt(n_in)).astype(np.float32)
        b = (rng.standard_normal(n_out) * 0.01).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"layers.{i}.weight"),
                  numpy_helper.from_array(b, f"layers.{i}.bias")]
        nodes.append(helper.make_node("MatMul", [x, f"layers.{i}.weight"],
                                      [f"layers.{i}.matmul"],
                                      name=f"/layers.{i}/MatMul"))
        out = "output" if i == 2 else f"layers.{i}.add"
        nodes.append(helper.make_node("Add", [f"layers.{i}.matmul",
                                              f"layers.{i}.bias"], [out],
                                      name=f"/layers.{i}/Add"))
        if i < 2:
            nodes.append(helper.make_node("Relu", [out], [f"layers.{i}.relu"],
                                          name=f"/layers.{i}/Relu"))
            x = f"layers.{i}.relu"
    graph = helper.make_graph(
        nodes, "tiny_mlp",
        [helper.make_tensor_value_info("input", FLOAT, ["batch", 128])],
        [helper.make_tensor_value_info("output", FLOAT, ["batch", 10])],
        initializer=inits,
        doc_string="3-layer MLP 128-256-64-10 (ReLU), onnx-slim sample model.")
    model = make_model(graph, opset=17, ir_version=8)
    model.doc_string = "Sample model for the onnx-slim README."
    helper.set_model_props(model, {"author": "onnx-slim",
                                   "license": "MIT"})
    save(model, "tiny_mlp.onnx")
    return ["tiny_mlp.onnx"]


# --------------------------------------------------------------------------
# 8. If around STFT-style padding, as torch.onnx.export writes it (opset 15)
# --------------------------------------------------------------------------

def make_if_padding():
    """An If around STFT-style padding as torch.onnx.export writes it (opset 15): the branches
    read outer float values (a computed one and a weight), hold a branch-local Constant, and
    declare their outputs without an element type, so the If output's type is known only from
    the branch bodies. The condition is data-dependent (sum of the windowed signal > 0), so a
    positive and a negative input take the two branches."""
    rng = np.random.default_rng(8)
    n = 16
    w = (rng.standard_normal((n, 8)) / 4).astype(np.float32)
    inits = [numpy_helper.from_array(w, "proj.weight"),
             numpy_helper.from_array(np.abs(rng.standard_normal(n)).astype(np.float32) + 0.5, "window"),
             numpy_helper.from_array(np.full(n, 0.5, np.float32), "pad.scale"),
             numpy_helper.from_array(np.array([0, 0, 0, 0], np.int64), "pad.zeros"),
             numpy_helper.from_array(np.array(0, np.float32), "zero")]
    nodes = [
        helper.make_node("Mul", ["audio", "window"], ["windowed"], name="/Mul"),
        helper.make_node("ReduceSum", ["windowed"], ["total"], name="/ReduceSum", keepdims=0),
        helper.make_node("Greater", ["total", "zero"], ["positive"], name="/Greater"),
    ]

    def untyped(name):  # a branch output as torch declares it: a name, no type
        return helper.make_empty_tensor_value_info(name)

    then_bias = (rng.standard_normal(n) / 2).astype(np.float32)
    then_branch = helper.make_graph([
        helper.make_node("Pad", ["windowed", "pad.zeros"], ["padded"], name="/Pad", mode="constant"),
        helper.make_node("Mul", ["padded", "pad.scale"], ["scaled"], name="/Mul_1"),
        const_node("/Constant_2", "then_bias", then_bias),
        helper.make_node("Add", ["scaled", "then_bias"], ["then_out"], name="/Add"),
    ], "then", [], [untyped("then_out")])
    else_branch = helper.make_graph([
        helper.make_node("Sub", ["windowed", "window"], ["else_out"], name="/Sub"),
    ], "else", [], [untyped("else_out")])
    nodes += [
        helper.make_node("If", ["positive"], ["framed"], name="/If", then_branch=then_branch,
                         else_branch=else_branch),
        helper.make_node("Add", ["framed", "windowed"], ["summed"], name="/Add_1"),
        helper.make_node("MatMul", ["summed", "proj.weight"], ["features"], name="/proj/MatMul"),
    ]
    graph = helper.make_graph(
        nodes, "if_padding",
        [helper.make_tensor_value_info("audio", FLOAT, ["batch", n])],
        [helper.make_tensor_value_info("features", FLOAT, ["batch", 8])],
        initializer=inits)
    save(make_model(graph, opset=15, ir_version=8, producer_name="pytorch",
                    producer_version="2.5.0"), "if_padding.onnx")
    return ["if_padding.onnx"]


# --------------------------------------------------------------------------
# 9. activations beyond float16's range in one place
# --------------------------------------------------------------------------

def make_fp16_overflow():
    """A text-detector-like head whose first Conv has large weights (|w| up to 50000, inside
    float16's range): its activations reach ~1e5, beyond float16's 65504, until an
    InstanceNormalization brings them back to unit scale; a small Conv and a Sigmoid then write
    a probability map. Converted to float16 as a whole, the first Conv's output is inf and the
    map is NaN."""
    rng = np.random.default_rng(9)
    big = (np.clip(rng.standard_normal((8, 3, 3, 3)), -2.5, 2.5) * 20000).astype(np.float32)
    head = (rng.standard_normal((1, 8, 3, 3)) / 4).astype(np.float32)
    inits = [numpy_helper.from_array(big, "backbone.weight"),
             numpy_helper.from_array(np.ones(8, np.float32), "norm.scale"),
             numpy_helper.from_array(np.zeros(8, np.float32), "norm.bias"),
             numpy_helper.from_array(head, "head.weight"),
             numpy_helper.from_array((rng.standard_normal(1) / 4).astype(np.float32), "head.bias")]
    nodes = [
        helper.make_node("Conv", ["image", "backbone.weight"], ["features"], name="backbone/Conv",
                         pads=[1, 1, 1, 1]),
        helper.make_node("InstanceNormalization", ["features", "norm.scale", "norm.bias"], ["normed"],
                         name="norm/InstanceNormalization", epsilon=1e-5),
        helper.make_node("Relu", ["normed"], ["activated"], name="norm/Relu"),
        helper.make_node("Conv", ["activated", "head.weight", "head.bias"], ["logits"], name="head/Conv",
                         pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["logits"], ["probability"], name="head/Sigmoid"),
    ]
    graph = helper.make_graph(
        nodes, "fp16_overflow",
        [helper.make_tensor_value_info("image", FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("probability", FLOAT, [1, 1, 16, 16])],
        initializer=inits)
    save(make_model(graph, opset=13, ir_version=7), "fp16_overflow.onnx")
    return ["fp16_overflow.onnx"]
# 8. CRNN captcha recogniser with a stale value_info (torch 1.x naming)
# --------------------------------------------------------------------------

def make_crnn_captcha():
    """Conv feature extractor -> sequence -> bidirectional LSTM -> classifier,
    as torch 1.x exported captcha recognisers (node names "Reshape_19", output
    names "19"), opset 12.

    The Reshape after the LSTM builds its shape [T, batch, -1] with a
    Shape/Gather/Unsqueeze/Concat chain, but the value_info declares its output
    rank 2 ([?, 32], as if the exporter's own shape pass had mistaken it for
    the `view(T * b, h)` that follows and feeds the Gemm classifier). Only
    Reshapes read it, so the model runs. Reshape-5 infers nothing from a computed shape, so the
    checker accepts the model at opset 12; Reshape-14 infers the rank from the
    shape's length, so the same declaration fails the checker after an upgrade
    (int4/uint4 need opset 21).
    """
    rng = np.random.default_rng(8)
    hidden, classes = 16, 11
    nodes, inits = [], []

    def rand(*shape, scale=0.2):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def init(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name=name))
        return name

    def op(op_type, inputs, n_outputs=1, **attrs):
        k = len(nodes)
        outs = [str(k)] if n_outputs == 1 else [f"{k}_{i}" for i in range(n_outputs)]
        nodes.append(helper.make_node(op_type, inputs, outs, name=f"{op_type}_{k}", **attrs))
        return outs[0] if n_outputs == 1 else outs

    def const(array):
        k = len(nodes)
        nodes.append(const_node(f"Constant_{k}", str(k), np.asarray(array)))
        return str(k)

    x = op("Conv", ["image", init("cnn.0.weight", rand(16, 1, 3, 3)), init("cnn.0.bias", rand(16))],
           kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    x = op("Relu", [x])
    x = op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])            # [N,16,8,W/2]
    x = op("Conv", [x, init("cnn.3.weight", rand(32, 16, 3, 3, scale=0.1)), init("cnn.3.bias", rand(32))],
           kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    x = op("Relu", [x])
    x = op("MaxPool", [x], kernel_shape=[8, 1], strides=[8, 1])            # [N,32,1,T]
    x = op("Squeeze", [x], axes=[2])                                      # [N,32,T]
    seq = op("Transpose", [x], perm=[2, 0, 1])                            # [T,N,32]

    # initial states zeros([2, batch, hidden]) from the input's batch, as torch writes them
    batch = op("Gather", [op("Shape", [seq]), const(np.array(1, np.int64))], axis=0)
    state_shape = op("Concat", [const(np.array([2], np.int64)), op("Unsqueeze", [batch], axes=[0]),
                                const(np.array([hidden], np.int64))], axis=0)
    zeros = op("ConstantOfShape", [state_shape])
    y, _, _ = op("LSTM", [seq, init("rnn.weight_ih", rand(2, 4 * hidden, 32, scale=0.1)),
                          init("rnn.weight_hh", rand(2, 4 * hidden, hidden, scale=0.1)),
                          init("rnn.bias", rand(2, 8 * hidden, scale=0.1)), "", zeros, zeros],
                 n_outputs=3, hidden_size=hidden, direction="bidirectional")  # [T,2,N,H]
    y = op("Transpose", [y], perm=[0, 2, 1, 3])                           # [T,N,2,H]

    shape = op("Shape", [y])
    steps = op("Gather", [shape, const(np.array(0, np.int64))], axis=0)
    batch2 = op("Gather", [shape, const(np.array(1, np.int64))], axis=0)
    target = op("Concat", [op("Unsqueeze", [steps], axes=[0]), op("Unsqueeze", [batch2], axes=[0]),
                           const(np.array([-1], np.int64))], axis=0)
    features = op("Reshape", [y, target])                                 # [T,N,32]
    stale = helper.make_tensor_value_info(features, FLOAT, [None, 2 * hidden])

    # view(T * b, h) for the classifier, view(T, b, -1) after it
    flat_shape = op("Concat", [op("Unsqueeze", [op("Mul", [steps, batch2])], axes=[0]),
                               const(np.array([2 * hidden], np.int64))], axis=0)
    flat = op("Reshape", [features, flat_shape])                          # [T*N,32]
    logits = op("Gemm", [flat, init("fc.weight", rand(classes, 2 * hidden)),
                         init("fc.bias", rand(classes, scale=0.01))], transB=1)
    logits = op("Reshape", [logits, target])                              # view(T, b, -1)
    op("LogSoftmax", [logits], axis=2)                                    # CTC log-probabilities
    nodes[-1].output[0] = "log_probs"

    graph = helper.make_graph(
        nodes, "crnn_captcha",
        [helper.make_tensor_value_info("image", FLOAT, ["batch", 1, 16, "width"])],
        [helper.make_tensor_value_info("log_probs", FLOAT, ["steps", "batch", classes])],
        initializer=inits, value_info=[stale])
    model = make_model(graph, opset=12, ir_version=7, producer_name="pytorch",
                       producer_version="1.13.1")
    save(model, "crnn_captcha.onnx")
    return ["crnn_captcha.onnx"]


# --------------------------------------------------------------------------
# 9. Paddle2ONNX classifier with an input declared float32[-1,3,?,?]
# --------------------------------------------------------------------------

def make_paddle_classifier():
    """Paddle2ONNX writes unknown dims as dim_value -1 (batch) or leaves them
    without value or name (height, width): input `x` float32[-1,3,?,?].
    Initializers with Paddle names (conv2d_0.w_0, linear_0.b_0), nodes named
    "p2o.<Op>.<k>", opset 11: Conv/BatchNormalization/Relu, a strided Conv,
    GlobalAveragePool, Flatten, MatMul + Add, Softmax(axis=1). Every dim
    survives a 1x1 input, so generated inputs of any size run.
    """
    rng = np.random.default_rng(9)
    nodes, inits = [], []
    counter = {}

    def p2o(op):
        k = counter.setdefault(op, 0)
        counter[op] = k + 1
        return f"p2o.{op}.{k}"

    def param(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array, np.float32), name))
        return name

    def node(op, inputs, out, **attrs):
        nodes.append(helper.make_node(op, inputs, [out], name=p2o(op), **attrs))
        return out

    x = node("Conv", ["x", param("conv2d_0.w_0", rng.standard_normal((16, 3, 3, 3)) * 0.2)],
             "conv2d_0.tmp_0", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    x = node("BatchNormalization",
             [x, param("batch_norm_0.w_0", 1 + 0.1 * rng.standard_normal(16)),
              param("batch_norm_0.b_0", 0.1 * rng.standard_normal(16)),
              param("batch_norm_0.w_1", 0.1 * rng.standard_normal(16)),
              param("batch_norm_0.w_2", rng.uniform(0.5, 1.5, 16))],
             "batch_norm_0.tmp_2", epsilon=1e-5)
    x = node("Relu", [x], "relu_0.tmp_0")
    x = node("Conv", [x, param("conv2d_1.w_0", rng.standard_normal((32, 16, 3, 3)) * 0.1),
                      param("conv2d_1.b_0", 0.1 * rng.standard_normal(32))],
             "conv2d_1.tmp_1", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2])
    x = node("Relu", [x], "relu_1.tmp_0")
    x = node("GlobalAveragePool", [x], "pool2d_0.tmp_0")
    x = node("Flatten", [x], "flatten_0.tmp_0", axis=1)
    x = node("MatMul", [x, param("linear_0.w_0", rng.standard_normal((32, 10)) * 0.2)], "linear_0.tmp_0")
    x = node("Add", [x, param("linear_0.b_0", 0.01 * rng.standard_normal(10))], "linear_0.tmp_1")
    node("Softmax", [x], "softmax_0.tmp_0", axis=1)

    image = helper.make_tensor_value_info("x", FLOAT, [-1, 3, None, None])
    graph = helper.make_graph(
        nodes, "paddle_classifier", [image],
        [helper.make_tensor_value_info("softmax_0.tmp_0", FLOAT, [-1, 10])],
        initializer=inits)
    model = make_model(graph, opset=11, ir_version=6, producer_name="PaddlePaddle",
                       producer_version="2.6.0")
    save(model, "paddle_classifier.onnx")
    return ["paddle_classifier.onnx"]


# --------------------------------------------------------------------------
# verification
# --------------------------------------------------------------------------

NP_TYPES = {FLOAT: np.float32, FLOAT16: np.float16, INT64: np.int64}
DIM_DEFAULTS = {"sequence": 7, "width": 40}


def random_feed(session, rng):
    feed = {}
    for inp in session.get_inputs():
        # symbolic, unnamed (None) and Paddle's negative dims take a default
        shape = [d if isinstance(d, int) and d >= 0 else DIM_DEFAULTS.get(d, 2)
                 for d in inp.shape]
        if inp.type == "tensor(int64)":
            feed[inp.name] = rng.integers(0, 100, size=shape, dtype=np.int64)
        elif inp.type == "tensor(float16)":
            feed[inp.name] = rng.standard_normal(shape).astype(np.float16)
        else:
            feed[inp.name] = rng.standard_normal(shape).astype(np.float32)
    return feed


def verify(filename):
    import onnxruntime as ort

    p = path_of(filename)
    onnx.checker.check_model(p, full_check=True)
    model = onnx.load(p, load_external_data=False)
    so = ort.SessionOptions()
    so.log_severity_level = 3   # hide "initializer appears in graph inputs" (IR 4)
    sess = ort.InferenceSession(p, so, providers=["CPUExecutionProvider"])
    # ir_version 4 models list initializers as inputs; feed only real inputs
    init_names = {i.name for i in model.graph.initializer}
    real_inputs = [i for i in sess.get_inputs() if i.name not in init_names]
    rng = np.random.default_rng(0)
    feed = {k: v for k, v in random_feed(sess, rng).items()
            if k in {i.name for i in real_inputs}}
    outs = sess.run(None, feed)
    for o in outs:
        if np.issubdtype(o.dtype, np.floating) and not np.all(np.isfinite(o)):
            raise RuntimeError(f"{filename}: non-finite output")
    size = os.path.getsize(p)
    if size >= 1 << 20:
        raise RuntimeError(f"{filename}: {size} bytes >= 1 MB")
    opset = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    ins = ", ".join(f"{i.name}{list(feed[i.name].shape)}:{feed[i.name].dtype}"
                    for i in real_inputs)
    outs_s = ", ".join(f"{o.name}{list(v.shape)}:{v.dtype}"
                       for o, v in zip(sess.get_outputs(), outs))
    print(f"OK {filename:28s} {size:>8d} B  ir={model.ir_version} "
          f"opset={opset['ai.onnx']} nodes={len(model.graph.node)} "
          f"inits={len(model.graph.initializer)}  in: {ins}  out: {outs_s}")


GENERATORS = [
    make_cnn_constant_weights,
    make_transformer_block,
    make_control_flow,
    make_fp16_model,
    make_external_data,
    make_old_opset,
    make_tiny_mlp,
    make_if_padding,
    make_fp16_overflow,
    make_crnn_captcha,
    make_paddle_classifier,
]


def main():
    failed = False
    for gen in GENERATORS:
        files = gen()
        try:
            verify(files[0])
        except Exception as e:  # report and keep going
            failed = True
            print(f"FAIL {files[0]}: {type(e).__name__}: {e}")
        for extra in files[1:]:
            print(f"   + {extra:26s} {os.path.getsize(path_of(extra)):>8d} B")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
