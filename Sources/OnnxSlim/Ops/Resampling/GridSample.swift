/// GridSample (opset 16: 4-D; opset 20: any rank): Y[n, c, p] samples X[n, c] at the grid's
/// normalized coordinates (last grid dim lists them innermost-axis first: x, y, …) by nearest,
/// linear or cubic interpolation; out-of-range pixels read as zeros, the border, or a reflection.
/// As in PyTorch and onnxruntime, cubic border padding clamps each of the 4 taps rather than the
/// sample coordinate (the ONNX Python reference clamps the coordinate first).
enum GridSampleOp {
    enum Padding { case zeros, border, reflection }

    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0), grid = try call.tensor(1)
        guard x.rank >= 3, let xv = x.floats else { throw call.failure("X must be a floating [N, C, D1, …] tensor") }
        let dims = Array(x.shape[2...]), nd = dims.count
        let n = x.shape[0], c = x.shape[1]
        guard grid.rank == nd + 2, grid.shape[0] == n, grid.shape[nd + 1] == nd, grid.kind == .float else {
            throw call.failure("grid shape \(grid.shape) does not fit X \(x.shape)")
        }
        let taps: Int
        switch call.string("mode", call.opset >= 20 ? "linear" : "bilinear") {
        case "nearest": taps = 1
        case "linear", "bilinear": taps = 2
        case "cubic", "bicubic": taps = 4
        case let other: throw call.failure("unknown mode '\(other)'")
        }
        let padding: Padding
        switch call.string("padding_mode", "zeros") {
        case "zeros": padding = .zeros
        case "border": padding = .border
        case "reflection": padding = .reflection
        case let other: throw call.failure("unknown padding_mode '\(other)'")
        }
        let align = call.int("align_corners", 0) != 0
        let g = grid.asFloats
        let outSpatial = Array(grid.shape[1...nd])
        let points = outSpatial.reduce(1, *), inSpatial = dims.reduce(1, *)
        let strides = NDArray.strides(dims)
        var out = [Float](repeating: 0, count: n * c * points)
        guard out.count > 0 else { return [.tensor(NDArray(floats: out, shape: [n, c] + outSpatial, type: x.dataType))] }
        guard inSpatial > 0 else { throw call.failure("X has an empty spatial dim") }

        // Per axis: taps input indices and weights (weight 0 for zero padding); then every
        // combination across axes as one offset and one weight.
        var index = [Int](repeating: 0, count: nd * taps), weight = [Float](repeating: 0, count: nd * taps)
        var combos = 1
        for _ in 0..<nd { combos *= taps }
        var comboOffset = [Int](repeating: 0, count: combos), comboWeight = [Float](repeating: 0, count: combos)
        for b in 0..<n {
            for p in 0..<points {
                let gp = (b * points + p) * nd
                for d in 0..<nd {
                    let len = dims[d]
                    let coordinate = g[gp + nd - 1 - d]
                    var v = align ? (coordinate + 1) / 2 * Float(len - 1) : ((coordinate + 1) * Float(len) - 1) / 2
                    if taps == 1 { v = v.rounded(.toNearestOrEven) }
                    let lo: Float = align ? 0 : -0.5, hi: Float = align ? Float(len - 1) : Float(len) - 0.5
                    if v < lo || v > hi {
                        if padding == .border && taps != 4 { v = min(max(v, 0), Float(len - 1)) }
                        else if padding == .reflection { v = reflect(v, lo, hi) }
                    }
                    if taps == 1 {
                        let i = v.isFinite ? Int(v) : Int.min / 2
                        (index[d], weight[d]) = pixel(i, len, padding, lo, hi, 1)
                        continue
                    }
                    let f = v.rounded(.down), t = Double(v - f)
                    let i0 = f.isFinite ? Int(f) : Int.min / 2
                    for k in 0..<taps {
                        let w: Double
                        if taps == 2 { w = k == 0 ? 1 - t : t }
                        else { w = ResizeOp.cubic(abs(Double(k - 1) - t), -0.75) }
                        (index[d * taps + k], weight[d * taps + k]) = pixel(i0 + k - (taps == 4 ? 1 : 0), len, padding, lo, hi, Float(w))
                    }
                }
                for k in 0..<combos {
                    var rest = k, off = 0, w: Float = 1
                    for d in stride(from: nd - 1, through: 0, by: -1) {
                        let t = rest % taps
                        rest /= taps
                        off += index[d * taps + t] * strides[d]
                        w *= weight[d * taps + t]
                    }
                    comboOffset[k] = off
                    comboWeight[k] = w
                }
                for ch in 0..<c {
                    let src = (b * c + ch) * inSpatial
                    var acc: Float = 0
                    for k in 0..<combos where comboWeight[k] != 0 { acc += comboWeight[k] * xv[src + comboOffset[k]] }
                    out[(b * c + ch) * points + p] = acc
                }
            }
        }
        return [.tensor(NDArray(floats: out, shape: [n, c] + outSpatial, type: x.dataType))]
    }

    /// Input index and weight of pixel i along an axis of length len under the padding mode.
    @inline(__always)
    static func pixel(_ i: Int, _ len: Int, _ padding: Padding, _ lo: Float, _ hi: Float, _ w: Float) -> (Int, Float) {
        switch padding {
        case .zeros: return i >= 0 && i < len ? (i, w) : (0, 0)
        case .border: return (min(max(i, 0), len - 1), w)
        case .reflection:
            let r = reflect(Float(i), lo, hi)
            return (min(max(r.isFinite ? Int(r) : 0, 0), len - 1), w)
        }
    }

    /// x reflected at the borders until it lies within [lo, hi].
    static func reflect(_ x: Float, _ lo: Float, _ hi: Float) -> Float {
        let range = hi - lo
        guard range > 0, x.isFinite else { return lo }
        if x < lo {
            let dx = lo - x, k = (dx / range).rounded(.towardZero), r = dx - k * range
            return k.truncatingRemainder(dividingBy: 2) == 0 ? lo + r : hi - r
        }
        if x > hi {
            let dx = x - hi, k = (dx / range).rounded(.towardZero), r = dx - k * range
            return k.truncatingRemainder(dividingBy: 2) == 0 ? hi - r : lo + r
        }
        return x
    }
}

extension GridSampleOp {
    /// [N, C] + the grid's spatial dims.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0), grid = try call.shape(1)
        guard s.count >= 3, grid.count == s.count else { throw call.gap("grid does not fit X") }
        let out = InferredValue.tensor(try call.type(0), Array(s.prefix(2)) + Array(grid.dropFirst().dropLast()))
        call.countElementwise(out, 4)
        return [out]
    }
}
