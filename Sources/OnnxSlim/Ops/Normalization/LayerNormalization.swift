#if canImport(Glibc)
import Glibc
#endif

/// LayerNormalization (opset 17): every row of the dims from `axis` on is normalized to zero mean
/// and unit variance, then scaled and shifted elementwise. Optional outputs Mean and InvStdDev
/// keep the leading dims with the normalized dims as 1.
enum LayerNormalizationOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        var x = try call.take(0)
        let shape = x.shape, rank = shape.count
        let axis = rank == 0 ? 0 : try Axes.normalize(call.int("axis", -1), rank: rank)
        let epsilon = call.float("epsilon", 1e-5)
        let normShape = Array(shape[axis...])
        let rows = Axes.product(shape, 0..<axis), cols = Axes.product(shape, axis..<rank)
        let scale = try parameter(try call.tensor(1), normShape, "Scale", call)
        let bias = try call.optionalTensor(2).map { try parameter($0, normShape, "B", call) }
        var v = try RowMath.takeFloats(&x, call)
        let wantStats = call.wantsOutput(1) || call.wantsOutput(2)
        var means = [Float](repeating: 0, count: wantStats ? rows : 0)
        var invs = [Float](repeating: 0, count: wantStats ? rows : 0)
        let shift = bias ?? [Float](repeating: 0, count: cols)
        v.withUnsafeMutableBufferPointer { p in scale.withUnsafeBufferPointer { w in shift.withUnsafeBufferPointer { b in
            guard let base = p.baseAddress, let wp = w.baseAddress, let bp = b.baseAddress, cols > 0 else { return }
            for r in 0..<rows {
                let row = base + r * cols
                let (mean, variance) = RowMath.moments(row, cols)
                let inv = 1 / sqrtf(variance + epsilon)
                if wantStats { means[r] = mean; invs[r] = inv }
                for i in 0..<cols { row[i] = (row[i] - mean) * inv * wp[i] + bp[i] }
            }
        } } }
        x.storage = .float(v)
        var outputs: [Value] = [.tensor(x)]
        if wantStats {
            // stash_type 1 (the default) computes and reports statistics in float32.
            let statType: DataType = call.int("stash_type", 1) == 1 ? .float : x.dataType
            let statShape = Array(shape[..<axis]) + [Int](repeating: 1, count: rank - axis)
            outputs.append(.tensor(NDArray(floats: means, shape: statShape, type: statType)))
            outputs.append(.tensor(NDArray(floats: invs, shape: statShape, type: statType)))
        }
        return outputs
    }

    /// Scale or B as one value per element of a normalized row (broadcast to `normShape`).
    static func parameter(_ t: NDArray, _ normShape: [Int], _ name: String, _ call: KernelCall) throws -> [Float] {
        let count = normShape.reduce(1, *)
        guard t.kind == .float else { throw call.failure("\(name) is \(t.dataType)") }
        if t.count == count { return t.asFloats }
        // Leading 1-dims beyond the normalized rank do not change the values.
        var s = t.shape
        while s.count > normShape.count, s.first == 1 { s.removeFirst() }
        guard s.count <= normShape.count, (try? Broadcast.shape(s, normShape)) == normShape else {
            throw call.failure("\(name) of shape \(t.shape) does not broadcast to \(normShape)")
        }
        return t.reshaped(s).expanded(to: normShape).asFloats
    }
}

extension LayerNormalizationOp {
    /// Y keeps X; Mean and InvStdDev keep the leading dims and are 1 over the normalized ones.
    /// FLOPs: mean, variance, normalize, scale and shift: 5 per element.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let out = try call.sameAsInput(0, flopsPerElement: 5)
        let s = try call.shape(0)
        let axis = try ShapeRules.axis(call.int("axis", -1), rank: s.count, call)
        let stats = InferredValue.tensor(.float, Array(s[..<axis]) + [DimExpr](repeating: 1, count: s.count - axis))
        return out + [stats, stats]
    }
}
