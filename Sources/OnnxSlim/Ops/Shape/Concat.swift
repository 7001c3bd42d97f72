/// Concat and Split: joining along an axis and cutting along one.
enum ConcatOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let all = try (0..<call.inputCount).map { try call.tensor($0) }
        guard let any = all.first else { throw call.failure("needs at least one input") }
        let first = all.first { $0.count > 0 } ?? any
        // Concat joins tensors of rank ≥ 1; a scalar has no axis to join along.
        guard first.rank >= 1 else { throw call.failure("cannot concatenate scalars") }
        let axis = try Axes.normalize(call.int("axis", 0), rank: first.rank)
        // Empty inputs add nothing (exporters concatenate empty 1-D shape pieces).
        let parts = all.filter { $0.count > 0 || $0.rank == first.rank }
        var shape = first.shape
        shape[axis] = 0
        for p in parts {
            guard p.rank == first.rank,
                  p.shape.indices.allSatisfy({ $0 == axis || p.shape[$0] == first.shape[$0] }) else {
                throw call.failure("shapes \(parts.map(\.shape)) do not concatenate along axis \(axis)")
            }
            shape[axis] += p.shape[axis]
        }
        let outer = Axes.product(first.shape, 0..<axis)
        let chunks = parts.map { Axes.product($0.shape, axis..<$0.rank) }
        let storage: NDArray.Storage
        switch first.storage {
        case .float:
            storage = .float(Movement.interleaved(try parts.map { try same($0.floats, call) }, chunks: chunks, outer: outer))
        case .int:
            storage = .int(Movement.interleaved(try parts.map { try same($0.int64s, call) }, chunks: chunks, outer: outer))
        case .bool:
            storage = .bool(Movement.interleaved(try parts.map { try same($0.bools, call) }, chunks: chunks, outer: outer))
        case .string:
            storage = .string(Movement.interleaved(try parts.map { try same($0.strings, call) }, chunks: chunks, outer: outer))
        }
        return [.tensor(NDArray(first.dataType, shape: shape, storage: storage))]
    }

    private static func same<T>(_ values: [T]?, _ call: KernelCall) throws -> [T] {
        guard let values else { throw call.failure("inputs have different element types") }
        return values
    }

    /// Split: sizes from the `split` input (opset 13+) or attribute, else `num_outputs` (opset 18)
    /// or the output count, equal parts with a smaller last one.
    static func split(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let axis = try Axes.normalize(call.int("axis", 0), rank: x.rank)
        let dim = x.shape[axis]
        var sizes: [Int]
        if let s = try call.optionalTensor(1) {
            sizes = s.asInts
        } else if let s = call.ints("split") {
            sizes = s
        } else {
            let parts = call.int("num_outputs", call.outputCount)
            guard parts > 0 else { throw call.failure("no outputs to split into") }
            let chunk = (dim + parts - 1) / parts
            sizes = (0..<parts).map { min(chunk, max(0, dim - $0 * chunk)) }
        }
        guard sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == dim else {
            throw call.failure("split sizes \(sizes) do not add up to dim \(dim)")
        }
        let st = NDArray.strides(x.shape)
        var start = 0
        return sizes.map { size in
            var shape = x.shape
            shape[axis] = size
            defer { start += size }
            return .tensor(x.strided(base: start * st[axis], shape: shape, strides: st))
        }
    }
}

extension ConcatOp {
    /// Dims add along the axis; contents of 1-D shape vectors are joined.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        var shapes: [[DimExpr]] = []
        for k in 0..<call.inputCount where call.has(k) { shapes.append(try call.shape(k)) }
        guard let first = shapes.first else { throw call.gap("no inputs") }
        guard shapes.allSatisfy({ $0.count == first.count }) else {
            throw call.gap("inputs of ranks \(shapes.map(\.count)) do not concatenate")
        }
        let axis = try ShapeRules.axis(call.int("axis", 0), rank: first.count, call)
        var out = first
        out[axis] = shapes.reduce(DimExpr(0)) { $0 + (axis < $1.count ? $1[axis] : DimExpr(0)) }
        var v = InferredValue.tensor(try call.type(0), out)
        if first.count == 1 {
            var joined: [DimExpr] = []
            for k in 0..<call.inputCount where call.has(k) {
                guard let c = call.dimValues(k) else { joined = []; v.values = nil; break }
                joined += c
                v.values = joined
            }
        }
        return [v]
    }

    /// Sizes from the `split` input or attribute, else equal parts (the last smaller).
    static func inferSplit(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0), type = try call.type(0)
        let axis = try ShapeRules.axis(call.int("axis", 0), rank: s.count, call)
        let dim = s[axis]
        var sizes: [DimExpr]
        if call.has(1) {
            sizes = try call.requiredDims(1, "split sizes")
        } else if let attr = call.ints("split") {
            sizes = attr.map { DimExpr($0) }
        } else {
            let parts = call.int("num_outputs", call.outputCount)
            guard parts > 0 else { throw call.gap("no outputs to split into") }
            if let even = dim.dividedExactly(by: DimExpr(parts)) {
                sizes = Array(repeating: even, count: parts)
            } else {
                let chunk = dim.ceilDiv(parts)
                sizes = Array(repeating: chunk, count: parts - 1) + [dim - chunk * DimExpr(parts - 1)]
            }
        }
        return sizes.map { size in
            var shape = s
            shape[axis] = size
            return .tensor(type, shape)
        }
    }
}
