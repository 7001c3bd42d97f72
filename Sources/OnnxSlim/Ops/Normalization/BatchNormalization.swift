#if canImport(Glibc)
import Glibc
#endif

/// BatchNormalization on X [N, C, D1, …]: per channel c, Y = scale·(X − mean)/√(var + ε) + B.
/// Inference folds that into one multiply-add per element. With training_mode (opset ≥ 14) the
/// statistics are the batch's own (population variance over N and the spatial dims), and the
/// optional outputs are the updated running mean and variance.
enum BatchNormalizationOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        var x = try call.take(0)
        guard x.rank >= 1 else { throw call.failure("X must have a channel dim") }
        let n = x.shape[0], c = x.rank >= 2 ? x.shape[1] : x.shape[0]
        let batches = x.rank >= 2 ? n : 1
        let spatial = x.rank >= 2 ? Axes.product(x.shape, 2..<x.rank) : 1
        let epsilon = call.float("epsilon", 1e-5)
        let training = call.opset >= 14 && call.int("training_mode", 0) != 0
        if call.opset < 14 && (1..<5).contains(where: call.wantsOutput) {
            throw call.unsupported("training outputs of opset \(call.opset)")
        }
        // opset < 9 `spatial = 0` gives one parameter per element of a sample.
        let perElement = call.opset < 9 && call.int("spatial", 1) == 0 && spatial > 1
        let pc = perElement ? c * spatial : c
        let scale = try RowMath.vector(call, 1, count: pc, name: "scale")
        let bias = try RowMath.vector(call, 2, count: pc, name: "B")
        let runMean = try RowMath.vector(call, 3, count: pc, name: "input_mean")
        let runVar = try RowMath.vector(call, 4, count: pc, name: "input_var")
        var v = try RowMath.takeFloats(&x, call)
        guard v.count == batches * c * spatial else { throw call.failure("X shape \(x.shape) does not match its values") }

        var mean = runMean, variance = runVar
        if training {
            (mean, variance) = batchMoments(v, batches, c, spatial)
        }
        // y = x·a + b per parameter.
        var a = [Float](repeating: 0, count: pc), b = [Float](repeating: 0, count: pc)
        for k in 0..<pc {
            a[k] = scale[k] / sqrtf(variance[k] + epsilon)
            b[k] = bias[k] - mean[k] * a[k]
        }
        v.withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress else { return }
            for i in 0..<batches {
                for ch in 0..<c {
                    let block = base + (i * c + ch) * spatial
                    if perElement {
                        let o = ch * spatial
                        for s in 0..<spatial { block[s] = block[s] * a[o + s] + b[o + s] }
                    } else {
                        RowMath.affine(block, block, spatial, a[ch], b[ch])
                    }
                }
            }
        }
        x.storage = .float(v)
        var outputs: [Value] = [.tensor(x)]
        if training && (call.wantsOutput(1) || call.wantsOutput(2)) {
            let momentum = call.float("momentum", 0.9)
            let type = try call.tensor(3).dataType
            let newMean = (0..<pc).map { runMean[$0] * momentum + mean[$0] * (1 - momentum) }
            let newVar = (0..<pc).map { runVar[$0] * momentum + variance[$0] * (1 - momentum) }
            outputs.append(.tensor(NDArray(floats: newMean, shape: [pc], type: type)))
            outputs.append(.tensor(NDArray(floats: newVar, shape: [pc], type: type)))
        }
        return outputs
    }

    /// Per-channel mean and population variance over the batch and spatial dims.
    static func batchMoments(_ v: [Float], _ batches: Int, _ c: Int, _ spatial: Int) -> ([Float], [Float]) {
        var mean = [Float](repeating: 0, count: c), variance = [Float](repeating: 0, count: c)
        let count = Float(batches * spatial)
        guard count > 0 else { return (mean, variance) }
        v.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return }
            for ch in 0..<c {
                var s: Float = 0
                for i in 0..<batches { s += RowMath.sum(base + (i * c + ch) * spatial, spatial) }
                let m = s / count
                var d: Float = 0
                for i in 0..<batches { d += RowMath.squaredDeviation(base + (i * c + ch) * spatial, spatial, m) }
                mean[ch] = m
                variance[ch] = d / count
            }
        }
        return (mean, variance)
    }
}

extension BatchNormalizationOp {
    /// Y keeps X; training-mode outputs (running mean and variance) are per channel.
    /// FLOPs: a scale and a shift per element.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        var out = try call.sameAsInput(0, flopsPerElement: 2)
        let s = try call.shape(0)
        if call.outputCount > 1, s.count > 1 {
            let channels = InferredValue.tensor(try call.type(0), [s[1]])
            out += Array(repeating: channels, count: min(call.outputCount - 1, 4))
        }
        return out
    }
}
