/// DequantizeLinear: y = (x - zero_point) · scale, per tensor, per axis or per block (opset 21).
/// Runs once per layer of a weight-quantized model, so the loops work on raw buffers run by run.
enum DequantizeLinearOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0), scale = try call.tensor(1), zero = try call.optionalTensor(2)
        guard let s = scale.floats else { throw call.failure("scale has type \(scale.dataType), not a floating type") }
        var outType = scale.dataType
        if let t = call.attribute("output_dtype"), t.i != 0 { outType = DataType(Int32(truncatingIfNeeded: t.i)) }
        guard ElementKind(outType) == .float else { throw call.failure("output_dtype \(outType) is not a floating type") }
        try QuantizationGroups.checkZeroPoint(zero, scale: scale, call: call)
        let groups = try QuantizationGroups(dataShape: x.shape, parameterShape: scale.shape, axis: call.int("axis", 1),
                                            blockSize: call.int("block_size", 0), call: call)
        let n = x.count
        let values: [Float]
        switch x.storage {
        case .int(let q):
            var z: [Int64]? = nil
            if let zero {
                guard let zv = zero.int64s else { throw call.failure("zero point has type \(zero.dataType), x has \(x.dataType)") }
                if zv.contains(where: { $0 != 0 }) { z = zv }
            }
            values = dequantize(q, s, z, groups, count: n, wide: x.dataType == .int32 || x.dataType == .uint32)
        case .float(let q):
            // float8 codes: a zero point, when given, is zero by definition.
            values = dequantize(q, s, groups, count: n)
        default:
            throw call.failure("x has type \(x.dataType)")
        }
        return [.tensor(NDArray(floats: values, shape: x.shape, type: outType))]
    }

    /// Integer codes. 32-bit codes go through Double so large differences stay exact before scaling.
    static func dequantize(_ q: [Int64], _ s: [Float], _ z: [Int64]?, _ groups: QuantizationGroups, count n: Int, wide: Bool) -> [Float] {
        [Float](unsafeUninitializedCapacity: n) { out, initialized in
            q.withUnsafeBufferPointer { qp in s.withUnsafeBufferPointer { sp in
                guard let y = out.baseAddress, let x = qp.baseAddress, let sc = sp.baseAddress else { return }
                if let z {
                    z.withUnsafeBufferPointer { zp in
                        guard let zc = zp.baseAddress else { return }
                        for run in groups.runs {
                            let xr = x + run.start, yr = y + run.start
                            if run.paramStep == 0 {
                                let sv = sc[run.paramStart], zv = zc[run.paramStart]
                                if wide { for k in 0..<run.count { yr[k] = Float(Double(xr[k] - zv) * Double(sv)) } }
                                else { for k in 0..<run.count { yr[k] = Float(xr[k] - zv) * sv } }
                            } else {
                                let sr = sc + run.paramStart, zr = zc + run.paramStart
                                if wide { for k in 0..<run.count { yr[k] = Float(Double(xr[k] - zr[k]) * Double(sr[k])) } }
                                else { for k in 0..<run.count { yr[k] = Float(xr[k] - zr[k]) * sr[k] } }
                            }
                        }
                    }
                } else {
                    for run in groups.runs {
                        let xr = x + run.start, yr = y + run.start
                        if run.paramStep == 0 {
                            let sv = sc[run.paramStart]
                            if wide { for k in 0..<run.count { yr[k] = Float(Double(xr[k]) * Double(sv)) } }
                            else { for k in 0..<run.count { yr[k] = Float(xr[k]) * sv } }
                        } else {
                            let sr = sc + run.paramStart
                            if wide { for k in 0..<run.count { yr[k] = Float(Double(xr[k]) * Double(sr[k])) } }
                            else { for k in 0..<run.count { yr[k] = Float(xr[k]) * sr[k] } }
                        }
                    }
                }
            } }
            initialized = n
        }
    }

    /// float8 codes (already decoded to Float).
    static func dequantize(_ q: [Float], _ s: [Float], _ groups: QuantizationGroups, count n: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: n) { out, initialized in
            q.withUnsafeBufferPointer { qp in s.withUnsafeBufferPointer { sp in
                guard let y = out.baseAddress, let x = qp.baseAddress, let sc = sp.baseAddress else { return }
                for run in groups.runs {
                    let xr = x + run.start, yr = y + run.start
                    if run.paramStep == 0 {
                        let sv = sc[run.paramStart]
                        for k in 0..<run.count { yr[k] = xr[k] * sv }
                    } else {
                        let sr = sc + run.paramStart
                        for k in 0..<run.count { yr[k] = xr[k] * sr[k] }
                    }
                }
            } }
            initialized = n
        }
    }
}

extension DequantizeLinearOp {
    /// Keeps the shape; the type is the scale's (or `output_dtype`).
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let x = try call.input(0)
        var type = try call.type(1)
        if let t = call.attribute("output_dtype"), t.i != 0 { type = DataType(Int32(truncatingIfNeeded: t.i)) }
        let out = InferredValue.tensor(type, x.shape)
        call.countElementwise(out, 2)
        return [out]
    }
}
