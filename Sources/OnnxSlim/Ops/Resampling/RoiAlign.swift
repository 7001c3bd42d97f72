/// RoiAlign on X [N, C, H, W]: each region of interest (x1, y1, x2, y2, scaled by spatial_scale)
/// is split into output_height × output_width bins; each bin averages (or takes the max of)
/// bilinear samples on a regular grid of sampling_ratio² points (adaptive when 0). Opset 16's
/// default half_pixel shifts the roi by half a pixel; opset 10 does not.
enum RoiAlignOp {
    /// One bilinear sample: four input offsets within a channel plane and their weights.
    struct Sample {
        var p1 = 0, p2 = 0, p3 = 0, p4 = 0
        var w1: Float = 0, w2: Float = 0, w3: Float = 0, w4: Float = 0
    }

    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0), rois = try call.tensor(1), batchIndex = try call.tensor(2).asInts
        guard x.rank == 4, let xv = x.floats else { throw call.failure("X must be a floating [N, C, H, W] tensor") }
        let r = batchIndex.count
        guard rois.rank == 2, rois.shape[0] == r, rois.shape[1] == 4 else {
            throw call.failure("rois \(rois.shape) do not fit \(r) batch indices")
        }
        let box = rois.asFloats
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let outH = call.int("output_height", 1), outW = call.int("output_width", 1)
        guard outH > 0, outW > 0 else { throw call.failure("output size must be positive") }
        let ratio = call.int("sampling_ratio", 0)
        let spatialScale = Double(call.float("spatial_scale", 1))
        let isMax: Bool
        switch call.string("mode", "avg") {
        case "avg": isMax = false
        case "max": isMax = true
        case let other: throw call.failure("unknown mode '\(other)'")
        }
        let halfPixel = call.opset >= 16 && call.string("coordinate_transformation_mode", "half_pixel") == "half_pixel"
        var out = [Float](repeating: 0, count: r * c * outH * outW)
        for k in 0..<r {
            let b = batchIndex[k]
            guard b >= 0 && b < n else { throw call.failure("batch index \(b) is out of range [0, \(n))") }
            let offset = halfPixel ? 0.5 : 0
            let startW = Double(box[4 * k]) * spatialScale - offset, startH = Double(box[4 * k + 1]) * spatialScale - offset
            let endW = Double(box[4 * k + 2]) * spatialScale - offset, endH = Double(box[4 * k + 3]) * spatialScale - offset
            var roiW = endW - startW, roiH = endH - startH
            if !halfPixel { roiW = max(roiW, 1); roiH = max(roiH, 1) }
            let binH = roiH / Double(outH), binW = roiW / Double(outW)
            let gridH = ratio > 0 ? ratio : max(Int((roiH / Double(outH)).rounded(.up)), 0)
            let gridW = ratio > 0 ? ratio : max(Int((roiW / Double(outW)).rounded(.up)), 0)
            let count = Float(max(gridH * gridW, 1))
            var samples: [Sample] = []
            samples.reserveCapacity(outH * outW * gridH * gridW)
            for ph in 0..<outH {
                for pw in 0..<outW {
                    for iy in 0..<gridH {
                        let yy = startH + Double(ph) * binH + (Double(iy) + 0.5) * binH / Double(gridH)
                        for ix in 0..<gridW {
                            let xx = startW + Double(pw) * binW + (Double(ix) + 0.5) * binW / Double(gridW)
                            samples.append(sample(yy, xx, h, w))
                        }
                    }
                }
            }
            let per = gridH * gridW
            for ch in 0..<c {
                let plane = (b * c + ch) * h * w
                for bin in 0..<(outH * outW) {
                    var acc: Float = 0
                    for s in 0..<per {
                        let q = samples[bin * per + s]
                        let a = q.w1 * xv[plane + q.p1], bb = q.w2 * xv[plane + q.p2]
                        let cc = q.w3 * xv[plane + q.p3], d = q.w4 * xv[plane + q.p4]
                        if isMax { let m = max(max(a, bb), max(cc, d)); acc = s == 0 ? m : max(acc, m) }
                        else { acc += a + bb + cc + d }
                    }
                    out[((k * c + ch) * outH * outW) + bin] = isMax ? acc : acc / count
                }
            }
        }
        return [.tensor(NDArray(floats: out, shape: [r, c, outH, outW], type: x.dataType))]
    }

    /// The bilinear sample at (y, x); points more than a pixel outside the plane weigh nothing.
    static func sample(_ y0: Double, _ x0: Double, _ h: Int, _ w: Int) -> Sample {
        if y0 < -1 || y0 > Double(h) || x0 < -1 || x0 > Double(w) || h == 0 || w == 0 { return Sample() }
        var y = max(y0, 0), x = max(x0, 0)
        var yLow = Int(y), xLow = Int(x), yHigh: Int, xHigh: Int
        if yLow >= h - 1 { yLow = h - 1; yHigh = yLow; y = Double(yLow) } else { yHigh = yLow + 1 }
        if xLow >= w - 1 { xLow = w - 1; xHigh = xLow; x = Double(xLow) } else { xHigh = xLow + 1 }
        let ly = y - Double(yLow), lx = x - Double(xLow), hy = 1 - ly, hx = 1 - lx
        return Sample(p1: yLow * w + xLow, p2: yLow * w + xHigh, p3: yHigh * w + xLow, p4: yHigh * w + xHigh,
                      w1: Float(hy * hx), w2: Float(hy * lx), w3: Float(ly * hx), w4: Float(ly * lx))
    }
}

extension RoiAlignOp {
    /// [rois, C, output_height, output_width].
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0), rois = try call.shape(1)
        guard s.count == 4, rois.count == 2 else { throw call.gap("X must be 4-D and rois 2-D") }
        return [.tensor(try call.type(0), [rois[0], s[1], DimExpr(call.int("output_height", 1)), DimExpr(call.int("output_width", 1))])]
    }
}
