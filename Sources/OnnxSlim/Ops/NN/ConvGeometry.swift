/// The window arithmetic shared by Conv, ConvTranspose and pooling (and ConvInteger/QLinearConv,
/// which build one with `ConvGeometry.forward` and hand it to `ConvOp.convolve`): per spatial
/// axis the input and output sizes, kernel size, stride, dilation and the pads before and after.
struct ConvGeometry: Equatable {
    var input: [Int]
    var output: [Int]
    var kernel: [Int]
    var strides: [Int]
    var dilations: [Int]
    var padsBegin: [Int]
    var padsEnd: [Int]
    var group: Int = 1

    var rank: Int { input.count }

    /// The span a dilated kernel covers along axis `d`.
    func extent(_ d: Int) -> Int { (kernel[d] - 1) * dilations[d] + 1 }

    /// strides, dilations, pads and group as the node gives them (defaults 1, 1, 0, 1), checked,
    /// with the output not yet worked out (it starts equal to the input).
    private static func attributes(_ call: some AttributeReading, input: [Int], kernel: [Int],
                                   readsDilations: Bool = true) throws -> ConvGeometry {
        let r = input.count
        let strides = call.ints("strides") ?? [Int](repeating: 1, count: r)
        let dilations = readsDilations ? (call.ints("dilations") ?? [Int](repeating: 1, count: r)) : [Int](repeating: 1, count: r)
        let pads = call.ints("pads") ?? [Int](repeating: 0, count: 2 * r)
        guard kernel.count == r, strides.count == r, dilations.count == r, pads.count == 2 * r else {
            throw call.attributeError("kernel_shape/strides/dilations/pads do not match \(r) spatial axes")
        }
        guard kernel.allSatisfy({ $0 > 0 }), strides.allSatisfy({ $0 > 0 }), dilations.allSatisfy({ $0 > 0 }),
              pads.allSatisfy({ $0 >= 0 }), input.allSatisfy({ $0 >= 0 }) else {
            throw call.attributeError("kernel, strides and dilations must be positive, pads non-negative")
        }
        let group = call.int("group", 1)
        guard group > 0 else { throw call.attributeError("group must be positive") }
        return ConvGeometry(input: input, output: input, kernel: kernel, strides: strides, dilations: dilations,
                            padsBegin: Array(pads[0..<r]), padsEnd: Array(pads[r...]), group: group)
    }

    /// The geometry of a Conv-like or pooling node: reads `strides`, `dilations`, `pads`,
    /// `auto_pad` and `group` from `call` (ceil_mode is the pooling's rounding of output sizes).
    static func forward(_ call: some AttributeReading, input: [Int], kernel: [Int], ceilMode: Bool = false,
                        readsDilations: Bool = true) throws -> ConvGeometry {
        let r = input.count
        var g = try attributes(call, input: input, kernel: kernel, readsDilations: readsDilations)
        let strides = g.strides
        let autoPad = call.string("auto_pad", "NOTSET")
        for d in 0..<r {
            let ext = g.extent(d), s = strides[d]
            switch autoPad {
            case "SAME_UPPER", "SAME_LOWER":
                let out = (input[d] + s - 1) / s
                let total = max(0, (out - 1) * s + ext - input[d])
                g.padsBegin[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
                g.padsEnd[d] = total - g.padsBegin[d]
                g.output[d] = out
            case "VALID":
                g.padsBegin[d] = 0; g.padsEnd[d] = 0
                g.output[d] = input[d] >= ext ? (input[d] - ext) / s + 1 : 0
            case "NOTSET", "":
                let span = input[d] + g.padsBegin[d] + g.padsEnd[d] - ext
                guard span >= 0 else { g.output[d] = 0; continue }
                var out = (ceilMode ? (span + s - 1) / s : span / s) + 1
                // The last window must start inside the input or its leading pad.
                if ceilMode && (out - 1) * s >= input[d] + g.padsBegin[d] { out -= 1 }
                g.output[d] = out
            default:
                throw call.attributeError("unknown auto_pad '\(autoPad)'")
            }
        }
        return g
    }

    /// The geometry of a ConvTranspose node; `input` and `output` keep their forward meaning
    /// (`input` is the transposed conv's input, `output` what it produces).
    static func transposed(_ call: some AttributeReading, input: [Int], kernel: [Int]) throws -> ConvGeometry {
        let r = input.count
        var g = try attributes(call, input: input, kernel: kernel)
        let strides = g.strides
        let outputPadding = call.ints("output_padding") ?? [Int](repeating: 0, count: r)
        guard outputPadding.count == r, outputPadding.allSatisfy({ $0 >= 0 }) else {
            throw call.attributeError("output_padding must hold \(r) non-negative values")
        }
        let autoPad = call.string("auto_pad", "NOTSET")
        // output_shape may name all dims or only the spatial ones.
        let requested = call.ints("output_shape").map { Array($0.suffix(r)) }
        if let req = requested, req.count != r { throw call.attributeError("output_shape has \(req.count) dims, want \(r)") }
        for d in 0..<r {
            let natural = strides[d] * (input[d] - 1) + outputPadding[d] + g.extent(d)
            let same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER"
            if requested != nil || same {
                // Pads follow from the requested size (input·stride for SAME, never beyond the
                // natural size there); a requested size past the natural one appends zeros.
                let out = requested?[d] ?? min(natural, input[d] * strides[d])
                let total = max(0, natural - out)
                g.padsBegin[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
                g.padsEnd[d] = total - g.padsBegin[d]
                g.output[d] = out
            } else {
                if autoPad == "VALID" { g.padsBegin[d] = 0; g.padsEnd[d] = 0 }
                g.output[d] = natural - g.padsBegin[d] - g.padsEnd[d]
            }
            guard g.output[d] >= 0 else { throw call.attributeError("negative output size along spatial axis \(d)") }
        }
        return g
    }

    /// The same geometry over exactly three spatial axes (leading axes of size 1 added), so one
    /// loop nest serves 1-D, 2-D and 3-D windows; nil beyond three axes.
    func lifted3() -> ConvGeometry? {
        guard rank <= 3 else { return nil }
        let e = 3 - rank
        func lift(_ v: [Int], _ fill: Int) -> [Int] { [Int](repeating: fill, count: e) + v }
        return ConvGeometry(input: lift(input, 1), output: lift(output, 1), kernel: lift(kernel, 1),
                            strides: lift(strides, 1), dilations: lift(dilations, 1),
                            padsBegin: lift(padsBegin, 0), padsEnd: lift(padsEnd, 0), group: group)
    }
}

/// The half-open range of positions i in 0..<count for which i * stride + offset lies in
/// 0..<size: the taps (or output positions) of a window row that hit real input.
@inline(__always)
func validRange(offset: Int, stride: Int, size: Int, count: Int) -> (lo: Int, hi: Int) {
    let lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride
    let last = size - 1 - offset
    let hi = last < 0 ? 0 : min(count, last / stride + 1)
    return (min(lo, hi), hi)
}

extension ConvGeometry {
    /// Output spatial sizes of a Conv-like or pooling node for shape inference: exactly through
    /// `forward` when the input sizes are numbers, else the same window arithmetic on symbols
    /// (explicit pads, SAME or VALID; a ceil-mode window's clipping is left out there).
    static func outputSizes(_ call: ShapeCall, input: [DimExpr], kernel: [Int], ceilMode: Bool = false,
                            readsDilations: Bool = true) throws -> [DimExpr] {
        let numbers = input.compactMap(\.constant)
        if numbers.count == input.count {
            return try forward(call, input: numbers, kernel: kernel, ceilMode: ceilMode, readsDilations: readsDilations)
                .output.map { DimExpr($0) }
        }
        let g = try forward(call, input: [Int](repeating: 0, count: input.count), kernel: kernel, readsDilations: readsDilations)
        let autoPad = call.string("auto_pad", "NOTSET")
        return input.indices.map { d in
            let s = g.strides[d], ext = DimExpr(g.extent(d))
            switch autoPad {
            case "SAME_UPPER", "SAME_LOWER": return input[d].ceilDiv(s)
            case "VALID": return (input[d] - ext).floorDiv(s) + 1
            default:
                let span = input[d] + DimExpr(g.padsBegin[d] + g.padsEnd[d]) - ext
                return (ceilMode ? span.ceilDiv(s) : span.floorDiv(s)) + 1
            }
        }
    }
}
