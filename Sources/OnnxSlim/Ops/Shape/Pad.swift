/// Pad: each output dim reads its source index from a per-dim map (-1 = padding, filled with the
/// constant). Modes constant, reflect, edge and wrap; negative pads crop. Pads and value are
/// attributes before opset 11, inputs from 11; the `axes` input (opset 18) picks the padded dims.
enum PadOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let r = x.rank
        let mode = call.string("mode", "constant")
        var pads: [Int]
        var fill: NDArray?
        if call.opset < 11 {
            pads = call.ints("pads") ?? call.ints("paddings") ?? []
            fill = .scalar(call.float("value", 0), type: x.dataType)
        } else {
            pads = try call.tensor(1).asInts
            fill = try call.optionalTensor(2)
        }
        if let axesSpec = try call.optionalTensor(3)?.asInts {
            let axes = try Axes.normalize(axesSpec, rank: r)
            guard pads.count == 2 * axes.count else { throw call.failure("pads \(pads) do not fit axes \(axes)") }
            var full = [Int](repeating: 0, count: 2 * r)
            for (k, a) in axes.enumerated() { full[a] = pads[k]; full[r + a] = pads[axes.count + k] }
            pads = full
        }
        guard pads.count == 2 * r else { throw call.failure("pads \(pads) do not fit rank \(r)") }

        var maps: [[Int]] = []
        var shape: [Int] = []
        for d in 0..<r {
            let n = x.shape[d], before = pads[d], size = n + pads[d] + pads[r + d]
            guard size >= 0 else { throw call.failure("pads \(pads) crop more than dim \(d) holds") }
            if size > 0 && n == 0 && mode != "constant" { throw call.failure("cannot \(mode)-pad an empty dim") }
            var map = [Int](repeating: -1, count: size)
            for i in 0..<size {
                let s = i - before
                if s >= 0 && s < n { map[i] = s; continue }
                switch mode {
                case "constant": map[i] = -1
                case "edge": map[i] = s < 0 ? 0 : n - 1
                case "wrap": map[i] = ((s % n) + n) % n
                case "reflect":
                    let period = 2 * (n - 1)
                    if period == 0 { map[i] = 0; continue }
                    let m = ((s % period) + period) % period
                    map[i] = m < n ? m : period - m
                default: throw call.failure("unknown mode \(mode)")
                }
            }
            maps.append(map)
            shape.append(size)
        }
        let st = NDArray.strides(x.shape)
        let storage: NDArray.Storage
        switch x.storage {
        case .float(let v): storage = .float(padded(v, maps, st, fill?.asFloats.first ?? 0))
        case .int(let v): storage = .int(padded(v, maps, st, fill?.asInt64s.first ?? 0))
        case .bool(let v): storage = .bool(padded(v, maps, st, fill?.bools?.first ?? false))
        case .string(let v): storage = .string(padded(v, maps, st, fill?.strings?.first ?? ""))
        }
        return [.tensor(NDArray(x.dataType, shape: shape, storage: storage))]
    }

    private static func padded<T>(_ src: [T], _ maps: [[Int]], _ st: [Int], _ fill: T) -> [T] {
        let rank = maps.count
        let n = maps.reduce(1) { $0 * $1.count }
        if n == 0 { return [] }
        if rank == 0 { return src }
        let innerMap = maps[rank - 1], inner = innerMap.count
        return src.withUnsafeBufferPointer { p in
            [T](unsafeUninitializedCapacity: n) { r, count in
                let d = r.baseAddress!
                var counter = [Int](repeating: 0, count: rank)
                var k = 0
                while k < n {
                    // The row's source offset, or nil when an outer dim is padding.
                    var base: Int? = 0
                    for dim in 0..<(rank - 1) {
                        let s = maps[dim][counter[dim]]
                        if s < 0 { base = nil; break }
                        base! += s * st[dim]
                    }
                    if let base {
                        for j in 0..<inner {
                            let s = innerMap[j]
                            (d + k + j).initialize(to: s >= 0 ? p[base + s] : fill)
                        }
                    } else {
                        (d + k).initialize(repeating: fill, count: inner)
                    }
                    k += inner
                    var dim = rank - 2
                    while dim >= 0 {
                        counter[dim] += 1
                        if counter[dim] < maps[dim].count { break }
                        counter[dim] = 0
                        dim -= 1
                    }
                }
                count = n
            }
        }
    }
}

extension PadOp {
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0), r = s.count
        var pads: [DimExpr]
        if call.opset < 11 {
            pads = (call.ints("pads") ?? call.ints("paddings") ?? []).map { DimExpr($0) }
        } else {
            pads = try call.requiredDims(1, "pads")
        }
        if let spec = try call.optionalInts(3, "axes") {
            let axes = try spec.map { try ShapeRules.axis($0, rank: r, call) }
            guard pads.count == 2 * axes.count else { throw call.gap("pads do not fit axes") }
            var full = [DimExpr](repeating: 0, count: 2 * r)
            for (k, a) in axes.enumerated() { full[a] = pads[k]; full[r + a] = pads[axes.count + k] }
            pads = full
        }
        guard pads.count == 2 * r else { throw call.gap("\(pads.count) pads for rank \(r)") }
        return [.tensor(try call.type(0), (0..<r).map { s[$0] + pads[$0] + pads[r + $0] })]
    }
}
