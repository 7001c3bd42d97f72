/// MaxUnpool: scatters pooled values back to the flat positions MaxPool's Indices recorded, in a
/// zero tensor of the inferred size, embedded at the start of output_shape when that is given
/// (as the ONNX reference and its tests do).
enum MaxUnpool {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0), idx = try call.tensor(1)
        guard x.rank >= 3 else { throw call.failure("input \(x.shape) needs N, C and spatial axes") }
        guard idx.shape == x.shape else { throw call.failure("indices \(idx.shape) differ from input \(x.shape)") }
        let r = x.rank - 2
        guard let kernel = call.ints("kernel_shape"), kernel.count == r else { throw call.failure("kernel_shape is required") }
        let strides = call.ints("strides") ?? [Int](repeating: 1, count: r)
        let pads = call.ints("pads") ?? [Int](repeating: 0, count: 2 * r)
        guard strides.count == r, pads.count == 2 * r else { throw call.failure("strides/pads do not match the rank") }
        var shape = Array(x.shape.prefix(2))
        for d in 0..<r { shape.append((x.shape[d + 2] - 1) * strides[d] - pads[d] - pads[r + d] + kernel[d]) }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw call.failure("negative output shape \(shape)") }
        // Indices address the inferred shape; a larger output_shape pads it with zeros at the end.
        var target = shape
        if let requested = try call.optionalTensor(2) {
            target = requested.asInts
            guard target.count == x.rank, zip(target, shape).allSatisfy({ $0 >= $1 }) else {
                throw call.failure("output_shape \(target) does not hold the unpooled shape \(shape)")
            }
        }
        let count = shape.reduce(1, *)
        let positions = idx.asInts
        for p in positions where p < 0 || p >= count { throw call.failure("index \(p) is outside the output of \(count) elements") }
        // Where each element of the inferred shape lands in the target.
        let place = Broadcast.sourceIndicesStrided(shape, NDArray.strides(target))
        let n = target.reduce(1, *)
        switch x.storage {
        case .float(let v):
            var out = [Float](repeating: 0, count: n)
            for (k, p) in positions.enumerated() { out[place[p]] = v[k] }
            return [.tensor(NDArray(floats: out, shape: target, type: x.dataType))]
        case .int(let v):
            var out = [Int64](repeating: 0, count: n)
            for (k, p) in positions.enumerated() { out[place[p]] = v[k] }
            return [.tensor(NDArray(int64s: out, shape: target, type: x.dataType))]
        default:
            throw call.unsupported("MaxUnpool on \(x.dataType)")
        }
    }
}

extension MaxUnpool {
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0), type = try call.type(0)
        if call.has(2) { return [.tensor(type, try call.requiredDims(2, "output_shape"))] }
        let r = s.count - 2
        guard r > 0, let kernel = call.ints("kernel_shape"), kernel.count == r else { throw call.gap("kernel_shape is required") }
        let strides = call.ints("strides") ?? [Int](repeating: 1, count: r)
        let pads = call.ints("pads") ?? [Int](repeating: 0, count: 2 * r)
        guard strides.count == r, pads.count == 2 * r else { throw call.gap("strides/pads do not match the rank") }
        let spatial = (0..<r).map { d in (s[d + 2] - 1) * DimExpr(strides[d]) + DimExpr(kernel[d] - pads[d] - pads[r + d]) }
        return [.tensor(type, Array(s.prefix(2)) + spatial)]
    }
}
