/// QuantizeLinear: y = saturate(round_half_even(x / scale) + zero_point), per tensor, per axis or
/// per block (opset 21). The output type is the zero point's, else `output_dtype`, else uint8;
/// float8 E4M3FN outputs round to the nearest code (saturating unless `saturate` = 0).
enum QuantizeLinearOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0), scale = try call.tensor(1), zero = try call.optionalTensor(2)
        guard let s = scale.floats else { throw call.failure("scale has type \(scale.dataType), not a floating type") }
        var outType = DataType.uint8
        let requested = call.attribute("output_dtype").map { DataType(Int32(truncatingIfNeeded: $0.i)) }
        if let requested, requested != .undefined { outType = requested }
        if let zero {
            if let requested, requested != .undefined, requested != zero.dataType {
                throw call.failure("output_dtype \(requested) differs from the zero point's type \(zero.dataType)")
            }
            outType = zero.dataType
        }
        try QuantizationGroups.checkZeroPoint(zero, scale: scale, call: call)
        let groups = try QuantizationGroups(dataShape: x.shape, parameterShape: scale.shape, axis: call.int("axis", 1),
                                            blockSize: call.int("block_size", 0), call: call)
        guard x.kind == .float || x.kind == .int else { throw call.failure("x has type \(x.dataType)") }
        let xv = x.asFloats
        // Half-precision inputs divide in half precision (numpy does): round each quotient back.
        let halfQuotient = x.dataType == .float16 && scale.dataType == .float16
        if let range = NDArray.integerRange(outType), outType != .int32, outType != .uint32, outType != .int64 {
            let z = zero?.asInt64s
            let values = quantize(xv, s, z, groups, range: range, halfQuotient: halfQuotient)
            return [.tensor(NDArray(int64s: values, shape: x.shape, type: outType))]
        }
        guard outType == .float8e4m3fn else { throw call.unsupported("output type \(outType)") }
        let saturate = call.int("saturate", 1) != 0
        var values = [Float](repeating: 0, count: xv.count)
        for run in groups.runs {
            for k in 0..<run.count {
                let i = run.start + k
                var q = xv[i] / s[run.paramStart + k * run.paramStep]
                if halfQuotient { q = Float(Float16(q)) }
                values[i] = e4m3fn(q, saturate: saturate)
            }
        }
        return [.tensor(NDArray(floats: values, shape: x.shape, type: outType))]
    }

    /// The nearest float8 E4M3FN value. Without saturation, values past the largest code (448,
    /// which 464 still rounds to) have no encoding but NaN.
    static func e4m3fn(_ v: Float, saturate: Bool) -> Float {
        if !saturate && (v.isInfinite || abs(v) > 464) { return .nan }
        return FloatFormats.float(e4m3fn: FloatFormats.e4m3fnBits(v))
    }

    static func quantize(_ x: [Float], _ s: [Float], _ z: [Int64]?, _ groups: QuantizationGroups,
                         range: ClosedRange<Int64>, halfQuotient: Bool) -> [Int64] {
        let n = x.count
        let lo = range.lowerBound, hi = range.upperBound
        // Quotients are clamped in Float first so the Int64 conversion never traps.
        let fLo = Float(lo) - 65536, fHi = Float(hi) + 65536
        return [Int64](unsafeUninitializedCapacity: n) { out, initialized in
            x.withUnsafeBufferPointer { xp in s.withUnsafeBufferPointer { sp in
                guard let y = out.baseAddress, let xb = xp.baseAddress, let sc = sp.baseAddress else { return }
                for run in groups.runs {
                    let xr = xb + run.start, yr = y + run.start
                    for k in 0..<run.count {
                        let p = run.paramStart + k * run.paramStep
                        var q = xr[k] / sc[p]
                        if halfQuotient { q = Float(Float16(q)) }
                        let r = q.rounded(.toNearestOrEven)
                        var v: Int64
                        if r.isNaN { v = lo } else { v = Int64(min(max(r, fLo), fHi)) + (z?[p] ?? 0) }
                        yr[k] = min(max(v, lo), hi)
                    }
                }
            } }
            initialized = n
        }
    }
}

/// DynamicQuantizeLinear: uint8 codes of x with a scale and zero point chosen from x's range
/// (widened to include 0), exactly as the spec computes them.
enum DynamicQuantizeLinearOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        guard let v = x.floats else { throw call.failure("x has type \(x.dataType), not a floating type") }
        var lo: Float = 0, hi: Float = 0
        v.withUnsafeBufferPointer { p in for e in p { lo = min(lo, e); hi = max(hi, e) } }
        let scale: Float = (hi == lo ? 1 : hi - lo) / 255
        let zeroPoint = min(max(0 - lo / scale, 0), 255).rounded(.toNearestOrEven)
        let n = v.count
        let codes = [Int64](unsafeUninitializedCapacity: n) { out, initialized in
            v.withUnsafeBufferPointer { p in
                for k in 0..<n {
                    let q = (p[k] / scale).rounded(.toNearestOrEven) + zeroPoint
                    out[k] = q.isNaN ? 0 : Int64(min(max(q, 0), 255))
                }
            }
            initialized = n
        }
        return [.tensor(NDArray(int64s: codes, shape: x.shape, type: .uint8)),
                .tensor(NDArray(floats: [scale], shape: [], type: x.dataType)),
                .tensor(NDArray(int64s: [Int64(zeroPoint)], shape: [], type: .uint8))]
    }
}

extension QuantizeLinearOp {
    /// Keeps the shape; the type is the zero point's, else `output_dtype`, else uint8.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let x = try call.input(0)
        let requested = call.attribute("output_dtype").map { DataType(Int32(truncatingIfNeeded: $0.i)) }
        let type = call.has(2) ? try call.type(2) : requested.flatMap { $0 == .undefined ? nil : $0 } ?? .uint8
        let out = InferredValue.tensor(type, x.shape)
        call.countElementwise(out, 2)
        return [out]
    }
}

extension DynamicQuantizeLinearOp {
    /// uint8 of the input's shape, a float scale and a uint8 zero point (scalars).
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let x = try call.input(0)
        call.countElementwise(x, 4)
        return [.tensor(.uint8, x.shape), .tensor(.float, []), .tensor(.uint8, [])]
    }
}
