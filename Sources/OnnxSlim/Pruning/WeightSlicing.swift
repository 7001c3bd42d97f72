/// Weight arithmetic structural pruning needs: keeping some indices along one axis, and the
/// squared norm of each index's slice.
extension NDArray {
    /// The tensor with only `indices` (in that order) along `axis`.
    public func keeping(_ indices: [Int], along axis: Int) -> NDArray {
        let length = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *), outer = shape[..<axis].reduce(1, *)
        var newShape = shape
        newShape[axis] = indices.count
        func gather<T>(_ v: [T]) -> [T] {
            var out: [T] = []
            out.reserveCapacity(outer * indices.count * inner)
            for o in 0..<outer {
                for i in indices { let base = (o * length + i) * inner; out += v[base..<(base + inner)] }
            }
            return out
        }
        switch storage {
        case .float(let v): return NDArray(dataType, shape: newShape, storage: .float(gather(v)))
        case .int(let v): return NDArray(dataType, shape: newShape, storage: .int(gather(v)))
        case .bool(let v): return NDArray(dataType, shape: newShape, storage: .bool(gather(v)))
        case .string(let v): return NDArray(dataType, shape: newShape, storage: .string(gather(v)))
        }
    }

    /// Σ x² over each index of `axis` (every other axis summed), in Float64.
    public func squaredNorms(along axis: Int) -> [Double] {
        let length = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *), outer = shape[..<axis].reduce(1, *)
        var out = [Double](repeating: 0, count: length)
        let v = asFloats
        for o in 0..<outer {
            for i in 0..<length {
                let base = (o * length + i) * inner
                var s = 0.0
                for k in 0..<inner { let x = Double(v[base + k]); s += x * x }
                out[i] += s
            }
        }
        return out
    }

    /// Σ_i c_i · W[…, i, …] over `axis`: the weight's response to a constant input c along its
    /// reduction axis, one value per remaining element of the output-channel axis
    /// `outputAxis` (the kernel positions of a Conv summed too).
    public func contraction(_ c: [Double], along axis: Int, outputAxis: Int) -> [Double] {
        let v = asFloats
        var out = [Double](repeating: 0, count: shape[outputAxis])
        var strides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * shape[d + 1] }
        for flat in 0..<v.count {
            let i = (flat / strides[axis]) % shape[axis]
            guard c[i] != 0 else { continue }
            out[(flat / strides[outputAxis]) % shape[outputAxis]] += c[i] * Double(v[flat])
        }
        return out
    }
}
