/// Linear quantization of a weight: q = clamp(round(x / scale) + zero_point), one scale (and zero
/// point) per group of values given by a `QuantLayout`. fp8 stores x / scale as E4M3FN.
///
/// Symmetric (the default for weights): scale = max|x| / qmax and a zero point at the middle of
/// the type's range, so 0 is exact and no zero-point arithmetic is needed at run time.
/// Asymmetric: scale = (max - min) / (qmax - qmin) over a range widened to include 0.
/// Float zero points (int4): a step and an offset per group, x = q · scale + offset with
/// q in −8…7, the group's minimum at −8 and its maximum at 7 (GGUF's Q4_1, HQQ's float zero
/// point); the range need not include 0, and the offset is any float.
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
    /// Float offsets per group (`scales`' order) added after dequantizing; nil without float zero points.
    public var offsets: [Float]? = nil
}

public enum WeightQuantizer {
    /// Quantizes `values` of shape `dims`.
    /// `maxCode` narrows 8-bit integer codes to −maxCode…maxCode (see `QuantFormat.integerKernelMaxCode`).
    public static func quantize(_ values: UnsafeBufferPointer<Float>, dims: [Int], format: QuantFormat,
                                layout: QuantLayout, symmetric: Bool = true, maxCode: Int? = nil, floatZeroPoints: Bool = false,
                                presetScales: [Float]? = nil, presetOffsets: [Float]? = nil) -> QuantizedTensor {
        let base = values.baseAddress ?? UnsafePointer(bitPattern: 16)!
        let source = FloatSource(count: values.count, chunk: max(values.count, 1)) { range, _ in base + range.lowerBound }
        return try! quantize(source, dims: dims, format: format, layout: layout, symmetric: symmetric, maxCode: maxCode,
                             floatZeroPoints: floatZeroPoints, presetScales: presetScales, presetOffsets: presetOffsets)
    }

    /// Quantizes values read from `source` chunk by chunk (two passes: ranges, then codes), so a
    /// weight never has to be in memory as floats all at once. `presetScales` (symmetric, one
    /// per group in `scaleDims` order) skips the ranges: values already on those grids (GPTQ's)
    /// are encoded exactly (`presetOffsets` with them, for float zero points).
    /// `floatZeroPoints`: int4 codes with a float offset per group (see the type's comment).
    public static func quantize(_ source: FloatSource, dims: [Int], format: QuantFormat,
                                layout: QuantLayout, symmetric: Bool = true, maxCode: Int? = nil, floatZeroPoints: Bool = false,
                                presetScales: [Float]? = nil, presetOffsets: [Float]? = nil) throws -> QuantizedTensor {
        precondition(!floatZeroPoints || format == .int4, "WeightQuantizer: float zero points are an int4 form")
        let symmetric = symmetric || floatZeroPoints
        let count = source.count
        let narrow = format == .int8 ? maxCode : nil
        let codeRange = narrow.map { (min: -$0, max: $0) } ?? format.range
        let symmetricMax = narrow.map(Float.init) ?? format.symmetricMax
        let (segments, groups) = QuantSegment.segments(dims: dims, layout: layout)
        var scaleDims: [Int] = []
        if let axis = layout.axis {
            if let block = layout.blockSize {
                scaleDims = dims
                scaleDims[axis] = (dims[axis] + block - 1) / block
            } else {
                scaleDims = [dims[axis]]
            }
        }

        var scales: [Float], zeros: [Int32], offsets: [Float]? = nil
        if let presetScales {
            precondition(symmetric && presetScales.count == groups, "WeightQuantizer: preset scales do not match the layout")
            precondition(floatZeroPoints == (presetOffsets != nil) && (presetOffsets?.count ?? groups) == groups,
                         "WeightQuantizer: preset offsets do not match the layout")
            scales = presetScales
            offsets = presetOffsets
            zeros = [Int32](repeating: Int32(format.symmetricZeroPoint), count: groups)
        } else {
            (scales, zeros, offsets) = try groupScales(source, segments: segments, groups: groups, format: format, symmetric: symmetric,
                                                       floatZeroPoints: floatZeroPoints, codeRange: codeRange, symmetricMax: symmetricMax)
        }
        let inverse = scales.map { 1 / $0 }
        let shifts = offsets ?? [Float](repeating: 0, count: groups)

        // Codes, one byte each (4-bit codes are packed afterwards).
        var codes = [UInt8](repeating: 0, count: count)
        try codes.withUnsafeMutableBufferPointer { out in
            guard let out = out.baseAddress else { return }
            if format == .fp8 {
                try source.forEachPiece(of: segments) { x, n, group, stride, at in
                    for k in 0..<n { out[at + k] = FloatFormats.e4m3fnBits(x[k] * inverse[group + stride * k]) }
                }
                return
            }
            let (qmin, qmax) = codeRange!
            try inverse.withUnsafeBufferPointer { inv in
                try zeros.withUnsafeBufferPointer { zp in
                    try shifts.withUnsafeBufferPointer { sh in
                        try source.forEachPiece(of: segments) { x, n, group, stride, at in
                            if stride == 0 {
                                QuantizeKernels.encode(x, n, inverse: inv[group], zero: zp[group], shift: sh[group],
                                                       qmin: Float(qmin), qmax: Float(qmax), out + at)
                            } else {
                                QuantizeKernels.encode(x, n, inverse: inv.baseAddress! + group, zero: zp.baseAddress! + group,
                                                       shift: sh.baseAddress! + group, qmin: Float(qmin), qmax: Float(qmax), out + at)
                            }
                        }
                    }
                }
            }
        }
        let data = format.isSubByte ? packNibbles(codes) : codes

        var zeroPoints: [UInt8]? = nil
        if !(symmetric && format.symmetricZeroPoint == 0) && format != .fp8 {
            let z = zeros.map { UInt8(truncatingIfNeeded: $0) }
            zeroPoints = format.isSubByte ? packNibbles(z) : z
        }
        return QuantizedTensor(format: format, layout: layout, dims: dims, data: data, scales: scales,
                               scaleDims: scaleDims, zeroPoints: zeroPoints, offsets: offsets)
    }

    /// Scales and zero points per group from the groups' ranges (the first pass over the values).
    private static func groupScales(_ source: FloatSource, segments: [QuantSegment], groups: Int, format: QuantFormat, symmetric: Bool,
                                    floatZeroPoints: Bool, codeRange: (min: Int, max: Int)?,
                                    symmetricMax: Float) throws -> (scales: [Float], zeros: [Int32], offsets: [Float]?) {
        // Ranges per group.
        var lo = [Float](repeating: .infinity, count: groups)
        var hi = [Float](repeating: -.infinity, count: groups)
        try lo.withUnsafeMutableBufferPointer { lo in
            try hi.withUnsafeMutableBufferPointer { hi in
                try source.forEachPiece(of: segments) { x, n, group, stride in
                    if stride == 0 {
                        let (l, h) = QuantizeKernels.range(x, n)
                        lo[group] = Swift.min(lo[group], l)
                        hi[group] = Swift.max(hi[group], h)
                    } else {
                        QuantizeKernels.widen(x, n, lo.baseAddress! + group, hi.baseAddress! + group)
                    }
                }
            }
        }

        // Scales and zero points per group.
        var scales = [Float](repeating: 1, count: groups)
        var zeros = [Int32](repeating: Int32(format.symmetricZeroPoint), count: groups)
        var offsets: [Float]? = floatZeroPoints ? [Float](repeating: 0, count: groups) : nil
        for g in 0..<groups {
            let l = lo[g].isFinite ? lo[g] : 0, h = hi[g].isFinite ? hi[g] : 0
            if floatZeroPoints {
                (scales[g], offsets![g]) = FloatZeroPoint.step(low: l, high: h)
            } else if symmetric && format.isSubByte {
                // The value of largest magnitude maps to −8 (16 levels, not 15, as onnxruntime's
                // 4-bit quantizer does); the scale carries its sign, and the opposite extreme
                // clips by at most one step.
                let extreme = abs(l) >= abs(h) ? l : h
                scales[g] = extreme != 0 ? extreme / -8 : 1
            } else if symmetric || format == .fp8 {
                let amax = Swift.max(abs(l), abs(h))
                scales[g] = amax > 0 ? amax / symmetricMax : 1
            } else {
                let (qmin, qmax) = codeRange!
                let rmin = Swift.min(l, 0), rmax = Swift.max(h, 0)
                let s = rmax > rmin ? (rmax - rmin) / Float(qmax - qmin) : 1
                scales[g] = s
                zeros[g] = Int32(Swift.min(qmax, Swift.max(qmin, Int((Float(qmin) - rmin / s).rounded(.toNearestOrEven)))))
            }
        }
        return (scales, zeros, offsets)
    }

    /// Two 4-bit codes per byte, the first in the low nibble.
    static func packNibbles(_ codes: [UInt8]) -> [UInt8] {
        var packed = [UInt8](repeating: 0, count: (codes.count + 1) / 2)
        codes.withUnsafeBufferPointer { c in
            packed.withUnsafeMutableBufferPointer { p in
                let pairs = c.count / 2
                for k in 0..<pairs { p[k] = (c[2 * k] & 0x0F) | (c[2 * k + 1] << 4) }
                if c.count % 2 == 1 { p[pairs] = c[c.count - 1] & 0x0F }
            }
        }
        return packed
    }

    /// Dequantizes (for tests and error reports): x = (q - zero_point) × scale.
    /// Derives each element's group on its own rather than through `QuantSegment`, so the tests
    /// that use it as the reference check the kernel's grouping against a second derivation.
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
                        out[k] = Float(code(k, q.data) - z) * q.scales[g] + (q.offsets?[g] ?? 0)
                    }
                    k += 1
                }
            }
        }
        return out
    }
}

/// The int4 grid with a float zero point: 16 levels from a group's minimum to its maximum,
/// codes −8…7 (so the stored codes are plain signed int4, and DequantizeLinear without a zero
/// point reads them), x = q · scale + offset.
enum FloatZeroPoint {
    static let levels: Float = 15

    /// scale = (high − low) / 15 and offset = low + 8 · scale, so low ↦ −8 and high ↦ 7. A
    /// constant group keeps its value as the offset (code 0).
    @inline(__always)
    static func step(low: Float, high: Float) -> (scale: Float, offset: Float) {
        let scale = (high - low) / levels
        guard scale > 0, scale.isFinite else { return (1, low) }
        return (scale, low + 8 * scale)
    }
}
