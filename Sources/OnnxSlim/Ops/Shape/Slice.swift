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
