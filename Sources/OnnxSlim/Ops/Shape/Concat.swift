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

extension ConcatOp {
    /// Along the concatenated axis, input k's indices sit at an offset in the output (a unit
    /// must lie inside one input); along any other axis every input and the output share it.
    static func concatAxes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard let rank = call.rank(.output(0)) else { return .opaque("rank unknown") }
        let axis = AxisRules.normalize(call.int("axis", 0), rank: rank)
        let ports = call.node.inputs.indices.filter { call.hasInput($0) }.map { NodePort.input($0) } + [.output(0)]
        guard u.axis == axis else { return .tied(ports.filter { $0 != from }.map { ($0, u) }) }
        var offsets: [Int] = [], offset = 0
        for k in call.node.inputs.indices {
            offsets.append(offset)
            guard call.hasInput(k) else { continue }
            guard let n = call.dim(.input(k), axis) else { return .opaque("Concat input \(k)'s length is symbolic") }
            offset += n
        }
        if case .input(let k) = from { return .tied([(.output(0), u.shifted(by: offsets[k], axis: axis, length: offset))]) }
        var links: [(port: NodePort, units: AxisUnits)] = []
        for k in call.node.inputs.indices where call.hasInput(k) {
            guard let n = call.dim(.input(k), axis) else { return .opaque("Concat input \(k)'s length is symbolic") }
            guard let w = u.window(start: offsets[k], count: n, axis: axis) else { return .opaque("a unit spans two Concat inputs") }
            if w.units.contains(where: { !$0.isEmpty }) { links.append((.input(k), w)) }
        }
        return .tied(links)
    }

    /// Split is Concat backwards; explicit sizes (input or attribute) follow their outputs.
    static func splitAxes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard let rank = call.rank(.input(0)) else { return .opaque("rank unknown") }
        if from == .input(1) { return .tied([]) }
        let axis = AxisRules.normalize(call.int("axis", 0), rank: rank)
        let outputs = call.node.outputs.indices.filter { !call.node.outputs[$0].isEmpty }
        let ports = [NodePort.input(0)] + outputs.map { NodePort.output($0) }
        guard u.axis == axis else { return .tied(ports.filter { $0 != from }.map { ($0, u) }) }
        let explicit: LengthEdit.Site? = call.hasInput(1) ? .inputElement(input: 1, element: 0)
            : call.ints("split") != nil ? .attribute("split", element: 0) : nil
        guard explicit != nil || call.dim(.input(0), axis).map({ $0 % call.outputCount == 0 }) == true else {
            return .opaque("Split into unequal default parts")
        }
        func edit(_ k: Int) -> LengthEdit? {
            switch explicit {
            case .inputElement(let input, _)?: return LengthEdit(site: .inputElement(input: input, element: k), tracks: .output(k), axis: axis)
            case .attribute(let name, _)?: return LengthEdit(site: .attribute(name, element: k), tracks: .output(k), axis: axis)
            case nil: return nil
            }
        }
        var offsets: [Int] = [], total = 0
        for k in call.node.outputs.indices {
            offsets.append(total)
            guard let n = call.dim(.output(k), axis) else { return .opaque("Split output \(k)'s length is symbolic") }
            total += n
        }
        if case .output(let k) = from {
            if explicit == nil { return .opaque("Split into equal parts would stay equal") }
            return .tied([(.input(0), u.shifted(by: offsets[k], axis: axis, length: total))], edits: edit(k).map { [$0] } ?? [])
        }
        var links: [(port: NodePort, units: AxisUnits)] = [], edits: [LengthEdit] = []
        for k in call.node.outputs.indices {
            guard let n = call.dim(.output(k), axis), let w = u.window(start: offsets[k], count: n, axis: axis) else {
                return .opaque("a unit spans two Split outputs")
            }
            guard w.units.contains(where: { !$0.isEmpty }) else { continue }
            if explicit == nil { return .opaque("Split into equal parts would stay equal") }
            if !call.node.outputs[k].isEmpty { links.append((.output(k), w)) }
            if let e = edit(k) { edits.append(e) }
        }
        return .tied(links, edits: edits)
    }
}
