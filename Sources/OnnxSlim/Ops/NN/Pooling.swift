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

    /// Pools every N×C plane of `x`; with `wantsIndices`, also the flat input index of each
    /// maximum (row-major, or column-major over the spatial axes with `columnMajor`).
    /// Works a whole output row at a time: each kernel tap adds one contiguous (or strided) run
    /// of an input row to the row's accumulators.
    static func pool(_ call: KernelCall, _ x: NDArray, _ geo: ConvGeometry, _ kind: Kind,
                     wantsIndices: Bool, columnMajor: Bool) throws -> (NDArray, [Int64]?) {
        guard let g = geo.lifted3() else { throw call.unsupported("more than 3 spatial axes") }
        let isInt = x.kind == .int
        guard x.kind == .float || (isInt && { if case .max = kind { return true }; return false }()) else {
            throw call.unsupported("\(call.node.opType) on \(x.dataType)")
        }
        let xv = x.asFloats
        let planes = x.shape[0] * x.shape[1]
        let (ID, IH, IW) = (g.input[0], g.input[1], g.input[2])
        let (OD, OH, OW) = (g.output[0], g.output[1], g.output[2])
        let (KD, KH, KW) = (g.kernel[0], g.kernel[1], g.kernel[2])
        let (sd, sh, sw) = (g.strides[0], g.strides[1], g.strides[2])
        let (dd, dh, dw) = (g.dilations[0], g.dilations[1], g.dilations[2])
        let (pd, ph, pw) = (g.padsBegin[0], g.padsBegin[1], g.padsBegin[2])
        let (ed, eh, ew) = (g.padsEnd[0], g.padsEnd[1], g.padsEnd[2])
        let inP = ID * IH * IW, outP = OD * OH * OW
        let total = planes * outP
        var out = [Float](repeating: 0, count: total)
        var indices = wantsIndices ? [Int64](repeating: 0, count: total) : []
        // Per output column: the taps along W inside the input, and inside input plus pads.
        var wTaps = [Float](repeating: 0, count: OW), wPadTaps = [Float](repeating: 0, count: OW)
        for ow in 0..<OW {
            let w0 = ow * sw - pw
            let r = validRange(offset: w0, stride: dw, size: IW, count: KW)
            let rp = validRange(offset: w0 + pw, stride: dw, size: IW + pw + ew, count: KW)
            wTaps[ow] = Float(r.hi - r.lo); wPadTaps[ow] = Float(rp.hi - rp.lo)
        }
        var isMax = false, isLp = false, include = false, p: Float = 1
        switch kind {
        case .max: isMax = true
        case .average(let c): include = c
        case .lp(let e): isLp = true; p = e
        }
        let square = isLp && p == 2
        xv.withUnsafeBufferPointer { px in out.withUnsafeMutableBufferPointer { py in indices.withUnsafeMutableBufferPointer { pi in
            guard let xb = px.baseAddress, let yb = py.baseAddress else { return }
            // (An empty array may still hand out a base address.)
            let ib = wantsIndices ? pi.baseAddress : nil
            for plane in 0..<planes {
                let src = xb + plane * inP
                for od in 0..<OD {
                    let d0 = od * sd - pd
                    let (kd0, kd1) = validRange(offset: d0, stride: dd, size: ID, count: KD)
                    let padD = validRange(offset: d0 + pd, stride: dd, size: ID + pd + ed, count: KD)
                    for oh in 0..<OH {
                        let h0 = oh * sh - ph
                        let (kh0, kh1) = validRange(offset: h0, stride: dh, size: IH, count: KH)
                        let padH = validRange(offset: h0 + ph, stride: dh, size: IH + ph + eh, count: KH)
                        let o = plane * outP + (od * OH + oh) * OW
                        let row = yb + o
                        if isMax { row.update(repeating: -.infinity, count: OW) }
                        let rowIdx = ib.map { $0 + o }
                        for kd in kd0..<kd1 {
                            let id = d0 + kd * dd
                            for kh in kh0..<kh1 {
                                let ih = h0 + kh * dh
                                let srcRow = src + (id * IH + ih) * IW
                                for kw in 0..<KW {
                                    let off = kw * dw - pw
                                    let (lo, hi) = validRange(offset: off, stride: sw, size: IW, count: OW)
                                    if lo >= hi { continue }
                                    let s = srcRow + lo * sw + off, r = row + lo, n = hi - lo
                                    if isMax {
                                        if let rowIdx {
                                            let base = (id * IH + ih) * IW + lo * sw + off
                                            for j in 0..<n where s[j * sw] > r[j] {
                                                r[j] = s[j * sw]; rowIdx[lo + j] = Int64(base + j * sw)
                                            }
                                        } else if sw == 1 {
                                            for j in 0..<n { r[j] = Swift.max(r[j], s[j]) }
                                        } else {
                                            for j in 0..<n { r[j] = Swift.max(r[j], s[j * sw]) }
                                        }
                                    } else if !isLp {
                                        if sw == 1 { for j in 0..<n { r[j] += s[j] } }
                                        else { for j in 0..<n { r[j] += s[j * sw] } }
                                    } else if square {
                                        for j in 0..<n { let v = s[j * sw]; r[j] += v * v }
                                    } else {
                                        for j in 0..<n { r[j] += powf(abs(s[j * sw]), p) }
                                    }
                                }
                            }
                        }
                        if isMax { continue }
                        if isLp {
                            for j in 0..<OW { row[j] = square ? row[j].squareRoot() : powf(row[j], 1 / p) }
                        } else {
                            let taps = Float(include ? (padD.hi - padD.lo) * (padH.hi - padH.lo) : (kd1 - kd0) * (kh1 - kh0))
                            for j in 0..<OW {
                                let n = taps * (include ? wPadTaps[j] : wTaps[j])
                                row[j] = n > 0 ? row[j] / n : 0
                            }
                        }
                    }
                }
            }
            // Indices so far are within a plane; make them flat over the whole tensor.
            if let ib {
                for o in 0..<total {
                    var flat = Int(ib[o])
                    if columnMajor {
                        let iw = flat % IW, ih = (flat / IW) % IH, id = flat / (IW * IH)
                        flat = (iw * IH + ih) * ID + id
                    }
                    ib[o] = Int64((o / Swift.max(outP, 1)) * inP + flat)
                }
            }
        } } }
        let shape = Array(x.shape.prefix(2)) + geo.output
        let y = isInt ? NDArray(int64s: out.map { Int64($0) }, shape: shape, type: x.dataType)
                      : NDArray(floats: out, shape: shape, type: x.dataType)
        return (y, wantsIndices ? indices : nil)
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
