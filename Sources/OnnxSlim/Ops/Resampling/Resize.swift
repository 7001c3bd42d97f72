/// Resize (opset 10–19) and the deprecated Upsample. Interpolation is separable: each resized
/// axis maps every output position to a few input positions with weights (one for nearest, two
/// for linear, four for cubic, more when antialiasing widens the filter), applied one axis after
/// the other. Nearest mode gathers, so it works for every element type.
enum ResizeOp {
    enum Mode { case nearest, linear, cubic }
    enum Rounding { case roundPreferFloor, roundPreferCeil, floor, ceil, legacy }

    struct Options {
        var mode = Mode.nearest
        var coordinates = "half_pixel"
        var rounding = Rounding.roundPreferFloor
        var cubicA = -0.75
        var excludeOutside = false
        var extrapolation: Float = 0
        var antialias = false
    }

    /// Output positions along one axis: `taps` input indices and weights each; extrapolated
    /// positions (tf_crop_and_resize outside the roi) take the extrapolation value.
    struct AxisMap {
        var output: Int
        var taps: Int
        var index: [Int]
        var weight: [Float]
        var extrapolated: [Bool]
        var identity: Bool
    }

    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let rank = x.rank
        var options = Options()
        options.mode = try mode(call)
        var scales: [Float]?, sizes: [Int]?, roi: [Float]?
        if call.opset < 11 {
            scales = try call.tensor(1).asFloats
            options.coordinates = "asymmetric"
            options.rounding = .legacy
        } else {
            roi = try call.optionalTensor(1).map(\.asFloats).flatMap { $0.isEmpty ? nil : $0 }
            scales = try call.optionalTensor(2).map(\.asFloats).flatMap { $0.isEmpty ? nil : $0 }
            sizes = try call.optionalTensor(3).map(\.asInts).flatMap { $0.isEmpty ? nil : $0 }
            options.coordinates = call.string("coordinate_transformation_mode", "half_pixel")
            options.cubicA = Double(call.float("cubic_coeff_a", -0.75))
            options.excludeOutside = call.int("exclude_outside", 0) != 0
            options.extrapolation = call.float("extrapolation_value", 0)
            options.antialias = call.opset >= 18 && call.int("antialias", 0) != 0
            switch call.string("nearest_mode", "round_prefer_floor") {
            case "round_prefer_floor": options.rounding = .roundPreferFloor
            case "round_prefer_ceil": options.rounding = .roundPreferCeil
            case "floor": options.rounding = .floor
            case "ceil": options.rounding = .ceil
            case let other: throw call.failure("unknown nearest_mode '\(other)'")
            }
        }
        let axes = call.opset >= 18 ? try call.ints("axes").map { try Axes.normalize($0, rank: rank) } ?? Array(0..<rank) : Array(0..<rank)
        guard Set(axes).count == axes.count else { throw call.failure("axes \(axes) repeat") }
        guard (scales == nil) != (sizes == nil) else { throw call.failure("needs exactly one of scales and sizes") }

        // Full-rank scale, output size and roi.
        var scale = [Double](repeating: 1, count: rank), out = x.shape
        var roiStart = [Double](repeating: 0, count: rank), roiEnd = [Double](repeating: 1, count: rank)
        if let roi, options.coordinates == "tf_crop_and_resize" {
            guard roi.count == 2 * axes.count else { throw call.failure("roi has \(roi.count) values for \(axes.count) axes") }
            for (i, d) in axes.enumerated() { roiStart[d] = Double(roi[i]); roiEnd[d] = Double(roi[axes.count + i]) }
        }
        if let scales {
            guard scales.count == axes.count else { throw call.failure("scales has \(scales.count) values for \(axes.count) axes") }
            for (i, d) in axes.enumerated() {
                guard scales[i] > 0 else { throw call.failure("scale \(scales[i]) is not positive") }
                scale[d] = Double(scales[i])
                out[d] = try scaledSize(scale[d] * Double(x.shape[d]), call)
            }
        } else if let sizes {
            guard sizes.count == axes.count, sizes.allSatisfy({ $0 >= 0 }) else { throw call.failure("bad sizes \(sizes)") }
            for (i, d) in axes.enumerated() {
                out[d] = sizes[i]
                scale[d] = x.shape[d] == 0 ? 1 : Double(sizes[i]) / Double(x.shape[d])
            }
            let policy = call.opset >= 18 ? call.string("keep_aspect_ratio_policy", "stretch") : "stretch"
            if policy != "stretch" && !axes.isEmpty {
                let picked = axes.map { scale[$0] }
                guard policy == "not_larger" || policy == "not_smaller" else { throw call.failure("unknown keep_aspect_ratio_policy '\(policy)'") }
                let s = policy == "not_larger" ? picked.min()! : picked.max()!
                for d in axes { scale[d] = s; out[d] = try scaledSize(s * Double(x.shape[d]) + 0.5, call) }
            }
        }
        return [.tensor(try resize(x, out: out, scale: scale, roiStart: roiStart, roiEnd: roiEnd, options, call))]
    }

    /// ⌊size⌋ as an output dim; an infinite or absurd size (scale 1e30) is an error, not a trap.
    static func scaledSize(_ size: Double, _ call: KernelCall) throws -> Int {
        guard size.isFinite, size >= 0, size < Double(1 << 31) else { throw call.failure("output size \(size) from the scales is absurd") }
        return Int(size.rounded(.down))
    }

    /// Upsample (opset 7: scales attribute; 9: scales input): asymmetric coordinates.
    static func upsample(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let scales = call.opset >= 9 ? try call.tensor(1).asFloats : (call.floats("scales") ?? [])
        guard scales.count == x.rank, scales.allSatisfy({ $0 > 0 }) else { throw call.failure("bad scales \(scales)") }
        var options = Options()
        options.mode = try mode(call)
        options.coordinates = "asymmetric"
        options.rounding = .legacy
        let scale = scales.map(Double.init)
        let out = try (0..<x.rank).map { try scaledSize(scale[$0] * Double(x.shape[$0]), call) }
        let zeros = [Double](repeating: 0, count: x.rank), ones = [Double](repeating: 1, count: x.rank)
        return [.tensor(try resize(x, out: out, scale: scale, roiStart: zeros, roiEnd: ones, options, call))]
    }

    static func mode(_ call: KernelCall) throws -> Mode {
        switch call.string("mode", "nearest") {
        case "nearest": return .nearest
        case "linear", "bilinear", "trilinear": return .linear
        case "cubic", "bicubic": return .cubic
        case let other: throw call.failure("unknown mode '\(other)'")
        }
    }

    static func resize(_ x: NDArray, out: [Int], scale: [Double], roiStart: [Double], roiEnd: [Double],
                       _ options: Options, _ call: KernelCall) throws -> NDArray {
        let maps = (0..<x.rank).map {
            axisMap(input: x.shape[$0], output: out[$0], scale: scale[$0], roi: (roiStart[$0], roiEnd[$0]), options)
        }
        if x.count == 0 || out.contains(0) { return NDArray.zeros(x.dataType, shape: out) }
        if options.mode == .nearest { return gatherNearest(x, maps, options) }
        var values: [Float]
        switch x.storage {
        case .float(let v): values = v
        case .int: values = x.asFloats
        default: throw call.failure("\(options.mode) interpolation of \(x.dataType)")
        }
        var shape = x.shape
        // The last axis first: its pass reads single elements rather than contiguous rows, so it
        // is cheapest while the other axes are still at input size.
        let order = x.rank > 0 ? [x.rank - 1] + Array(0..<(x.rank - 1)) : []
        for d in order where !maps[d].identity {
            values = interpolate(values, shape, axis: d, maps[d], options.extrapolation)
            shape[d] = maps[d].output
        }
        if x.kind == .int {
            let range = NDArray.integerRange(x.dataType) ?? Int64.min...Int64.max
            let ints = values.map { v -> Int64 in
                let r = v.rounded(.toNearestOrEven)
                if r.isNaN { return 0 }
                if r <= Float(range.lowerBound) { return range.lowerBound }
                if r >= Float(range.upperBound) { return range.upperBound }
                return Int64(r)
            }
            return NDArray(int64s: ints, shape: shape, type: x.dataType)
        }
        return NDArray(floats: values, shape: shape, type: x.dataType)
    }

    /// The input coordinate output position `j` samples, per coordinate_transformation_mode,
    /// and whether it lies outside a tf_crop_and_resize roi.
    static func sourceCoordinate(_ j: Int, input: Int, output: Int, scale: Double, roi: (Double, Double),
                                 _ mode: String) -> (Double, Bool) {
        let y = Double(j), length = scale * Double(input)
        switch mode {
        case "align_corners":
            return (length == 1 ? 0 : y * Double(input - 1) / (length - 1), false)
        case "asymmetric":
            return (y / scale, false)
        case "tf_crop_and_resize":
            // The roi's span and start in float32 arithmetic, as onnxruntime and the reference do.
            let span = Double(Float(roi.1) - Float(roi.0)), start = Double(Float(roi.0) * Float(input - 1))
            var v = length == 1 ? span * Double(input - 1) / 2 : y * span * Double(input - 1) / (length - 1)
            v += start
            return (v, v < 0 || v > Double(input - 1))
        case "pytorch_half_pixel":
            return (output > 1 ? (y + 0.5) / scale - 0.5 : 0, false)
        case "half_pixel_symmetric":
            let offset = Double(input) / 2 * (1 - Double(output) / length)
            return (offset + (y + 0.5) / scale - 0.5, false)
        case "tf_half_pixel_for_nn":
            return ((y + 0.5) / scale, false)
        default:  // half_pixel
            return ((y + 0.5) / scale - 0.5, false)
        }
    }

    static func axisMap(input: Int, output: Int, scale: Double, roi: (Double, Double), _ o: Options) -> AxisMap {
        let identity = output == input && abs(scale - 1) < 1e-9
            && (o.coordinates != "tf_crop_and_resize" || (abs(roi.0) < 1e-9 && abs(roi.1 - 1) < 1e-9))
        // The filter's reach in input pixels: 1 (linear) or 2 (cubic), widened by 1/scale when
        // antialiasing a downscale.
        let shrink = o.antialias ? min(scale, 1) : 1
        let first: Int, taps: Int
        switch o.mode {
        case .nearest: (first, taps) = (0, 1)
        case .linear: first = Int((-1 / shrink).rounded(.down)) + 1; taps = 2 - 2 * first
        case .cubic: first = Int((-2 / shrink).rounded(.down)) + 1; taps = 2 - 2 * first
        }
        var map = AxisMap(output: output, taps: taps, index: [Int](repeating: 0, count: output * taps),
                          weight: [Float](repeating: 0, count: output * taps),
                          extrapolated: [Bool](repeating: false, count: output), identity: identity)
        guard input > 0 else { return map }
        var w = [Double](repeating: 0, count: taps)
        for j in 0..<output {
            let (xs, outside) = sourceCoordinate(j, input: input, output: output, scale: scale, roi: roi, o.coordinates)
            map.extrapolated[j] = outside
            if o.mode == .nearest {
                let r: Double
                switch o.rounding {
                case .roundPreferFloor: r = (xs - 0.5).rounded(.up)
                case .roundPreferCeil: r = (xs + 0.5).rounded(.down)
                case .floor: r = xs.rounded(.down)
                case .ceil: r = xs.rounded(.up)
                case .legacy: r = scale < 1 ? xs.rounded(.up) : xs.rounded(.towardZero)
                }
                map.index[j] = r.isFinite ? min(max(Int(r), 0), input - 1) : 0
                map.weight[j] = 1
                continue
            }
            // x = base + ratio with ratio in (0, 1]: at an integer x the left pair is used.
            var base = xs.rounded(.down), ratio = xs - base
            if ratio == 0 { base -= 1; ratio = 1 }
            let b = base.isFinite ? Int(base) : 0
            var total = 0.0
            for t in 0..<taps {
                let d = abs(Double(first + t) - ratio) * shrink
                w[t] = o.mode == .linear ? max(0, 1 - d) : cubic(d, o.cubicA)
                let k = b + first + t
                if o.excludeOutside && (k < 0 || k >= input) { w[t] = 0 }
                total += w[t]
            }
            let norm = (o.antialias || o.excludeOutside) && total != 0 ? 1 / total : 1
            for t in 0..<taps {
                map.index[j * taps + t] = min(max(b + first + t, 0), input - 1)
                map.weight[j * taps + t] = Float(w[t] * norm)
            }
        }
        return map
    }

    /// Keys' cubic convolution kernel at distance d ≥ 0.
    @inline(__always)
    static func cubic(_ d: Double, _ a: Double) -> Double {
        if d <= 1 { return ((a + 2) * d - (a + 3)) * d * d + 1 }
        if d < 2 { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a }
        return 0
    }

    /// One axis of a separable linear/cubic resize.
    static func interpolate(_ src: [Float], _ shape: [Int], axis: Int, _ map: AxisMap, _ extrapolation: Float) -> [Float] {
        let outer = Axes.product(shape, 0..<axis), inner = Axes.product(shape, axis + 1..<shape.count)
        let input = shape[axis], output = map.output, taps = map.taps
        let total = outer * output * inner
        return [Float](unsafeUninitializedCapacity: total) { d, count in
            src.withUnsafeBufferPointer { s in map.extrapolated.withUnsafeBufferPointer { ext in
                map.index.withUnsafeBufferPointer { idx in map.weight.withUnsafeBufferPointer { wt in
                    guard let sp = s.baseAddress, let dp = d.baseAddress, let ib = idx.baseAddress, let wb = wt.baseAddress,
                          taps > 0 else { return }
                    for o in 0..<outer {
                        let block = sp + o * input * inner
                        for j in 0..<output {
                            let row = dp + (o * output + j) * inner
                            if ext[j] {
                                for k in 0..<inner { row[k] = extrapolation }
                                continue
                            }
                            let ip = ib + j * taps, wp = wb + j * taps
                            if inner == 1 {
                                if taps == 2 {
                                    row[0] = wp[0] * block[ip[0]] + wp[1] * block[ip[1]]
                                } else if taps == 4 {
                                    row[0] = (wp[0] * block[ip[0]] + wp[1] * block[ip[1]]) + (wp[2] * block[ip[2]] + wp[3] * block[ip[3]])
                                } else {
                                    var acc: Float = 0
                                    for t in 0..<taps { acc += wp[t] * block[ip[t]] }
                                    row[0] = acc
                                }
                                continue
                            }
                            let w0 = wp[0], first = block + ip[0] * inner
                            for k in 0..<inner { row[k] = w0 * first[k] }
                            for t in 1..<taps {
                                let w = wp[t], from = block + ip[t] * inner
                                if w == 0 { continue }
                                for k in 0..<inner { row[k] += w * from[k] }
                            }
                        }
                    }
                } }
            } }
            count = total
        }
    }

    /// Nearest-neighbour resize: every output row (all dims but the last) copies from one input
    /// row through the last axis' index table.
    static func gatherNearest(_ x: NDArray, _ maps: [AxisMap], _ o: Options) -> NDArray {
        let shape = maps.map(\.output)
        switch x.storage {
        case .float(let v): return NDArray(x.dataType, shape: shape, storage: .float(nearest(v, x.shape, maps, fill: o.extrapolation)))
        case .int(let v):
            return NDArray(x.dataType, shape: shape, storage: .int(nearest(v, x.shape, maps, fill: NDArray.truncatingInt64(o.extrapolation))))
        case .bool(let v): return NDArray(x.dataType, shape: shape, storage: .bool(nearest(v, x.shape, maps, fill: false)))
        case .string(let v): return NDArray(x.dataType, shape: shape, storage: .string(nearest(v, x.shape, maps, fill: "")))
        }
    }

    static func nearest<T>(_ src: [T], _ inShape: [Int], _ maps: [AxisMap], fill: T) -> [T] {
        let rank = inShape.count
        guard rank > 0 else { return src }
        let strides = NDArray.strides(inShape)
        let last = maps[rank - 1], width = last.output
        let rows = maps.dropLast().reduce(1) { $0 * $1.output }
        var counter = [Int](repeating: 0, count: rank - 1)
        let firstRows = maps.dropLast().map { $0.index }, flags = maps.dropLast().map { $0.extrapolated }
        return [T](unsafeUninitializedCapacity: rows * width) { o, count in
            src.withUnsafeBufferPointer { s in last.index.withUnsafeBufferPointer { li in last.extrapolated.withUnsafeBufferPointer { le in
                guard var dst = o.baseAddress else { return }
                for _ in 0..<rows {
                    var off = 0, outside = false
                    for d in 0..<(rank - 1) {
                        off += firstRows[d][counter[d]] * strides[d]
                        outside = outside || flags[d][counter[d]]
                    }
                    if outside {
                        for j in 0..<width { (dst + j).initialize(to: fill) }
                    } else {
                        for j in 0..<width { (dst + j).initialize(to: le[j] ? fill : s[off + li[j]]) }
                    }
                    dst += width
                    var d = rank - 2
                    while d >= 0 {
                        counter[d] += 1
                        if counter[d] < maps[d].output { break }
                        counter[d] = 0
                        d -= 1
                    }
                }
            } } }
            count = rows * width
        }
    }
}

extension ResizeOp {
    /// Sizes as given, or floor(scale × dim) (exact on symbols for whole and half scales).
    /// FLOPs per output element: 0 nearest, 4 linear, 8 cubic (taps weighted per axis pair).
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let x = try call.input(0), s = try call.shape(0), rank = s.count
        var scales: [Double]?, sizes: [DimExpr]?
        if call.node.opType == "Upsample" || call.opset < 11 {
            scales = call.opset >= 9 ? call.constantFloats(1) : call.floats("scales")?.map(Double.init)
            guard scales != nil else { throw call.gap("scales are computed at run time") }
        } else {
            if call.has(3), let v = call.dimValues(3), !v.isEmpty { sizes = v }
            else if call.has(2), let f = call.constantFloats(2), !f.isEmpty { scales = f }
            else { throw call.gap("scales or sizes are computed at run time") }
        }
        let axes = call.opset >= 18 ? try (call.ints("axes") ?? Array(0..<rank)).map { try ShapeRules.axis($0, rank: rank, call) } : Array(0..<rank)
        var out = s
        if let sizes {
            guard sizes.count == axes.count else { throw call.gap("sizes do not fit the axes") }
            let policy = call.opset >= 18 ? call.string("keep_aspect_ratio_policy", "stretch") : "stretch"
            guard policy == "stretch" || s.allSatisfy({ $0.constant != nil }) && sizes.allSatisfy({ $0.constant != nil }) else {
                throw call.gap("keep_aspect_ratio_policy \(policy) on symbolic dims")
            }
            if policy == "stretch" {
                for (i, d) in axes.enumerated() { out[d] = sizes[i] }
            } else {
                let ratios = axes.enumerated().map { i, d in Double(sizes[i].constant!) / Double(max(s[d].constant!, 1)) }
                let r = policy == "not_larger" ? ratios.min() ?? 1 : ratios.max() ?? 1
                for d in axes { out[d] = DimExpr(Int(r * Double(s[d].constant!) + 0.5)) }
            }
        } else if let scales {
            guard scales.count == axes.count else { throw call.gap("scales do not fit the axes") }
            for (i, d) in axes.enumerated() {
                let f = scales[i]
                // A mutated or malformed model can hold 0, NaN or 1e30 here: Int() of those traps.
                guard f.isFinite, f > 0, f < 1e6 else { throw call.gap("scale \(f) is not a positive finite factor") }
                if let c = s[d].constant {
                    let size = (f * Double(c)).rounded(.down)
                    guard size < Double(1 << 40) else { throw call.gap("scale \(f) gives an absurd size") }
                    out[d] = DimExpr(Int(size))
                }
                else if f == f.rounded() { out[d] = s[d] * DimExpr(Int(f)) }
                else if (1 / f) == (1 / f).rounded() { out[d] = s[d].floorDiv(Int(1 / f)) }
                else { out[d] = call.runtimeDim() }
            }
        }
        let value = InferredValue.tensor(x.elemType, out)
        let mode = call.string("mode", "nearest")
        call.countElementwise(value, mode.hasSuffix("linear") ? 4 : mode == "cubic" ? 8 : 0)
        return [value]
    }
}
