"""Float test models for the quantization benchmark, generated with seeded random weights.

  bert   ~90 MB BERT-style transformer as torch.onnx.export writes it (bench_io.build_bert)
  yolo   YOLOv5s-like CNN, ~7 M params, opset 17, images 1x3x320x320: Conv(+bias)+SiLU, C3/CSP
         blocks with Concat, SPPF (MaxPool), FPN/PAN neck with Resize(nearest) upsampling,
         detect head (1x1 Conv -> Reshape -> Transpose -> Reshape -> Concat -> [1, 6300, 85]).
         The head's logits are left raw (no Sigmoid) so the cosine metric stays sensitive.
  paddle MobileNetV2-like CNN as paddle2onnx writes it: opset 11, every weight a Constant node
         (no initializers), unfused BatchNormalization, Relu, depthwise Conv, residual Add,
         GlobalAveragePool -> Flatten -> Gemm; ~2.7 M params, x: [N, 3, 224, 224].

Each ensure_* function caches the model in the work directory and returns its path; feeds(name)
returns the fixed, seeded inputs used for accuracy (the first one is also used for latency).
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from bench_io import VOCAB, ensure_bert

YOLO_SIZE, PADDLE_SIZE = 320, 224
GAIN = 2.25  # He gain tuned (with the residual adds) so that YOLO outputs stay O(1)


def _save_checked(model, path, feed):
    """Check the model, run it once in onnxruntime (finite outputs), then move it into place."""
    import onnxruntime as ort
    tmp = path + ".tmp"
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, tmp)
    outs = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"]).run(None, feed)
    assert all(np.isfinite(o).all() for o in outs), "non-finite outputs"
    os.replace(tmp, path)
    n = sum(o.size for o in outs)
    print(f"[gen] wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB); checker + onnxruntime OK, "
          f"{n} output values, mean |y| {np.mean([np.abs(o).mean() for o in outs]):.3g}")
    return path


# ---------------------------------------------------------------- YOLO-style (torch export naming)
class _Yolo:
    def __init__(self):
        self.rng = np.random.default_rng(0)
        self.nodes, self.inits, self.params = [], [], 0

    def node(self, op, inputs, name, **attrs):
        out = f"{name}_output_0"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(arr, name))
        self.params += arr.size
        return name

    def conv(self, x, c1, c2, k, s, p, act=True):
        w = self.rng.standard_normal((c2, c1, k, k), dtype=np.float32) * float(np.sqrt(GAIN / (c1 * k * k)))
        b = self.rng.standard_normal(c2, dtype=np.float32) * 0.01
        y = self.node("Conv", [x, self.init(f"{p[1:].replace('/', '.')}.weight", w),
                               self.init(f"{p[1:].replace('/', '.')}.bias", b)],
                      f"{p}/conv/Conv", kernel_shape=[k, k], strides=[s, s], pads=[k // 2] * 4)
        if not act:
            return y
        return self.node("Mul", [y, self.node("Sigmoid", [y], f"{p}/act/Sigmoid")], f"{p}/act/Mul")

    def c3(self, x, c1, c2, n, p, shortcut=True):
        h = c2 // 2
        a = self.conv(x, c1, h, 1, 1, f"{p}/cv1")
        for i in range(n):
            y = self.conv(self.conv(a, h, h, 1, 1, f"{p}/m.{i}/cv1"), h, h, 3, 1, f"{p}/m.{i}/cv2")
            a = self.node("Add", [a, y], f"{p}/m.{i}/Add") if shortcut else y
        cat = self.node("Concat", [a, self.conv(x, c1, h, 1, 1, f"{p}/cv2")], f"{p}/Concat", axis=1)
        return self.conv(cat, 2 * h, c2, 1, 1, f"{p}/cv3")

    def sppf(self, x, c1, c2, p):
        ys = [self.conv(x, c1, c1 // 2, 1, 1, f"{p}/cv1")]
        for i in range(3):
            ys.append(self.node("MaxPool", [ys[-1]], f"{p}/m_{i}/MaxPool", kernel_shape=[5, 5],
                                strides=[1, 1], pads=[2, 2, 2, 2]))
        return self.conv(self.node("Concat", ys, f"{p}/Concat", axis=1), 2 * c1, c2, 1, 1, f"{p}/cv2")

    def up(self, x, p):
        return self.node("Resize", [x, "", "up_scales"], f"{p}/Resize", mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor")

    def cat(self, xs, p):
        return self.node("Concat", xs, f"{p}/Concat", axis=1)

    def build(self):
        self.inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "up_scales"))
        x = self.conv("images", 3, 32, 3, 2, "/model.0")                    # 160
        x = self.c3(self.conv(x, 32, 64, 3, 2, "/model.1"), 64, 64, 1, "/model.2")          # 80
        p3 = self.c3(self.conv(x, 64, 128, 3, 2, "/model.3"), 128, 128, 2, "/model.4")      # 40
        p4 = self.c3(self.conv(p3, 128, 256, 3, 2, "/model.5"), 256, 256, 3, "/model.6")    # 20
        x = self.c3(self.conv(p4, 256, 512, 3, 2, "/model.7"), 512, 512, 1, "/model.8")     # 10
        h10 = self.conv(self.sppf(x, 512, 512, "/model.9"), 512, 256, 1, 1, "/model.10")
        x = self.c3(self.cat([self.up(h10, "/model.11"), p4], "/model.12"), 512, 256, 1, "/model.13", False)
        h14 = self.conv(x, 256, 128, 1, 1, "/model.14")
        o3 = self.c3(self.cat([self.up(h14, "/model.15"), p3], "/model.16"), 256, 128, 1, "/model.17", False)
        x = self.cat([self.conv(o3, 128, 128, 3, 2, "/model.18"), h14], "/model.19")
        o4 = self.c3(x, 256, 256, 1, "/model.20", False)
        x = self.cat([self.conv(o4, 256, 256, 3, 2, "/model.21"), h10], "/model.22")
        o5 = self.c3(x, 512, 512, 1, "/model.23", False)
        heads = []
        for i, (o, c, g) in enumerate([(o3, 128, 40), (o4, 256, 20), (o5, 512, 10)]):
            p = f"/model.24/m.{i}"
            y = self.conv(o, c, 255, 1, 1, p, act=False)
            y = self.node("Reshape", [y, self.init(f"{p}/shape5", np.array([1, 3, 85, g, g], np.int64))],
                          f"{p}/Reshape")
            y = self.node("Transpose", [y], f"{p}/Transpose", perm=[0, 1, 3, 4, 2])
            heads.append(self.node("Reshape", [y, self.init(f"{p}/shape3", np.array([1, -1, 85], np.int64))],
                                   f"{p}/Reshape_1"))
        self.nodes.append(helper.make_node("Concat", heads, ["output0"], name="/model.24/Concat", axis=1))
        graph = helper.make_graph(
            self.nodes, "main_graph",
            [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, YOLO_SIZE, YOLO_SIZE])],
            [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 6300, 85])], self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8,
                                 producer_name="pytorch", producer_version="2.1.0")


# ---------------------------------------------------------------- Paddle-style (paddle2onnx naming)
class _Paddle:
    # MobileNetV2 (expand t, channels c, repeats n, stride s), last 1x1 conv 768, 1000 classes
    CFG = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
           (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self):
        self.rng = np.random.default_rng(0)
        self.nodes, self.params, self.k = [], 0, {}

    def _id(self, kind):
        i = self.k.get(kind, 0)
        self.k[kind] = i + 1
        return i

    def const(self, name, arr):  # paddle2onnx: weights as Constant nodes, output = parameter name
        self.nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(arr, name)))
        self.params += arr.size
        return name

    def node(self, op, inputs, out, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"p2o.{op}.{self._id('n' + op)}", **attrs))
        return out

    def conv_bn(self, x, c1, c2, k, s, groups=1, relu=True):
        ci, bi = self._id("conv2d"), self._id("batch_norm")
        w = self.rng.standard_normal((c2, c1 // groups, k, k), dtype=np.float32)
        w *= float(np.sqrt(2.0 / (c1 // groups * k * k)))
        y = self.node("Conv", [x, self.const(f"conv2d_{ci}.w_0", w)], f"conv2d_{ci}.tmp_0",
                      kernel_shape=[k, k], strides=[s, s], pads=[k // 2] * 4, group=groups,
                      dilations=[1, 1])
        r = lambda lo, hi: self.rng.uniform(lo, hi, c2).astype(np.float32)
        bn = [self.const(f"batch_norm_{bi}.w_0", r(0.8, 1.2)), self.const(f"batch_norm_{bi}.b_0", r(-0.1, 0.1)),
              self.const(f"batch_norm_{bi}.w_1", r(-0.1, 0.1)), self.const(f"batch_norm_{bi}.w_2", r(0.8, 1.6))]
        y = self.node("BatchNormalization", [y] + bn, f"batch_norm_{bi}.tmp_2", epsilon=1e-5, momentum=0.9)
        return self.node("Relu", [y], f"relu_{self._id('relu')}.tmp_0") if relu else y

    def build(self):
        x = self.conv_bn("x", 3, 32, 3, 2)
        c_in = 32
        for t, c, n, s in self.CFG:
            for i in range(n):
                stride, h = (s if i == 0 else 1), c_in * t
                y = self.conv_bn(x, c_in, h, 1, 1) if t != 1 else x
                y = self.conv_bn(y, h, h, 3, stride, groups=h)
                y = self.conv_bn(y, h, c, 1, 1, relu=False)
                if stride == 1 and c_in == c:
                    y = self.node("Add", [x, y], f"elementwise_add_{self._id('add')}")
                x, c_in = y, c
        x = self.conv_bn(x, c_in, 768, 1, 1)
        x = self.node("GlobalAveragePool", [x], "pool2d_0.tmp_0")
        x = self.node("Flatten", [x], "flatten_0.tmp_0", axis=1)
        w = self.rng.standard_normal((768, 1000), dtype=np.float32) * float(np.sqrt(1.0 / 768))
        b = self.rng.standard_normal(1000, dtype=np.float32) * 0.01
        self.node("Gemm", [x, self.const("linear_0.w_0", w), self.const("linear_0.b_0", b)], "linear_0.tmp_1",
                  alpha=1.0, beta=1.0)
        dims = ["p2o.DynamicDimension.0", 3, PADDLE_SIZE, PADDLE_SIZE]
        graph = helper.make_graph(
            self.nodes, "paddle-onnx", [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
            [helper.make_tensor_value_info("linear_0.tmp_1", TensorProto.FLOAT, ["p2o.DynamicDimension.0", 1000])])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)], ir_version=6,
                                 producer_name="PaddlePaddle", producer_version="2.5.0")


def _ensure(workdir, fname, builder, name):
    path = os.path.join(workdir, fname)
    if os.path.exists(path):
        print(f"[gen] using cached {path}")
        return path
    b = builder()
    model = b.build()
    print(f"[gen] {name}: {b.params / 1e6:.2f} M params, {len(model.graph.node)} nodes")
    return _save_checked(model, path, feeds(name)[0])


def ensure(name, workdir):
    if name == "bert":
        return ensure_bert(workdir)
    if name == "yolo":
        return _ensure(workdir, "yolo_cnn.onnx", _Yolo, "yolo")
    return _ensure(workdir, "paddle_cnn.onnx", _Paddle, "paddle")


def feeds(name):
    """Fixed seeded inputs: BERT batch 1 x seq 128 (3 sets, with padding / segments), CNNs 2 images."""
    if name == "bert":
        out = []
        for i in range(3):
            rng, s = np.random.default_rng(100 + i), 128
            mask, types = np.ones((1, s), np.int64), np.zeros((1, s), np.int64)
            if i == 1:
                mask[:, 100:] = 0  # padded tail
            if i == 2:
                types[:, 64:] = 1  # second segment
            out.append({"input_ids": rng.integers(0, VOCAB, (1, s), dtype=np.int64),
                        "attention_mask": mask, "token_type_ids": types})
        return out
    rng = np.random.default_rng(200)
    if name == "yolo":  # images in [0, 1] as YOLO preprocessing gives
        return [{"images": rng.random((1, 3, YOLO_SIZE, YOLO_SIZE), dtype=np.float32)} for _ in range(2)]
    return [{"x": rng.standard_normal((1, 3, PADDLE_SIZE, PADDLE_SIZE), dtype=np.float32)} for _ in range(2)]
