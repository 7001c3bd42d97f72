import Glibc

/// Window pooling (MaxPool, AveragePool, LpPool) and global pooling over N×C×spatial tensors.
/// Windows follow onnxruntime: padding never counts as a maximum, AveragePool divides by the
/// taps inside the input (or, with count_include_pad, inside input plus explicit pads), and a
/// ceil_mode window that runs past the pads is clipped.
enum Pooling {
    enum Kind {
        case max
        case average(countIncludePad: Bool)
        case lp(Float)
    }

    static func maxPool(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let geo = try geometry(call, x)
        let storageOrder = call.int("storage_order", 0)
        let (y, indices) = try pool(call, x, geo, .max, wantsIndices: call.wantsOutput(1), columnMajor: storageOrder == 1)
        var outs: [Value] = [.tensor(y)]
        if let indices { outs.append(.tensor(NDArray(int64s: indices, shape: y.shape))) }
        return outs
    }

    static func averagePool(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let geo = try geometry(call, x)
        let include = call.int("count_include_pad", 0) != 0
        return [.tensor(try pool(call, x, geo, .average(countIncludePad: include), wantsIndices: false, columnMajor: false).0)]
    }

    static func lpPool(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let geo = try geometry(call, x)
        return [.tensor(try pool(call, x, geo, .lp(try exponent(call)), wantsIndices: false, columnMajor: false).0)]
    }

    static func globalAveragePool(_ call: KernelCall) throws -> [Value] {
        try global(call) { p, n in
            var s: Float = 0
            for i in 0..<n { s += p[i] }
            return s / Float(n)
        }
    }

    static func globalMaxPool(_ call: KernelCall) throws -> [Value] {
        try global(call) { p, n in
            var m = -Float.infinity
            for i in 0..<n where p[i] > m { m = p[i] }
            return m
        }
    }

    static func globalLpPool(_ call: KernelCall) throws -> [Value] {
        let p = try exponent(call)
        return try global(call) { v, n in
            var s: Float = 0
            for i in 0..<n { s += powf(abs(v[i]), p) }
            return powf(s, 1 / p)
        }
    }

    /// LpPool's p: a float attribute in opset 1, an int from opset 2 on.
    static func exponent(_ call: KernelCall) throws -> Float {
        guard let a = call.attribute("p") else { return 2 }
        let p = a.type == .float ? a.f : Float(a.i)
        guard p > 0 else { throw call.failure("p must be positive") }
        return p
    }

    /// The window geometry of a pooling node over `x`.
    static func geometry(_ call: KernelCall, _ x: NDArray) throws -> ConvGeometry {
        guard x.rank >= 3 else { throw call.failure("input \(x.shape) needs N, C and spatial axes") }
        guard let kernel = call.ints("kernel_shape") else { throw call.failure("kernel_shape is required") }
        let ceil = call.int("ceil_mode", 0) != 0
        return try ConvGeometry.forward(call, input: Array(x.shape.dropFirst(2)), kernel: kernel, ceilMode: ceil)
    }

    /// Pools every N×C plane of `x`; with `wantsIndices` (MaxPool only), also the flat input
    /// index of each maximum (row-major, or column-major over the spatial axes with `columnMajor`).
    static func pool(_ call: KernelCall, _ x: NDArray, _ geo: ConvGeometry, _ kind: Kind,
                     wantsIndices: Bool, columnMajor: Bool) throws -> (NDArray, [Int64]?) {
        guard let g = geo.lifted3() else { throw call.unsupported("more than 3 spatial axes") }
        var isMax = false, include = false, p: Float = 0
        switch kind {
        case .max: isMax = true
        case .average(let c): include = c
        case .lp(let e): p = e
        }
        let isInt = x.kind == .int
        guard x.kind == .float || (isInt && isMax) else { throw call.unsupported("\(call.node.opType) on \(x.dataType)") }
        var xv = x.asFloats
        // LpPool is a sum pool of |x|^p.
        if p == 2 { xv = xv.map { $0 * $0 } } else if p > 0 { xv = xv.map { powf(abs($0), p) } }
        let planes = x.shape[0] * x.shape[1]
        let shape = Array(x.shape.prefix(2)) + geo.output
        var indices: [Int64]? = nil
        var out: [Float]
        if wantsIndices {
            (out, indices) = maxWithIndices(xv, planes: planes, g, columnMajor: columnMajor)
        } else if isMax {
            out = separable(Max.self, xv, planes: planes, g)
        } else {
            out = separable(Sum.self, xv, planes: planes, g)
            divide(&out, planes: planes, g, includePad: include, root: p)
        }
        let y = isInt ? NDArray(int64s: out.map { Int64($0) }, shape: shape, type: x.dataType)
                      : NDArray(floats: out, shape: shape, type: x.dataType)
        return (y, indices)
    }

    protocol Reducer {
        static var identity: Float { get }
        static func combine(_ a: Float, _ b: Float) -> Float
    }
    enum Max: Reducer {
        static var identity: Float { -.infinity }
        /// NaN inputs never win, as in onnxruntime.
        @inline(__always) static func combine(_ a: Float, _ b: Float) -> Float { b > a ? b : a }
    }
    enum Sum: Reducer {
        static var identity: Float { 0 }
        @inline(__always) static func combine(_ a: Float, _ b: Float) -> Float { a + b }
    }

    /// dst[j] = combine(dst[j], src[j·stride]) for j < n; literal strides 1 and 2 vectorize.
    @inline(__always)
    static func fold<R: Reducer>(_: R.Type, _ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int, _ stride: Int) {
        switch stride {
        case 1: for j in 0..<n { dst[j] = R.combine(dst[j], src[j]) }
        case 2: for j in 0..<n { dst[j] = R.combine(dst[j], src[2 &* j]) }
        default: for j in 0..<n { dst[j] = R.combine(dst[j], src[j &* stride]) }
        }
    }

    /// A window reduction done separably: first along W for every input row (one buffer per
    /// plane), then over the (depth, height) taps of each output row with contiguous runs.
    /// Taps in the padding are skipped, so padding never affects a max or a sum.
    static func separable<R: Reducer>(_: R.Type, _ xv: [Float], planes: Int, _ g: ConvGeometry) -> [Float] {
        let (ID, IH, IW) = (g.input[0], g.input[1], g.input[2])
        let (OD, OH, OW) = (g.output[0], g.output[1], g.output[2])
        let (KD, KH, KW) = (g.kernel[0], g.kernel[1], g.kernel[2])
        let (sd, sh, sw) = (g.strides[0], g.strides[1], g.strides[2])
        let (dd, dh, dw) = (g.dilations[0], g.dilations[1], g.dilations[2])
        let (pd, ph, pw) = (g.padsBegin[0], g.padsBegin[1], g.padsBegin[2])
        let inP = ID * IH * IW, outP = OD * OH * OW
        var out = [Float](repeating: R.identity, count: planes * outP)
        if out.isEmpty { return out }
        var rowsW = [Float](repeating: 0, count: ID * IH * OW)
        let runs = (0..<KW).map { kw -> (off: Int, lo: Int, hi: Int) in
            let off = kw * dw - pw
            let r = validRange(offset: off, stride: sw, size: IW, count: OW)
            return (off, r.lo, r.hi)
        }
        xv.withUnsafeBufferPointer { px in out.withUnsafeMutableBufferPointer { py in rowsW.withUnsafeMutableBufferPointer { pr in
            guard let xb = px.baseAddress, let yb = py.baseAddress, let hb = pr.baseAddress else { return }
            for plane in 0..<planes {
                let src = xb + plane * inP
                for r in 0..<(ID * IH) {
                    let h = hb + r * OW, s = src + r * IW
                    h.update(repeating: R.identity, count: OW)
                    for run in runs where run.lo < run.hi {
                        fold(R.self, h + run.lo, s + run.lo * sw + run.off, run.hi - run.lo, sw)
                    }
                }
                let y = yb + plane * outP
                for od in 0..<OD {
                    let d0 = od * sd - pd
                    let (kd0, kd1) = validRange(offset: d0, stride: dd, size: ID, count: KD)
                    for oh in 0..<OH {
                        let h0 = oh * sh - ph
                        let (kh0, kh1) = validRange(offset: h0, stride: dh, size: IH, count: KH)
                        let row = y + (od * OH + oh) * OW
                        for kd in kd0..<kd1 {
                            for kh in kh0..<kh1 {
                                fold(R.self, row, hb + ((d0 + kd * dd) * IH + h0 + kh * dh) * OW, OW, 1)
                            }
                        }
                    }
                }
            }
        } } }
        return out
    }

    /// Turns window sums into averages (or, with `root` > 0, into the root-th root for LpPool).
    /// AveragePool divides by the taps inside the input, or inside input plus explicit pads
    /// with count_include_pad (taps past them, from ceil_mode, never count).
    static func divide(_ out: inout [Float], planes: Int, _ g: ConvGeometry, includePad: Bool, root: Float) {
        let (OD, OH, OW) = (g.output[0], g.output[1], g.output[2])
        let outP = OD * OH * OW
        if root > 0 {
            for i in out.indices { out[i] = root == 2 ? out[i].squareRoot() : powf(out[i], 1 / root) }
            return
        }
        // Taps per output position along each axis.
        func taps(_ a: Int) -> [Int] {
            (0..<g.output[a]).map { o in
                let start = o * g.strides[a] - g.padsBegin[a]
                let r = includePad
                    ? validRange(offset: start + g.padsBegin[a], stride: g.dilations[a],
                                 size: g.input[a] + g.padsBegin[a] + g.padsEnd[a], count: g.kernel[a])
                    : validRange(offset: start, stride: g.dilations[a], size: g.input[a], count: g.kernel[a])
                return r.hi - r.lo
            }
        }
        let td = taps(0), th = taps(1), tw = taps(2)
        var scale = [Float](repeating: 0, count: outP)
        for od in 0..<OD { for oh in 0..<OH { for ow in 0..<OW {
            let n = td[od] * th[oh] * tw[ow]
            scale[(od * OH + oh) * OW + ow] = n > 0 ? 1 / Float(n) : 0
        } } }
        out.withUnsafeMutableBufferPointer { py in
            guard let y = py.baseAddress else { return }
            for plane in 0..<planes {
                let r = y + plane * outP
                for i in 0..<outP { r[i] *= scale[i] }
            }
        }
    }

    /// MaxPool with its Indices output: a direct window scan remembering where each maximum was.
    static func maxWithIndices(_ xv: [Float], planes: Int, _ g: ConvGeometry, columnMajor: Bool) -> ([Float], [Int64]) {
        let (ID, IH, IW) = (g.input[0], g.input[1], g.input[2])
        let (OD, OH, OW) = (g.output[0], g.output[1], g.output[2])
        let (KD, KH, KW) = (g.kernel[0], g.kernel[1], g.kernel[2])
        let (sd, sh, sw) = (g.strides[0], g.strides[1], g.strides[2])
        let (dd, dh, dw) = (g.dilations[0], g.dilations[1], g.dilations[2])
        let (pd, ph, pw) = (g.padsBegin[0], g.padsBegin[1], g.padsBegin[2])
        let inP = ID * IH * IW
        var out: [Float] = [], indices: [Int64] = []
        out.reserveCapacity(planes * OD * OH * OW)
        indices.reserveCapacity(planes * OD * OH * OW)
        for plane in 0..<planes {
            let base = plane * inP
            for od in 0..<OD {
                let d0 = od * sd - pd
                let (kd0, kd1) = validRange(offset: d0, stride: dd, size: ID, count: KD)
                for oh in 0..<OH {
                    let h0 = oh * sh - ph
                    let (kh0, kh1) = validRange(offset: h0, stride: dh, size: IH, count: KH)
                    for ow in 0..<OW {
                        let w0 = ow * sw - pw
                        let (kw0, kw1) = validRange(offset: w0, stride: dw, size: IW, count: KW)
                        var best = -Float.infinity, at = 0, found = false
                        for kd in kd0..<kd1 { for kh in kh0..<kh1 { for kw in kw0..<kw1 {
                            let (id, ih, iw) = (d0 + kd * dd, h0 + kh * dh, w0 + kw * dw)
                            let v = xv[base + (id * IH + ih) * IW + iw]
                            if v > best || (!found && !v.isNaN) {
                                best = v; found = true
                                at = columnMajor ? (iw * IH + ih) * ID + id : (id * IH + ih) * IW + iw
                            }
                        } } }
                        out.append(best)
                        indices.append(Int64(base + at))
                    }
                }
            }
        }
        return (out, indices)
    }

    /// Reduces each N×C plane to one value, keeping the spatial axes as 1s.
    static func global(_ call: KernelCall, _ reduce: (UnsafePointer<Float>, Int) -> Float) throws -> [Value] {
        let x = try call.tensor(0)
        guard x.rank >= 3 else { throw call.failure("input \(x.shape) needs N, C and spatial axes") }
        guard let xv = x.floats else { throw call.unsupported("\(call.node.opType) on \(x.dataType)") }
        let planes = x.shape[0] * x.shape[1], n = x.shape.dropFirst(2).reduce(1, *)
        var out = [Float](repeating: 0, count: planes)
        if n > 0 {
            xv.withUnsafeBufferPointer { px in
                guard let b = px.baseAddress else { return }
                for p in 0..<planes { out[p] = reduce(b + p * n, n) }
            }
        }
        let shape = Array(x.shape.prefix(2)) + [Int](repeating: 1, count: x.rank - 2)
        return [.tensor(NDArray(floats: out, shape: shape, type: x.dataType))]
    }
}

extension Pooling {
    /// Windows over the spatial axes; MaxPool's optional second output holds int64 indices.
    /// FLOPs: one per window tap.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let x = try call.input(0), s = try call.shape(0)
        guard s.count >= 3 else { throw call.gap("needs N, C and spatial axes") }
        guard let kernel = call.ints("kernel_shape") else { throw call.gap("kernel_shape is required") }
        let spatial = try ConvGeometry.outputSizes(call, input: Array(s.dropFirst(2)), kernel: kernel,
                                                   ceilMode: call.int("ceil_mode", 0) != 0)
        let out = InferredValue.tensor(x.elemType, Array(s.prefix(2)) + spatial)
        if let n = out.elementCount { call.flops = n * DimExpr(kernel.reduce(1, *)) }
        return [out, .tensor(.int64, out.shape)]
    }

    /// Global pools keep N and C; every spatial dim becomes 1. FLOPs: one per input element.
    static func inferGlobal(_ call: ShapeCall) throws -> [InferredValue] {
        let x = try call.input(0), s = try call.shape(0)
        guard s.count >= 2 else { throw call.gap("needs N and C axes") }
        call.countElementwise(x, 1)
        return [.tensor(x.elemType, Array(s.prefix(2)) + [DimExpr](repeating: 1, count: s.count - 2))]
    }
}
