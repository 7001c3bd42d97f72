/// Linear quantization of a weight: q = clamp(round(x / scale) + zero_point), one scale (and zero
/// point) per group of values given by a `QuantLayout`. fp8 stores x / scale as E4M3FN.
///
/// Symmetric (the default for weights): scale = max|x| / qmax and a zero point at the middle of
/// the type's range, so 0 is exact and no zero-point arithmetic is needed at run time.
/// Asymmetric: scale = (max - min) / (qmax - qmin) over a range widened to include 0.
public struct QuantizedTensor: Sendable {
    public var format: QuantFormat
    public var layout: QuantLayout
    public var dims: [Int]
    /// Packed codes in ONNX raw_data layout (4-bit: two per byte, first in the low nibble).
    public var data: [UInt8]
    /// One scale per group, in the shape `scaleDims`.
    public var scales: [Float]
    public var scaleDims: [Int]
    /// Zero points in the quantized type, packed like `data`; nil when symmetric and signed.
    public var zeroPoints: [UInt8]?
}

public enum WeightQuantizer {
    /// Quantizes `values` of shape `dims`.
    public static func quantize(_ values: UnsafeBufferPointer<Float>, dims: [Int], format: QuantFormat,
                                layout: QuantLayout, symmetric: Bool = true) -> QuantizedTensor {
        let count = values.count
        // Strides: element (o, a, i) with a along the axis, outer o before it, inner i after it.
        let axis = layout.axis ?? 0
        let length = layout.axis == nil ? 1 : dims[axis]
        let inner = layout.axis == nil ? count : dims[(axis + 1)...].reduce(1, *)
        let outer = layout.axis == nil ? 1 : dims[..<axis].reduce(1, *)
        let block = layout.blockSize ?? 1
        let blocksAlong = layout.blockSize.map { (length + $0 - 1) / $0 } ?? length
        var scaleDims: [Int]
        let groups: Int
        if layout.axis == nil {
            scaleDims = []
            groups = 1
        } else if layout.blockSize != nil {
            scaleDims = dims
            scaleDims[axis] = blocksAlong
            groups = outer * blocksAlong * inner
        } else {
            scaleDims = [length]
            groups = length
        }
        /// The group of element (o, a, i).
        @inline(__always) func group(_ o: Int, _ a: Int, _ i: Int) -> Int {
            if layout.axis == nil { return 0 }
            if layout.blockSize != nil { return (o * blocksAlong + a / block) * inner + i }
            return a
        }

        var lo = [Float](repeating: .infinity, count: groups)
        var hi = [Float](repeating: -.infinity, count: groups)
        if layout.axis == nil {
            for v in values { lo[0] = min(lo[0], v); hi[0] = max(hi[0], v) }
        } else {
            var k = 0
            for o in 0..<outer {
                for a in 0..<length {
                    if layout.blockSize == nil {
                        var l = lo[a], h = hi[a]
                        for _ in 0..<inner { let v = values[k]; l = min(l, v); h = max(h, v); k += 1 }
                        lo[a] = l; hi[a] = h
                    } else {
                        for i in 0..<inner {
                            let g = group(o, a, i)
                            let v = values[k]
                            lo[g] = min(lo[g], v); hi[g] = max(hi[g], v)
                            k += 1
                        }
                    }
                }
            }
        }

        // Scales and zero points per group.
        var scales = [Float](repeating: 1, count: groups)
        var zeros = [Int](repeating: format.symmetricZeroPoint, count: groups)
        for g in 0..<groups {
            let l = lo[g].isFinite ? lo[g] : 0, h = hi[g].isFinite ? hi[g] : 0
            if symmetric || format == .fp8 {
                let amax = max(abs(l), abs(h))
                scales[g] = amax > 0 ? amax / format.symmetricMax : 1
            } else {
                let (qmin, qmax) = format.range!
                let rmin = min(l, 0), rmax = max(h, 0)
                let s = rmax > rmin ? (rmax - rmin) / Float(qmax - qmin) : 1
                scales[g] = s
                zeros[g] = min(qmax, max(qmin, Int((Float(qmin) - rmin / s).rounded(.toNearestOrEven))))
            }
        }

        // Codes.
        var bytes = [UInt8](repeating: 0, count: format.isSubByte ? (count + 1) / 2 : count)
        let inverse = scales.map { 1 / $0 }
        bytes.withUnsafeMutableBufferPointer { out in
            var k = 0
            for o in 0..<outer {
                for a in 0..<length {
                    for i in 0..<inner {
                        let g = group(o, a, i)
                        let code = encode(values[k] * inverse[g], zero: zeros[g], format)
                        if format.isSubByte {
                            let nibble = code & 0x0F
                            out[k >> 1] |= (k & 1 == 0) ? nibble : nibble << 4
                        } else {
                            out[k] = code
                        }
                        k += 1
                    }
                }
            }
        }

        var zeroPoints: [UInt8]? = nil
        let needsZeroPoints = !(symmetric && format.symmetricZeroPoint == 0) && format != .fp8
        if needsZeroPoints {
            var packed = [UInt8](repeating: 0, count: format.isSubByte ? (groups + 1) / 2 : groups)
            for g in 0..<groups {
                let z = UInt8(truncatingIfNeeded: zeros[g])
                if format.isSubByte { packed[g >> 1] |= (g & 1 == 0) ? (z & 0x0F) : (z & 0x0F) << 4 } else { packed[g] = z }
            }
            zeroPoints = packed
        }
        return QuantizedTensor(format: format, layout: layout, dims: dims, data: bytes, scales: scales,
                               scaleDims: scaleDims, zeroPoints: zeroPoints)
    }

    /// One code: the scaled value rounded, shifted by the zero point and clamped; fp8 is converted.
    @inline(__always)
    static func encode(_ scaled: Float, zero: Int, _ format: QuantFormat) -> UInt8 {
        if format == .fp8 { return FloatFormats.e4m3fnBits(scaled) }
        let (qmin, qmax) = format.range!
        let r = scaled.rounded(.toNearestOrEven)
        let q = r.isFinite ? min(Float(qmax), max(Float(qmin), r + Float(zero))) : Float(zero)
        return UInt8(truncatingIfNeeded: Int(q))
    }

    /// Dequantizes (for tests and error reports): x = (q - zero_point) × scale.
    public static func dequantize(_ q: QuantizedTensor) -> [Float] {
        let count = q.dims.reduce(1, *)
        let axis = q.layout.axis ?? 0
        let length = q.layout.axis == nil ? 1 : q.dims[axis]
        let inner = q.layout.axis == nil ? count : q.dims[(axis + 1)...].reduce(1, *)
        let outer = q.layout.axis == nil ? 1 : q.dims[..<axis].reduce(1, *)
        let blocksAlong = q.layout.blockSize.map { (length + $0 - 1) / $0 } ?? length
        var out = [Float](repeating: 0, count: count)
        func code(_ k: Int, _ bytes: [UInt8]) -> Int {
            let raw: UInt8 = q.format.isSubByte ? (k & 1 == 0 ? bytes[k >> 1] & 0x0F : bytes[k >> 1] >> 4) : bytes[k]
            switch q.format {
            case .int8: return Int(Int8(bitPattern: raw))
            case .int4: return Int(Int8(bitPattern: raw << 4) >> 4)
            default: return Int(raw)
            }
        }
        var k = 0
        for o in 0..<outer {
            for a in 0..<length {
                for i in 0..<inner {
                    let g = q.layout.axis == nil ? 0 : q.layout.blockSize != nil
                        ? (o * blocksAlong + a / q.layout.blockSize!) * inner + i : a
                    if q.format == .fp8 {
                        out[k] = FloatFormats.float(e4m3fn: q.data[k]) * q.scales[g]
                    } else {
                        let z = q.zeroPoints.map { code(g, $0) } ?? 0
                        out[k] = Float(code(k, q.data) - z) * q.scales[g]
                    }
                    k += 1
                }
            }
        }
        return out
    }
}
