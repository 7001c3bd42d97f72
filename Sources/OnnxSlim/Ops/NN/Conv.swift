/// Conv: W is [M, C/group, k1, k2, …]: output channels along axis 0, sums along axis 1 (and the kernel).
enum ConvOp: OperatorKnowledge {
    static let opType = "Conv"

    static func weightUse(_ node: Node, weightRank: Int) -> WeightUse? {
        guard weightRank >= 3 else { return nil }
        return WeightUse(input: 1, channelAxis: 0, reductionAxis: 1)
    }
}

extension ConvOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let ops = try ConvOperands(call)
        let (x, xv, w, wv, b) = (ops.x, ops.xv, ops.w, ops.wv, ops.b)
        let g = try ConvGeometry.forward(call, input: ops.spatial, kernel: ops.kernel)
        if let b, b.floats == nil || b.rank != 1 { throw call.failure("bias must be a 1-D float tensor") }
        let y = try convolve(input: xv, inputShape: x.shape, weight: wv, weightShape: w.shape,
                             bias: b?.floats, geometry: g)
        return [.tensor(NDArray(floats: y, shape: [x.shape[0], w.shape[0]] + g.output, type: x.dataType))]
    }

    /// Float convolution, the core of Conv and of the quantized convolutions (ConvInteger,
    /// QLinearConv convert to Float after removing zero points and call this).
    ///
    /// `input` is [N, C, spatial…], `weight` [M, C/group, kernel…], `bias` nil or [M];
    /// `geometry` (from `ConvGeometry.forward`) gives strides, dilations, pads, group and the
    /// output size. Returns [N, M, geometry.output…] row-major. Up to 3 spatial axes.
    /// Paths: 1×1 stride-1 unpadded kernels are one sgemm per image and group straight on the
    /// input; depthwise convolutions (one input channel per group) are a direct loop; everything
    /// else is im2col into one scratch buffer plus one sgemm per image and group.
    static func convolve(input: [Float], inputShape: [Int], weight: [Float], weightShape: [Int],
                         bias: [Float]?, geometry: ConvGeometry) throws -> [Float] {
        func bad(_ m: String) -> OnnxSlimError { OnnxSlimError(.badInput, "Conv: \(m)") }
        let r = geometry.rank
        guard inputShape.count == r + 2, weightShape.count == r + 2,
              Array(weightShape.dropFirst(2)) == geometry.kernel, Array(inputShape.dropFirst(2)) == geometry.input else {
            throw bad("input \(inputShape), weight \(weightShape) and geometry disagree")
        }
        guard let g3 = geometry.lifted3() else { throw bad("more than 3 spatial axes are not supported") }
        let n = inputShape[0], c = inputShape[1], m = weightShape[0], cg = weightShape[1], groups = geometry.group
        guard cg * groups == c, m % groups == 0 else {
            throw bad("channels \(c) and weight \(weightShape) do not fit group \(groups)")
        }
        guard input.count == inputShape.reduce(1, *), weight.count == weightShape.reduce(1, *) else {
            throw bad("value counts do not match shapes")
        }
        if let bias, bias.count != m { throw bad("bias has \(bias.count) values for \(m) channels") }
        let mg = m / groups
        let (ID, IH, IW) = (g3.input[0], g3.input[1], g3.input[2])
        let (OD, OH, OW) = (g3.output[0], g3.output[1], g3.output[2])
        let (KD, KH, KW) = (g3.kernel[0], g3.kernel[1], g3.kernel[2])
        let inP = ID * IH * IW, outP = OD * OH * OW, kp = KD * KH * KW, k = cg * kp
        let total = n * m * outP
        if total == 0 { return [] }
        // No input channels (or an empty kernel): every output is its channel's bias.
        if k == 0 { return (0..<total).map { i in bias?[(i / outP) % m] ?? 0 } }

        let pointwise = kp == 1 && g3.strides.allSatisfy { $0 == 1 } && g3.padsBegin.allSatisfy { $0 == 0 }
            && g3.padsEnd.allSatisfy { $0 == 0 }
        let depthwise = cg == 1 && groups == c && !pointwise

        var out = [Float](unsafeUninitializedCapacity: total) { _, count in count = total }
        if depthwise {
            input.withUnsafeBufferPointer { px in weight.withUnsafeBufferPointer { pw in out.withUnsafeMutableBufferPointer { py in
                guard let x = px.baseAddress, let w = pw.baseAddress, let y = py.baseAddress else { return }
                for ni in 0..<n {
                    for oc in 0..<m {
                        depthwisePlane(x + (ni * c + oc / mg) * inP, w + oc * kp, bias?[oc] ?? 0,
                                       y + (ni * m + oc) * outP, g3)
                    }
                }
            } } }
            return out
        }

        // im2col scratch for a band of output rows: [k, band] with band a multiple of the row
        // length sized to stay in cache, reused by every band, image and group.
        let rowsPerBand = pointwise ? OD * OH : max(1, min(OD * OH, (1 << 18) / max(1, k * OW)))
        let band = rowsPerBand * OW
        var col = pointwise ? [] : [Float](repeating: 0, count: k * band)
        input.withUnsafeBufferPointer { px in weight.withUnsafeBufferPointer { pw in
        out.withUnsafeMutableBufferPointer { py in col.withUnsafeMutableBufferPointer { pc in
            guard let x = px.baseAddress, let w = pw.baseAddress, let y = py.baseAddress else { return }
            for ni in 0..<n {
                for gi in 0..<groups {
                    let xg = x + (ni * c + gi * cg) * inP
                    let yg = y + (ni * m + gi * mg) * outP
                    if pointwise {
                        BLAS.sgemm(m: mg, n: outP, k: k, a: w + gi * mg * k, lda: k, b: xg, ldb: outP, c: yg, ldc: outP)
                    } else {
                        guard let cc = pc.baseAddress else { return }
                        var row0 = 0
                        while row0 < OD * OH {
                            let rows = min(rowsPerBand, OD * OH - row0), cols = rows * OW
                            im2col(xg, channels: cg, g3, rows: row0..<(row0 + rows), into: cc)
                            BLAS.sgemm(m: mg, n: cols, k: k, a: w + gi * mg * k, lda: k, b: cc, ldb: cols,
                                       c: yg + row0 * OW, ldc: outP)
                            row0 += rows
                        }
                    }
                    if let bias {
                        for j in 0..<mg {
                            let bv = bias[gi * mg + j], row = yg + j * outP
                            for p in 0..<outP { row[p] += bv }
                        }
                    }
                }
            }
        } } } }
        return out
    }

    /// Unfolds `channels` input planes into columns for the output rows `rows` (flat over
    /// depth × height): row (c, kd, kh, kw) of `col` holds, for each of those output positions,
    /// the input element that kernel tap multiplies (0 in the padding).
    static func im2col(_ x: UnsafePointer<Float>, channels: Int, _ g: ConvGeometry, rows: Range<Int>,
                       into col: UnsafeMutablePointer<Float>) {
        let (ID, IH, IW) = (g.input[0], g.input[1], g.input[2])
        let (OH, OW) = (g.output[1], g.output[2])
        let (KD, KH, KW) = (g.kernel[0], g.kernel[1], g.kernel[2])
        let (sd, sh, sw) = (g.strides[0], g.strides[1], g.strides[2])
        let (dd, dh, dw) = (g.dilations[0], g.dilations[1], g.dilations[2])
        let (pd, ph, pw) = (g.padsBegin[0], g.padsBegin[1], g.padsBegin[2])
        let inP = ID * IH * IW
        var dst = col
        for ci in 0..<channels {
            let plane = x + ci * inP
            for kd in 0..<KD { for kh in 0..<KH { for kw in 0..<KW {
                let offW = kw * dw - pw
                let (lo, hi) = validRange(offset: offW, stride: sw, size: IW, count: OW)
                var od = rows.lowerBound / OH, oh = rows.lowerBound % OH
                for _ in rows {
                    let id = od * sd - pd + kd * dd, ih = oh * sh - ph + kh * dh
                    if id < 0 || id >= ID || ih < 0 || ih >= IH || lo >= hi {
                        dst.update(repeating: 0, count: OW)
                    } else {
                        if lo > 0 { dst.update(repeating: 0, count: lo) }
                        let src = plane + (id * IH + ih) * IW + lo * sw + offW
                        if sw == 1 {
                            (dst + lo).update(from: src, count: hi - lo)
                        } else if sw == 2 {
                            // A literal stride lets the compiler vectorize the gather.
                            for j in 0..<(hi - lo) { dst[lo &+ j] = src[2 &* j] }
                        } else {
                            for j in 0..<(hi - lo) { dst[lo &+ j] = src[j &* sw] }
                        }
                        if hi < OW { (dst + hi).update(repeating: 0, count: OW - hi) }
                    }
                    dst += OW
                    oh += 1
                    if oh == OH { oh = 0; od += 1 }
                }
            } } }
        }
    }

    /// One output plane of a depthwise convolution: the kernel taps of one channel slid over its
    /// input plane, accumulated row by row (contiguous inner runs when the stride is 1).
    static func depthwisePlane(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: Float,
                               _ y: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let (ID, IH, IW) = (g.input[0], g.input[1], g.input[2])
        let (OD, OH, OW) = (g.output[0], g.output[1], g.output[2])
        let (KD, KH, KW) = (g.kernel[0], g.kernel[1], g.kernel[2])
        let (sd, sh, sw) = (g.strides[0], g.strides[1], g.strides[2])
        let (dd, dh, dw) = (g.dilations[0], g.dilations[1], g.dilations[2])
        let (pd, ph, pw) = (g.padsBegin[0], g.padsBegin[1], g.padsBegin[2])
        for od in 0..<OD {
            for oh in 0..<OH {
                let row = y + (od * OH + oh) * OW
                row.update(repeating: bias, count: OW)
                for kd in 0..<KD {
                    let id = od * sd - pd + kd * dd
                    if id < 0 || id >= ID { continue }
                    for kh in 0..<KH {
                        let ih = oh * sh - ph + kh * dh
                        if ih < 0 || ih >= IH { continue }
                        let src = x + (id * IH + ih) * IW
                        for kw in 0..<KW {
                            let wt = w[(kd * KH + kh) * KW + kw], offW = kw * dw - pw
                            let (lo, hi) = validRange(offset: offW, stride: sw, size: IW, count: OW)
                            if lo >= hi { continue }
                            let s = src + lo * sw + offW, d = row + lo
                            if sw == 1 {
                                for j in 0..<(hi - lo) { d[j] += wt * s[j] }
                            } else {
                                for j in 0..<(hi - lo) { d[j] += wt * s[j * sw] }
                            }
                        }
                    }
                }
            }
        }
    }
}

extension ConvOp {
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        [try inferConvolution(call, x: 0, w: 1, bias: 2, outputType: call.type(0))]
    }

    /// [N, C, spatial…] * [M, C/group, kernel…] → [N, M, out…] (Conv, ConvInteger, QLinearConv).
    /// MACs = output elements × C/group × kernel elements, plus one per output for a bias.
    static func inferConvolution(_ call: ShapeCall, x: Int, w: Int, bias: Int?, outputType: DataType) throws -> InferredValue {
        let xs = try call.shape(x), ws = try call.shape(w)
        guard xs.count >= 3, ws.count == xs.count else { throw call.gap("input and weight ranks do not fit a convolution") }
        let kernel = try ws.dropFirst(2).enumerated().map { k, d -> Int in
            guard let c = d.constant ?? call.ints("kernel_shape")?[k] else { throw call.gap("the kernel size is not known") }
            return c
        }
        let spatial = try ConvGeometry.outputSizes(call, input: Array(xs.dropFirst(2)), kernel: kernel)
        let out = InferredValue.tensor(outputType, [xs[0], ws[0]] + spatial)
        if let n = out.elementCount {
            let perOutput = ws.dropFirst().reduce(DimExpr(1), *)
            let b = bias.map { call.has($0) } == true ? n : DimExpr(0)
            call.macs = n * perOutput + b
            call.flops = n * perOutput * 2 + b
        }
        return out
    }
}

extension ConvOp {
    /// X [N, C, …] ⊛ W [M, C/group, k…] + B [M] → Y [N, M, …]. Plain: X's channels are the
    /// reduction (tied to W's axis 1); W's axis 0, B and Y's channels are one axis. Depthwise
    /// (group = C, M = m·C): input channel c feeds output channels c·m ..< (c+1)·m, so all
    /// of them are tied, and `group` follows the input channel count. Other groupings are opaque.
    static func axes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        let group = call.int("group", 1)
        let channelSide: Bool
        switch from {
        case .input(0), .output(0): channelSide = u.axis == 1
        case .input(1): channelSide = true
        default: channelSide = u.axis == 0
        }
        if !channelSide {
            if u.axis == 0 && (from == .input(0) || from == .output(0)) {
                return .tied([(from == .input(0) ? .output(0) : .input(0), u)])   // batch
            }
            return .opaque("convolved spatial axis")
        }
        let outputs: [(port: NodePort, units: AxisUnits)] = { v in
            var links: [(port: NodePort, units: AxisUnits)] = [(.input(1), v.on(axis: 0)), (.output(0), v.on(axis: 1))]
            if call.hasInput(2) { links.append((.input(2), v.on(axis: 0))) }
            return links
        }(u)
        if group == 1 {
            switch from {
            case .input(0): return .tied([(.input(1), u.on(axis: 1))])
            case .input(1) where u.axis == 1: return .tied([(.input(0), u.on(axis: 1))])
            default: return .tied(outputs.filter { $0.port != from })
            }
        }
        guard let c = call.dim(.input(0), 1), let m = call.dim(.input(1), 0), group == c, m % c == 0,
              call.dim(.input(1), 1) == 1 else { return .opaque("grouped Conv (group \(group))") }
        let multiplier = m / c
        let edit = LengthEdit(site: .attribute("group", element: nil), tracks: .input(0), axis: 1)
        if from == .input(0) {
            return .tied(outputs.map { ($0.port, u.merged(outer: 1, inner: multiplier, axis: $0.units.axis)) }, edits: [edit])
        }
        guard from != .input(1) || u.axis == 0, let inputUnits = u.split(outer: 1, inner: multiplier, axis: 1) else {
            return .opaque("depthwise Conv output channels pruned inside one input channel")
        }
        return .tied([(.input(0), inputUnits)] + outputs.filter { $0.port != from }, edits: [edit])
    }
}
