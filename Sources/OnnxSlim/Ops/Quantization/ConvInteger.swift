/// ConvInteger and QLinearConv: convolution of zero-point-centered integer codes, computed exactly
/// by an im2col in Double and one dgemm per image and group. Padding reads as the zero point
/// (a centered 0), as the reference and onnxruntime pad.
enum IntegerConv {
    /// Shapes of an N-D convolution: X [N, C, D...], W [M, C/group, k...] → Y [N, M, O...].
    struct Geometry {
        var batch = 0, channels = 0, outChannels = 0, group = 1
        var spatial: [Int] = [], kernel: [Int] = [], out: [Int] = []
        var strides: [Int] = [], dilations: [Int] = [], padsBegin: [Int] = []

        init(x: [Int], w: [Int], call: KernelCall) throws {
            guard x.count >= 3, w.count == x.count else { throw call.failure("X \(x) and W \(w) do not form a convolution") }
            let r = x.count - 2
            batch = x[0]; channels = x[1]; outChannels = w[0]
            group = call.int("group", 1)
            guard group >= 1, channels % group == 0, outChannels % group == 0, w[1] * group == channels else {
                throw call.failure("channels \(channels), W \(w) and group \(group) do not agree")
            }
            spatial = Array(x[2...]); kernel = Array(w[2...])
            if let ks = call.ints("kernel_shape"), ks != kernel { throw call.failure("kernel_shape \(ks) differs from W \(w)") }
            strides = call.ints("strides") ?? [Int](repeating: 1, count: r)
            dilations = call.ints("dilations") ?? [Int](repeating: 1, count: r)
            guard strides.count == r, dilations.count == r, strides.allSatisfy({ $0 >= 1 }), dilations.allSatisfy({ $0 >= 1 }) else {
                throw call.failure("strides \(strides) / dilations \(dilations) do not fit \(r) spatial dims")
            }
            let autoPad = call.string("auto_pad", "NOTSET")
            var pads = call.ints("pads") ?? [Int](repeating: 0, count: 2 * r)
            guard pads.count == 2 * r, pads.allSatisfy({ $0 >= 0 }) else { throw call.failure("pads \(pads) do not fit \(r) spatial dims") }
            out = []
            for d in 0..<r {
                let span = dilations[d] * (kernel[d] - 1) + 1
                switch autoPad {
                case "SAME_UPPER", "SAME_LOWER":
                    let o = (spatial[d] + strides[d] - 1) / strides[d]
                    let total = max(0, (o - 1) * strides[d] + span - spatial[d])
                    pads[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
                    pads[d + r] = total - pads[d]
                case "VALID":
                    pads[d] = 0; pads[d + r] = 0
                case "NOTSET", "":
                    break
                default:
                    throw call.failure("auto_pad '\(autoPad)'")
                }
                let room = spatial[d] + pads[d] + pads[d + r] - span
                guard room >= 0 else { throw call.failure("kernel \(kernel) is larger than the padded input \(x)") }
                out.append(room / strides[d] + 1)
            }
            padsBegin = Array(pads[0..<r])
        }

        var outShape: [Int] { [batch, outChannels] + out }
    }

    /// Y[n, m, o] = Σ W[m, c, k] · X[n, g·C/group + c, o·stride - pad + k·dilation], exactly.
    static func convolve(_ x: [Double], _ w: [Double], _ g: Geometry) -> [Double] {
        let r = g.spatial.count
        let inSize = g.spatial.reduce(1, *), outSize = g.out.reduce(1, *), kSize = g.kernel.reduce(1, *)
        let cg = g.channels / g.group, mg = g.outChannels / g.group
        let rows = cg * kSize
        var y = [Double](repeating: 0, count: g.batch * g.outChannels * outSize)
        let direct = kSize == 1 && g.strides.allSatisfy({ $0 == 1 }) && g.padsBegin.allSatisfy({ $0 == 0 }) && g.out == g.spatial
        // For each spatial dim, kernel tap and output index: the input index, or -1 in the padding.
        var taps: [[Int]] = []
        for d in 0..<r {
            var t = [Int](repeating: -1, count: g.kernel[d] * g.out[d])
            for k in 0..<g.kernel[d] {
                for o in 0..<g.out[d] {
                    let i = o * g.strides[d] - g.padsBegin[d] + k * g.dilations[d]
                    if i >= 0 && i < g.spatial[d] { t[k * g.out[d] + o] = i }
                }
            }
            taps.append(t)
        }
        let inStrides = NDArray.strides(g.spatial), kStrides = NDArray.strides(g.kernel)
        var cols = [Double](repeating: 0, count: direct ? 0 : rows * outSize)
        let lastOut = g.out[r - 1]
        x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in y.withUnsafeMutableBufferPointer { yp in
            cols.withUnsafeMutableBufferPointer { cp in
                guard let xb = xp.baseAddress, let wb = wp.baseAddress, let yb = yp.baseAddress else { return }
                var kIndex = [Int](repeating: 0, count: r), oIndex = [Int](repeating: 0, count: r)
                for n in 0..<g.batch {
                    for grp in 0..<g.group {
                        let image = xb + (n * g.channels + grp * cg) * inSize
                        let source: UnsafePointer<Double>
                        if direct {
                            source = image
                        } else {
                            guard let cb = cp.baseAddress else { return }
                            for row in 0..<rows {
                                let c = row / kSize, kFlat = row % kSize
                                for d in 0..<r { kIndex[d] = (kFlat / kStrides[d]) % g.kernel[d] }
                                let channel = image + c * inSize
                                let dest = cb + row * outSize
                                let lastTaps = taps[r - 1], lastBase = kIndex[r - 1] * lastOut
                                for d in 0..<r { oIndex[d] = 0 }
                                var at = 0
                                while at < outSize {
                                    // The input offset of the outer output dims, or nil in the padding.
                                    var offset = 0, inside = true
                                    for d in 0..<(r - 1) {
                                        let i = taps[d][kIndex[d] * g.out[d] + oIndex[d]]
                                        if i < 0 { inside = false; break }
                                        offset += i * inStrides[d]
                                    }
                                    if inside {
                                        for o in 0..<lastOut {
                                            let i = lastTaps[lastBase + o]
                                            dest[at + o] = i < 0 ? 0 : channel[offset + i]
                                        }
                                    } else {
                                        for o in 0..<lastOut { dest[at + o] = 0 }
                                    }
                                    at += lastOut
                                    var d = r - 2
                                    while d >= 0 {
                                        oIndex[d] += 1
                                        if oIndex[d] < g.out[d] { break }
                                        oIndex[d] = 0
                                        d -= 1
                                    }
                                }
                            }
                            source = UnsafePointer(cb)
                        }
                        BLAS.dgemm(m: mg, n: outSize, k: rows, a: wb + grp * mg * rows, lda: rows,
                                   b: source, ldb: outSize, c: yb + (n * g.outChannels + grp * mg) * outSize, ldc: outSize)
                    }
                }
            }
        } } }
        return y
    }

    /// Codes minus a per-tensor zero point, or (for weights) a per-output-channel one.
    static func centered(_ t: NDArray, zero: NDArray?, channels: Int, call: KernelCall) throws -> [Double] {
        guard let q = t.int64s else { throw call.failure("operand has type \(t.dataType), not an integer type") }
        let z = try zero.map { z -> [Int64] in
            guard let v = z.int64s else { throw call.failure("zero point has type \(z.dataType)") }
            return v
        } ?? [0]
        guard z.count == 1 || z.count == channels else {
            throw call.failure("zero point has \(z.count) values for \(channels) channels")
        }
        let n = q.count, per = channels == 0 ? 0 : n / channels
        return [Double](unsafeUninitializedCapacity: n) { out, initialized in
            if z.count == 1 {
                let zv = z[0]
                for i in 0..<n { out[i] = Double(q[i] - zv) }
            } else {
                for c in 0..<channels {
                    let zv = z[c]
                    for i in (c * per)..<((c + 1) * per) { out[i] = Double(q[i] - zv) }
                }
            }
            initialized = n
        }
    }

    /// ConvInteger: int32 Y = conv(X - x_zero_point, W - w_zero_point).
    static func convInteger(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0), w = try call.tensor(1)
        let g = try Geometry(x: x.shape, w: w.shape, call: call)
        let xv = try centered(x, zero: try call.optionalTensor(2), channels: 1, call: call)
        let wv = try centered(w, zero: try call.optionalTensor(3), channels: g.outChannels, call: call)
        let y = convolve(xv, wv, g)
        return [.tensor(NDArray(int64s: y.map { Int64($0) }, shape: g.outShape, type: .int32))]
    }

    /// QLinearConv: the integer convolution plus int32 bias, requantized with the multiplier
    /// x_scale·w_scale/y_scale (per output channel when w_scale is) formed in Float and applied in Double.
    static func qlinearConv(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0), xScale = try call.tensor(1), xZero = try call.optionalTensor(2)
        let w = try call.tensor(3), wScale = try call.tensor(4), wZero = try call.optionalTensor(5)
        let yScale = try call.tensor(6), yZero = try call.optionalTensor(7), bias = try call.optionalTensor(8)
        let g = try Geometry(x: x.shape, w: w.shape, call: call)
        let xv = try centered(x, zero: xZero, channels: 1, call: call)
        let wv = try centered(w, zero: wZero, channels: g.outChannels, call: call)
        var y = convolve(xv, wv, g)
        let outType = yZero?.dataType ?? x.dataType
        guard let range = NDArray.integerRange(outType) else { throw call.failure("output type \(outType) is not an integer type") }
        let sx = xScale.asFloats, sw = wScale.asFloats, sy = yScale.asFloats
        guard sx.count == 1, sy.count == 1, sw.count == 1 || sw.count == g.outChannels else {
            throw call.failure("scales: x \(sx.count), w \(sw.count), y \(sy.count) values for \(g.outChannels) output channels")
        }
        let b = bias?.asInt64s
        if let b, b.count != g.outChannels { throw call.failure("B has \(b.count) values for \(g.outChannels) output channels") }
        let zy = Double(yZero?.asInt64s.first ?? 0)
        let lo = Double(range.lowerBound), hi = Double(range.upperBound)
        let outSize = g.out.reduce(1, *)
        for n in 0..<g.batch {
            for m in 0..<g.outChannels {
                let multiplier = Double(sx[0] * sw[sw.count == 1 ? 0 : m] / sy[0])
                let shift = Double(b?[m] ?? 0)
                let base = (n * g.outChannels + m) * outSize
                for i in base..<(base + outSize) {
                    let v = ((y[i] + shift) * multiplier + zy).rounded(.toNearestOrEven)
                    y[i] = v.isNaN ? lo : min(max(v, lo), hi)
                }
            }
        }
        return [.tensor(NDArray(int64s: y.map { Int64($0) }, shape: g.outShape, type: outType))]
    }
}

extension IntegerConv {
    static func inferConvInteger(_ call: ShapeCall) throws -> [InferredValue] {
        [try ConvOp.inferConvolution(call, x: 0, w: 1, bias: nil, outputType: .int32)]
    }

    /// X at 0, W at 3, bias at 8; the output's type is y_zero_point's (input 7).
    static func inferQLinearConv(_ call: ShapeCall) throws -> [InferredValue] {
        [try ConvOp.inferConvolution(call, x: 0, w: 3, bias: 8, outputType: call.type(7))]
    }
}
