#if canImport(Glibc)
import Glibc
#endif

/// The com.microsoft operators onnxruntime's transformer optimizer writes into BERT-style
/// graphs (Attention with packed QKV, MultiHeadAttention, SkipLayerNormalization, EmbedLayerNormalization,
/// BiasGelu, FastGelu, Gelu): kernels, shape rules and axis rules, so fused models can be run,
/// inferred and pruned like their unfused exports.
enum MicrosoftKernels {
    static let domain = "com.microsoft"

    static let table: [String: Kernel] = [
        "Attention": AttentionOp.evaluate,
        "MultiHeadAttention": MultiHeadAttentionOp.evaluate,
        "SkipLayerNormalization": skipLayerNormalization,
        "EmbedLayerNormalization": embedLayerNormalization,
        "BiasGelu": { call in [.tensor(try biasedGelu(call, tanh: false))] },
        "FastGelu": { call in [.tensor(try biasedGelu(call, tanh: true))] },
        "Gelu": { call in [.tensor(try biasedGelu(call, tanh: false))] },
    ]

    static let shapeRules: [String: ShapeRule] = [
        "Attention": AttentionOp.inferShape,
        "MultiHeadAttention": MultiHeadAttentionOp.inferShape,
        "SkipLayerNormalization": { call in
            let out = try call.sameAsInput(0, flopsPerElement: 7)
            let s = try call.shape(0)
            let stats = InferredValue.tensor(.float, Array(s.dropLast()) + [1])
            return out + [stats, stats, out[0]]
        },
        "EmbedLayerNormalization": { call in
            let ids = try call.shape(0), words = try call.shape(2)
            guard ids.count == 2, words.count == 2 else { throw call.gap("input_ids must be [batch, sequence]") }
            let type = try call.type(2)
            let out = InferredValue.tensor(type, [ids[0], ids[1], words[1]])
            return [out, .tensor(.int32, [ids[0]]), out]
        },
        "BiasGelu": { call in try call.sameAsInput(0, flopsPerElement: 8) },
        "FastGelu": { call in try call.sameAsInput(0, flopsPerElement: 8) },
        "Gelu": { call in try call.sameAsInput(0, flopsPerElement: 8) },
    ]

    static let axisRules: [String: AxisRule] = [
        "Attention": AttentionOp.axes,
        "MultiHeadAttention": MultiHeadAttentionOp.axes,
        "SkipLayerNormalization": AxisRules.identity(except: { _, rank in [rank - 1] }, reason: "normalized by SkipLayerNormalization"),
        "EmbedLayerNormalization": AxisRules.opaque("normalized by EmbedLayerNormalization"),
        "BiasGelu": AxisRules.broadcast,
        "FastGelu": AxisRules.broadcast,
        "Gelu": AxisRules.identity,
    ]

    /// gelu(x + bias): erf form (BiasGelu, Gelu) or tanh form (FastGelu).
    static func biasedGelu(_ call: KernelCall, tanh: Bool) throws -> NDArray {
        var x = try call.take(0)
        var v = try RowMath.takeFloats(&x, call)
        if let b = try call.optionalTensor(1) {
            let bias = b.asFloats
            guard !bias.isEmpty, v.count % bias.count == 0 else { throw call.failure("bias does not match the last dim") }
            for i in v.indices { v[i] += bias[i % bias.count] }
        }
        v.withUnsafeMutableBufferPointer { tanh ? FastMath.geluTanh($0) : FastMath.gelu($0) }
        x.storage = .float(v)
        return x
    }

    /// LayerNorm(input + skip + bias) · gamma + beta over the last axis; output 3 is the sum.
    static func skipLayerNormalization(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0), skip = try call.tensor(1)
        guard let cols = x.shape.last, cols > 0, skip.count == x.count else { throw call.failure("skip must match input") }
        let gamma = try RowMath.vector(call, 2, count: cols, name: "gamma")
        let beta = call.has(3) ? try RowMath.vector(call, 3, count: cols, name: "beta") : [Float](repeating: 0, count: cols)
        let bias = call.has(4) ? try RowMath.vector(call, 4, count: cols, name: "bias") : [Float](repeating: 0, count: cols)
        let epsilon = call.float("epsilon", 1e-12)
        var sum = x.asFloats
        let s = skip.asFloats
        for i in sum.indices { sum[i] += s[i] + bias[i % cols] }
        var out = sum
        let rows = out.count / cols
        out.withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress else { return }
            for r in 0..<rows {
                let row = base + r * cols
                let (mean, variance) = RowMath.moments(row, cols)
                let inv = 1 / sqrtf(variance + epsilon)
                for i in 0..<cols { row[i] = (row[i] - mean) * inv * gamma[i] + beta[i] }
            }
        }
        var outputs: [Value] = [.tensor(NDArray(floats: out, shape: x.shape, type: x.dataType))]
        if call.outputCount > 3 {
            let none = NDArray(floats: [], shape: [0])
            outputs += [.tensor(none), .tensor(none), .tensor(NDArray(floats: sum, shape: x.shape, type: x.dataType))]
        }
        return outputs
    }

    /// LayerNorm(word[ids] + position[0..<S] + segment[segment_ids]) · gamma + beta; output 1 is
    /// mask_index: the number of 1s per row of `mask` (int32), as onnxruntime computes it.
    static func embedLayerNormalization(_ call: KernelCall) throws -> [Value] {
        let ids = try call.tensor(0).asInts
        let shape = try call.tensor(0).shape
        guard shape.count == 2 else { throw call.failure("input_ids must be [batch, sequence]") }
        let (batch, length) = (shape[0], shape[1])
        let words = try call.tensor(2), positions = try call.tensor(3)
        let d = words.shape[1]
        let w = words.asFloats, p = positions.asFloats
        let segments = call.has(1) ? try call.tensor(1).asInts : nil
        let segmentTable = call.has(4) ? try call.tensor(4).asFloats : nil
        let gamma = try RowMath.vector(call, 5, count: d, name: "gamma"), beta = try RowMath.vector(call, 6, count: d, name: "beta")
        let epsilon = call.float("epsilon", 1e-12)
        var out = [Float](repeating: 0, count: batch * length * d)
        for b in 0..<batch {
            for s in 0..<length {
                let token = ids[b * length + s], row = (b * length + s) * d
                guard token >= 0, token < words.shape[0], s < positions.shape[0] else { throw call.failure("index out of range") }
                for i in 0..<d { out[row + i] = w[token * d + i] + p[s * d + i] }
                if let segments, let segmentTable {
                    let g = segments[b * length + s]
                    for i in 0..<d { out[row + i] += segmentTable[g * d + i] }
                }
            }
        }
        let sum = out
        out.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for r in 0..<(batch * length) {
                let row = base + r * d
                let (mean, variance) = RowMath.moments(row, d)
                let inv = 1 / sqrtf(variance + epsilon)
                for i in 0..<d { row[i] = (row[i] - mean) * inv * gamma[i] + beta[i] }
            }
        }
        var index = [Int64](repeating: Int64(length), count: batch)
        if call.has(7) {
            let mask = try call.tensor(7).asInts
            for b in 0..<batch { index[b] = Int64(mask[(b * length)..<((b + 1) * length)].reduce(0, +)) }
        }
        return [.tensor(NDArray(floats: out, shape: [batch, length, d], type: words.dataType)),
                .tensor(NDArray(int64s: index, shape: [batch], type: .int32)),
                .tensor(NDArray(floats: sum, shape: [batch, length, d], type: words.dataType))]
    }
}
