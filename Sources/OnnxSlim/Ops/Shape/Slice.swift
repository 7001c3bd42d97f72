/// Slice: a strided view. Starts/ends/axes are attributes before opset 10, inputs (with steps)
/// from 10; negative values count from the end and out-of-range bounds clamp, as in numpy.
enum SliceOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let starts: [Int], ends: [Int], axesSpec: [Int]?, steps: [Int]?
        if call.opset < 10 {
            guard let s = call.ints("starts"), let e = call.ints("ends") else { throw call.failure("starts and ends are required") }
            (starts, ends, axesSpec, steps) = (s, e, call.ints("axes"), nil)
        } else {
            starts = try call.tensor(1).asInts
            ends = try call.tensor(2).asInts
            axesSpec = try call.optionalTensor(3)?.asInts
            steps = try call.optionalTensor(4)?.asInts
        }
        let axes = try Axes.normalize(axesSpec ?? Array(0..<starts.count), rank: x.rank)
        guard ends.count == starts.count, axes.count == starts.count, steps.map({ $0.count == starts.count }) ?? true,
              Set(axes).count == axes.count else {
            throw call.failure("starts \(starts), ends \(ends), axes \(axes), steps \(steps ?? []) do not match")
        }
        let st = NDArray.strides(x.shape)
        var shape = x.shape, strides = st, base = 0
        for (k, axis) in axes.enumerated() {
            let dim = x.shape[axis], rawStep = steps?[k] ?? 1
            guard rawStep != 0 else { throw call.failure("step 0 on axis \(axis)") }
            // Any step longer than the axis takes one element; clamping keeps the arithmetic in range.
            let step = max(min(rawStep, dim + 1), -(dim + 1))
            var start = starts[k], end = ends[k]
            if start < 0 { start += dim }
            if end < 0 { end += dim }
            let count: Int
            if step > 0 {
                start = min(max(start, 0), dim)
                end = min(max(end, 0), dim)
                count = end > start ? (end - start + step - 1) / step : 0
            } else {
                start = min(max(start, 0), dim - 1)
                end = min(max(end, -1), dim - 1)
                count = start > end ? (start - end - step - 1) / -step : 0
            }
            shape[axis] = count
            strides[axis] = st[axis] * step
            if count > 0 { base += start * st[axis] }
        }
        return [.tensor(x.strided(base: base, shape: shape, strides: strides))]
    }
}

extension SliceOp {
    /// Bounds may be symbolic (`x[:, :seq]` with seq from a Shape): a symbolic bound is taken to
    /// lie inside the axis, as it must for the slice to mean what the exporter wrote. Contents of
    /// 1-D shape vectors are sliced too.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let x = try call.input(0), s = try call.shape(0)
        let starts: [DimExpr], ends: [DimExpr], axesSpec: [Int]?, steps: [Int]?
        if call.opset < 10 {
            guard let a = call.ints("starts"), let e = call.ints("ends") else { throw call.gap("starts and ends are required") }
            (starts, ends, axesSpec, steps) = (a.map { DimExpr($0) }, e.map { DimExpr($0) }, call.ints("axes"), nil)
        } else {
            starts = try call.requiredDims(1, "starts")
            ends = try call.requiredDims(2, "ends")
            axesSpec = try call.optionalInts(3, "axes")
            steps = try call.optionalInts(4, "steps")
        }
        let axes = try (axesSpec ?? Array(0..<starts.count)).map { try ShapeRules.axis($0, rank: s.count, call) }
        guard ends.count == starts.count, axes.count == starts.count, steps.map({ $0.count == starts.count }) ?? true else {
            throw call.gap("starts, ends, axes and steps differ in length")
        }
        var shape = s
        var ranges: [(start: Int, step: Int, count: Int)] = []
        for (k, axis) in axes.enumerated() {
            let step = steps?[k] ?? 1
            guard step != 0 else { throw call.gap("step 0") }
            shape[axis] = try count(dim: s[axis], start: starts[k], end: ends[k], step: step, call)
            if step > 0, let d = s[axis].constant, let a = starts[k].constant, let c = shape[axis].constant {
                ranges.append((a < 0 ? max(a + d, 0) : min(a, d), step, c))
            }
        }
        var out = InferredValue.tensor(x.elemType, shape)
        if s.count == 1, ranges.count == 1, let v = x.values {
            let r = ranges[0]
            let picked = (0..<r.count).map { r.start + $0 * r.step }
            if picked.allSatisfy({ $0 >= 0 && $0 < v.count }) { out.values = picked.map { v[$0] } }
        }
        return [out]
    }

    /// Elements a slice takes from an axis of `dim` elements.
    static func count(dim: DimExpr, start: DimExpr, end: DimExpr, step: Int, _ call: ShapeCall) throws -> DimExpr {
        if let d = dim.constant, let a = start.constant, let b = end.constant {
            var a = a, b = b
            if a < 0 { a += d }
            if b < 0 { b += d }
            if step > 0 {
                a = min(max(a, 0), d); b = min(max(b, 0), d)
                return DimExpr(b > a ? (b - a + step - 1) / step : 0)
            }
            a = min(max(a, 0), d - 1); b = min(max(b, -1), d - 1)
            return DimExpr(a > b ? (a - b - step - 1) / -step : 0)
        }
        let huge = 1 << 30
        /// A bound as an index from the start of the axis.
        func resolve(_ bound: DimExpr, forEnd: Bool) -> DimExpr {
            guard let c = bound.constant else { return bound }
            if c >= huge { return step > 0 ? dim : dim - DimExpr(1) }
            if c <= -huge { return step > 0 ? DimExpr(0) : DimExpr(-1) }
            if c < 0 { return dim + bound }
            if let d = dim.constant { return DimExpr(min(c, forEnd && step > 0 ? d : d - 1)) }
            return bound
        }
        let a = resolve(start, forEnd: false), b = resolve(end, forEnd: true)
        return step > 0 ? (b - a).ceilDiv(step) : (a - b).ceilDiv(-step)
    }
}
