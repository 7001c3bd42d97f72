import Glibc

/// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
/// ReduceLogSumExp, ReduceSumSquare over the shared `ReduceEngine`.
enum Reduce {
    enum Kind {
        case sum, mean, max, min, prod, l1, l2, logSum, logSumExp, sumSquare
    }

    static let table: [String: Kernel] = [
        "ReduceSum": kernel(.sum), "ReduceMean": kernel(.mean), "ReduceMax": kernel(.max),
        "ReduceMin": kernel(.min), "ReduceProd": kernel(.prod), "ReduceL1": kernel(.l1),
        "ReduceL2": kernel(.l2), "ReduceLogSum": kernel(.logSum), "ReduceLogSumExp": kernel(.logSumExp),
        "ReduceSumSquare": kernel(.sumSquare),
    ]

    static func kernel(_ kind: Kind) -> Kernel {
        return { call in
            let x = try call.tensor(0)
            let layout = try layout(call, kind: kind, shape: x.shape)
            let out: NDArray
            switch x.storage {
            case .float(let v):
                out = NDArray(floats: reduce(v, kind, layout), shape: layout.outShape, type: x.dataType)
            case .int(let v):
                if kind == .logSum || kind == .logSumExp {
                    // Defined through Log/Exp: computed in floats, truncated back.
                    let f = reduce(x.asFloats, kind, layout)
                    out = NDArray(int64s: f.map { NDArray.truncatingInt64($0) }, shape: layout.outShape, type: x.dataType)
                } else {
                    let lowest = NDArray.integerRange(x.dataType)?.lowerBound ?? 0
                    let highest = NDArray.integerRange(x.dataType)?.upperBound ?? Int64.max
                    out = NDArray(int64s: reduce(v, kind, layout, lowest: lowest, highest: highest),
                                  shape: layout.outShape, type: x.dataType)
                }
            case .bool(let v) where kind == .max || kind == .min:
                let r = reduce(v.map { $0 ? Int64(1) : 0 }, kind, layout, lowest: 0, highest: 1)
                out = NDArray(bools: r.map { $0 != 0 }, shape: layout.outShape)
            default:
                throw call.failure("input of type \(x.dataType) is not supported")
            }
            return [.tensor(out)]
        }
    }

    /// Axes come from the attribute before opset 13 (ReduceSum) or 18 (the others), from input 1
    /// after; no axes means all of them, or none with `noop_with_empty_axes`.
    static func layout(_ call: KernelCall, kind: Kind, shape: [Int]) throws -> ReductionLayout {
        let axesAsInput = call.opset >= (kind == .sum ? 13 : 18)
        var axes = axesAsInput ? (try call.optionalTensor(1)?.asInts ?? []) : (call.ints("axes") ?? [])
        if axes.isEmpty && call.int("noop_with_empty_axes", 0) == 0 { axes = Array(shape.indices) }
        do {
            axes = try Axes.normalize(axes, rank: shape.count)
        } catch {
            throw call.failure("axes \(axes) are out of range for rank \(shape.count)")
        }
        if shape.isEmpty { axes = [] }
        return ReductionLayout(shape: shape, axes: axes, keepDims: call.int("keepdims", 1) != 0)
    }

    /// NaN-propagating max and min, as numpy's reductions.
    @inline(__always) static func fmax(_ a: Float, _ b: Float) -> Float { a > b || a.isNaN ? a : b }
    @inline(__always) static func fmin(_ a: Float, _ b: Float) -> Float { a < b || a.isNaN ? a : b }

    static func reduce(_ v: [Float], _ kind: Kind, _ layout: ReductionLayout) -> [Float] {
        let r = Float(layout.reduced)
        switch kind {
        case .sum: return ReduceEngine.run(v, layout, initial: 0, map: { $0 }, combine: +)
        case .mean:
            var s = ReduceEngine.run(v, layout, initial: 0, map: { $0 }, combine: +)
            for k in s.indices { s[k] /= r }
            return s
        case .max: return ReduceEngine.run(v, layout, initial: -.infinity, map: { $0 }, combine: fmax)
        case .min: return ReduceEngine.run(v, layout, initial: .infinity, map: { $0 }, combine: fmin)
        case .prod: return ReduceEngine.run(v, layout, initial: 1, map: { $0 }, combine: *)
        case .l1: return ReduceEngine.run(v, layout, initial: 0, map: { abs($0) }, combine: +)
        case .sumSquare: return ReduceEngine.run(v, layout, initial: 0, map: { $0 * $0 }, combine: +)
        case .l2: return ReduceEngine.run(v, layout, initial: 0, map: { $0 * $0 }, combine: +).map { sqrtf($0) }
        case .logSum: return ReduceEngine.run(v, layout, initial: 0, map: { $0 }, combine: +).map { logf($0) }
        case .logSumExp: return logSumExp(v, layout)
        }
    }

    /// log Σ exp(x), shifted by the finite maximum so large inputs do not overflow.
    static func logSumExp(_ v: [Float], _ layout: ReductionLayout) -> [Float] {
        var shift = ReduceEngine.run(v, layout, initial: -.infinity,
                                     map: { $0 == .infinity ? -.infinity : $0 }, combine: fmax)
        for k in shift.indices where !shift[k].isFinite { shift[k] = 0 }
        let x = layout.arranged(v)
        let outer = layout.outer, r = layout.reduced, inner = layout.inner
        var sum = [Float](repeating: 0, count: layout.outCount)
        x.withUnsafeBufferPointer { xp in
            sum.withUnsafeMutableBufferPointer { sp in
                for o in 0..<outer {
                    for j in 0..<r {
                        let src = (o * r + j) * inner
                        for i in 0..<inner { sp[o * inner + i] += expf(xp[src + i] - shift[o * inner + i]) }
                    }
                }
            }
        }
        for k in sum.indices { sum[k] = logf(sum[k]) + shift[k] }
        return sum
    }

    /// Integer reductions wrap like the fixed-width type; an empty max/min is the type's extreme.
    static func reduce(_ v: [Int64], _ kind: Kind, _ layout: ReductionLayout, lowest: Int64, highest: Int64) -> [Int64] {
        let r = Int64(layout.reduced)
        switch kind {
        case .sum: return ReduceEngine.run(v, layout, initial: 0, map: { $0 }, combine: { $0 &+ $1 })
        case .mean:
            let s = ReduceEngine.run(v, layout, initial: 0, map: { $0 }, combine: { $0 &+ $1 })
            return r == 0 ? s : s.map { $0 / r }
        case .max: return ReduceEngine.run(v, layout, initial: lowest, map: { $0 }, combine: { Swift.max($0, $1) })
        case .min: return ReduceEngine.run(v, layout, initial: highest, map: { $0 }, combine: { Swift.min($0, $1) })
        case .prod: return ReduceEngine.run(v, layout, initial: 1, map: { $0 }, combine: { $0 &* $1 })
        case .l1: return ReduceEngine.run(v, layout, initial: 0, map: { $0 < 0 ? 0 &- $0 : $0 }, combine: { $0 &+ $1 })
        case .sumSquare: return ReduceEngine.run(v, layout, initial: 0, map: { $0 &* $0 }, combine: { $0 &+ $1 })
        case .l2:
            return ReduceEngine.run(v, layout, initial: 0, map: { $0 &* $0 }, combine: { $0 &+ $1 })
                .map { Int64(Double($0).squareRoot()) }
        case .logSum, .logSumExp: return []  // computed in floats by the kernel
        }
    }
}

extension Reduce {
    /// Reduced axes drop (or become 1 with keepdims); axes are an input from opset 13 (ReduceSum)
    /// or 18 (the rest). FLOPs: one per input element.
    static func inferShape(_ kind: Kind) -> ShapeRule {
        { call in
            let x = try call.input(0), s = try call.shape(0)
            let axesAsInput = call.opset >= (kind == .sum ? 13 : 18)
            var axes = try (axesAsInput ? call.optionalInts(1, "axes") : call.ints("axes")) ?? []
            if axes.isEmpty && call.int("noop_with_empty_axes", 0) == 0 { axes = Array(s.indices) }
            let reduced = Set(try axes.map { try ShapeRules.axis($0, rank: s.count, call) })
            let keep = call.int("keepdims", 1) != 0
            var out: [DimExpr] = []
            for (d, n) in s.enumerated() {
                if !reduced.contains(d) { out.append(n) } else if keep { out.append(1) }
            }
            call.countElementwise(x, 1)
            return [.tensor(x.elemType, out)]
        }
    }

    static let shapeRules: [String: ShapeRule] = [
        "ReduceSum": inferShape(.sum), "ReduceMean": inferShape(.mean), "ReduceMax": inferShape(.max),
        "ReduceMin": inferShape(.min), "ReduceProd": inferShape(.prod), "ReduceL1": inferShape(.l1),
        "ReduceL2": inferShape(.l2), "ReduceLogSum": inferShape(.logSum), "ReduceLogSumExp": inferShape(.logSumExp),
        "ReduceSumSquare": inferShape(.sumSquare),
    ]
}
