/// ConvTranspose: W is [C, M/group, k1, k2, …]: output channels along axis 1, sums along axis 0.
enum ConvTransposeOp: OperatorKnowledge {
    static let opType = "ConvTranspose"

    static func weightUse(_ node: Node, weightRank: Int) -> WeightUse? {
        guard weightRank >= 3 else { return nil }
        return WeightUse(input: 1, channelAxis: 1, reductionAxis: 0)
    }
}

extension ConvTransposeOp {
    /// The gradient of Conv: per image and group one sgemm W_gᵀ · X_g gives every kernel tap's
    /// contribution at every input position (columns), which col2im scatters into the output.
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let ops = try ConvOperands(call)
        let (x, xv, w, wv, b) = (ops.x, ops.xv, ops.w, ops.wv, ops.b)
        let geo = try ConvGeometry.transposed(call, input: ops.spatial, kernel: ops.kernel)
        guard let g3 = geo.lifted3() else { throw call.unsupported("more than 3 spatial axes") }
        let n = x.shape[0], c = x.shape[1], groups = geo.group
        guard w.shape[0] == c, c % groups == 0 else { throw call.failure("weight \(w.shape) does not fit \(c) channels, group \(groups)") }
        let cg = c / groups, mg = w.shape[1], m = mg * groups
        let bias = b?.floats
        if let b, bias == nil || b.count != m { throw call.failure("bias must hold \(m) floats") }
        let inP = g3.input.reduce(1, *), outP = g3.output.reduce(1, *), kp = g3.kernel.reduce(1, *)
        let rows = mg * kp
        var out = [Float](repeating: 0, count: n * m * outP)
        var col = [Float](repeating: 0, count: rows * inP)
        if out.isEmpty { return [.tensor(NDArray(floats: out, shape: [n, m] + geo.output, type: x.dataType))] }
        xv.withUnsafeBufferPointer { px in wv.withUnsafeBufferPointer { pw in
        out.withUnsafeMutableBufferPointer { py in col.withUnsafeMutableBufferPointer { pc in
            guard let xp = px.baseAddress, let wp = pw.baseAddress, let y = py.baseAddress, let cc = pc.baseAddress else { return }
            for ni in 0..<n {
                for gi in 0..<groups {
                    BLAS.sgemm(transA: true, m: rows, n: inP, k: cg, a: wp + gi * cg * rows, lda: rows,
                               b: xp + (ni * c + gi * cg) * inP, ldb: inP, c: cc, ldc: inP)
                    let yg = y + (ni * m + gi * mg) * outP
                    col2im(cc, channels: mg, g3, into: yg)
                    if let bias {
                        for j in 0..<mg {
                            let bv = bias[gi * mg + j], row = yg + j * outP
                            for p in 0..<outP { row[p] += bv }
                        }
                    }
                }
            }
        } } } }
        return [.tensor(NDArray(floats: out, shape: [n, m] + geo.output, type: x.dataType))]
    }

    /// Adds columns back into output planes: row (c, kd, kh, kw) of `col` holds that tap's
    /// contribution for every input position; it lands at input·stride − pad + tap·dilation.
    static func col2im(_ col: UnsafePointer<Float>, channels: Int, _ g: ConvGeometry, into y: UnsafeMutablePointer<Float>) {
        let (ID, IH, IW) = (g.input[0], g.input[1], g.input[2])
        let (OD, OH, OW) = (g.output[0], g.output[1], g.output[2])
        let (KD, KH, KW) = (g.kernel[0], g.kernel[1], g.kernel[2])
        let (sd, sh, sw) = (g.strides[0], g.strides[1], g.strides[2])
        let (dd, dh, dw) = (g.dilations[0], g.dilations[1], g.dilations[2])
        let (pd, ph, pw) = (g.padsBegin[0], g.padsBegin[1], g.padsBegin[2])
        let outP = OD * OH * OW
        var src = col
        for ci in 0..<channels {
            let plane = y + ci * outP
            for kd in 0..<KD { for kh in 0..<KH { for kw in 0..<KW {
                let offW = kw * dw - pw
                // Input columns iw whose target iw·sw + offW lies inside the output row.
                let (lo, hi) = validRange(offset: offW, stride: sw, size: OW, count: IW)
                for id in 0..<ID {
                    let od = id * sd - pd + kd * dd
                    if od < 0 || od >= OD { src += IH * IW; continue }
                    for ih in 0..<IH {
                        let oh = ih * sh - ph + kh * dh
                        if oh >= 0 && oh < OH && lo < hi {
                            let dst = plane + (od * OH + oh) * OW + lo * sw + offW, s = src + lo
                            if sw == 1 {
                                for j in 0..<(hi - lo) { dst[j] += s[j] }
                            } else {
                                for j in 0..<(hi - lo) { dst[j * sw] += s[j] }
                            }
                        }
                        src += IW
                    }
                }
            } } }
        }
    }
}

extension ConvTransposeOp {
    /// [N, C, spatial…] with W [C, M/group, kernel…] → [N, M, out…]. Each input element is
    /// multiplied into M/group × kernel outputs: MACs = input elements × M/group × kernel elements.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let xs = try call.shape(0), ws = try call.shape(1)
        guard xs.count >= 3, ws.count == xs.count else { throw call.gap("input and weight ranks do not fit a convolution") }
        let kernel = try ws.dropFirst(2).map { d -> Int in
            guard let c = d.constant else { throw call.gap("the kernel size is not known") }
            return c
        }
        let group = call.int("group", 1)
        let input = Array(xs.dropFirst(2))
        let spatial: [DimExpr]
        let numbers = input.compactMap(\.constant)
        if numbers.count == input.count {
            spatial = try ConvGeometry.transposed(call, input: numbers, kernel: kernel).output.map { DimExpr($0) }
        } else if let requested = call.ints("output_shape") {
            spatial = requested.suffix(input.count).map { DimExpr($0) }
        } else {
            let g = try ConvGeometry.transposed(call, input: [Int](repeating: 1, count: input.count), kernel: kernel)
            let outputPadding = call.ints("output_padding") ?? [Int](repeating: 0, count: input.count)
            let same = call.string("auto_pad", "NOTSET").hasPrefix("SAME")
            spatial = input.indices.map { d in
                same ? input[d] * DimExpr(g.strides[d])
                    : (input[d] - 1) * DimExpr(g.strides[d]) + DimExpr(outputPadding[d] + g.extent(d) - g.padsBegin[d] - g.padsEnd[d])
            }
        }
        let out = InferredValue.tensor(try call.type(0), [xs[0], ws[1] * DimExpr(group)] + spatial)
        let inputElements = xs.reduce(DimExpr(1), *)
        let perInput = ws.dropFirst().reduce(DimExpr(1), *)
        let b = call.has(2) ? out.elementCount ?? 0 : DimExpr(0)
        call.macs = inputElements * perInput + b
        call.flops = inputElements * perInput * 2 + b
        return [out]
    }
}
