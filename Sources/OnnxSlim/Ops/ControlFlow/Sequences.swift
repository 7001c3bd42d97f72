/// Sequence operators: building, reading and editing sequences of tensors, and converting between
/// a tensor and a sequence of its slices.
enum SequenceOps {
    static let table: [String: Kernel] = [
        "SequenceEmpty": empty,
        "SequenceConstruct": construct,
        "SequenceInsert": insert,
        "SequenceAt": at,
        "SequenceErase": erase,
        "SequenceLength": length,
        "SplitToSequence": splitToSequence,
        "ConcatFromSequence": concatFromSequence,
    ]

    static func sequence(_ call: KernelCall, _ k: Int) throws -> (elements: [NDArray], type: DataType) {
        let v = try call.value(k)
        guard case .sequence(let elements, let type) = v else { throw call.failure("input \(k) is a \(v.kindName), not a sequence") }
        return (elements, type)
    }

    /// A position input (scalar int32/int64) checked against `range`.
    static func position(_ call: KernelCall, _ k: Int, count: Int, allowEnd: Bool) throws -> Int? {
        guard let t = try call.optionalTensor(k) else { return nil }
        guard let p = FlowValues.integer(t) else { throw call.failure("position must be one integer, got shape \(t.shape)") }
        let upper = allowEnd ? count : count - 1
        guard p >= -count && p <= upper else {
            throw call.failure("position \(p) is out of range for a sequence of \(count) tensors")
        }
        return p < 0 ? p + count : p
    }

    static func empty(_ call: KernelCall) throws -> [Value] {
        [.sequence([], elementType: DataType(Int32(call.int("dtype", Int(DataType.float.rawValue)))))]
    }

    static func construct(_ call: KernelCall) throws -> [Value] {
        let elements = try (0..<call.inputCount).map { try call.tensor($0) }
        guard let type = elements.first?.dataType else { throw call.failure("needs at least one tensor") }
        guard elements.allSatisfy({ $0.dataType == type }) else { throw call.failure("tensors of different element types") }
        return [.sequence(elements, elementType: type)]
    }

    static func insert(_ call: KernelCall) throws -> [Value] {
        var (elements, type) = try sequence(call, 0)
        let t = try call.tensor(1)
        guard elements.isEmpty || t.dataType == type else {
            throw call.failure("cannot insert a \(t.dataType) tensor into a sequence of \(type)")
        }
        let at = try position(call, 2, count: elements.count, allowEnd: true) ?? elements.count
        elements.insert(t, at: at)
        return [.sequence(elements, elementType: t.dataType)]
    }

    static func at(_ call: KernelCall) throws -> [Value] {
        let (elements, _) = try sequence(call, 0)
        guard let p = try position(call, 1, count: elements.count, allowEnd: false) else { throw call.failure("position is required") }
        return [.tensor(elements[p])]
    }

    static func erase(_ call: KernelCall) throws -> [Value] {
        var (elements, type) = try sequence(call, 0)
        guard !elements.isEmpty else { throw call.failure("cannot erase from an empty sequence") }
        let p = try position(call, 1, count: elements.count, allowEnd: false) ?? elements.count - 1
        elements.remove(at: p)
        return [.sequence(elements, elementType: type)]
    }

    static func length(_ call: KernelCall) throws -> [Value] {
        [.tensor(.scalar(Int64(try sequence(call, 0).elements.count)))]
    }

    /// Splits along `axis` into pieces of the `split` lengths, into equal pieces of a scalar
    /// `split` (the last one shorter), or into size-1 pieces (the axis dropped unless keepdims).
    static func splitToSequence(_ call: KernelCall) throws -> [Value] {
        let input = try call.tensor(0)
        let axis = try Axes.normalize(call.int("axis", 0), rank: input.rank)
        guard input.rank > 0 else { throw call.failure("cannot split a scalar") }
        let dim = input.shape[axis]
        var lengths: [Int]
        var dropAxis = false
        if let split = try call.optionalTensor(1) {
            guard split.kind == .int else { throw call.failure("split must be integers") }
            if split.rank == 0 {
                let size = split.asInts[0]
                guard size > 0 else { throw call.failure("split size \(size) must be positive") }
                lengths = [Int](repeating: size, count: dim / size)
                if dim % size > 0 { lengths.append(dim % size) }
            } else {
                lengths = split.asInts
                guard split.rank == 1, lengths.allSatisfy({ $0 >= 0 }), lengths.reduce(0, +) == dim else {
                    throw call.failure("split \(lengths) does not add up to dim \(dim) of axis \(axis)")
                }
            }
        } else {
            lengths = [Int](repeating: 1, count: dim)
            dropAxis = call.int("keepdims", 1) == 0
        }
        var pieces: [NDArray] = []
        pieces.reserveCapacity(lengths.count)
        var start = 0
        for l in lengths {
            pieces.append(dropAxis ? AxisBlocks.take(input, axis: axis, index: start)
                                   : AxisBlocks.slice(input, axis: axis, start: start, length: l))
            start += l
        }
        return [.sequence(pieces, elementType: input.dataType)]
    }

    /// Joins the tensors along `axis`, or stacks them along a new `axis` when new_axis = 1.
    static func concatFromSequence(_ call: KernelCall) throws -> [Value] {
        let (elements, _) = try sequence(call, 0)
        guard let first = elements.first else { throw call.failure("cannot concatenate an empty sequence") }
        guard let a = call.attribute("axis").map({ Int($0.i) }) else { throw call.failure("axis is required") }
        let stack = call.int("new_axis", 0) == 1
        let axis = try Axes.normalize(a, rank: first.rank + (stack ? 1 : 0))
        if !stack && first.rank == 0 { throw call.failure("cannot concatenate scalars without new_axis") }
        switch stack ? AxisBlocks.stack(elements, axis: axis) : AxisBlocks.concat(elements, axis: axis) {
        case .success(let t): return [.tensor(t)]
        case .failure(let m): throw call.failure(m.reason)
        }
    }
}

extension SequenceOps {
    /// Sequences are described by their elements' type and, when every element agrees, shape.
    static let shapeRules: [String: ShapeRule] = [
        "SequenceEmpty": { call in
            [InferredValue(kind: .sequence, elemType: DataType(Int32(call.int("dtype", Int(DataType.float.rawValue)))), shape: nil)]
        },
        "SequenceConstruct": { call in
            let items = try (0..<call.inputCount).map { try call.input($0) }
            let shape = items.dropFirst().allSatisfy({ $0.shape == items.first?.shape }) ? items.first?.shape : nil
            return [InferredValue(kind: .sequence, elemType: items.first?.elemType ?? .undefined, shape: shape)]
        },
        "SequenceInsert": { call in
            let s = try call.input(0), t = try call.input(1)
            return [InferredValue(kind: .sequence, elemType: s.elemType, shape: s.shape == t.shape ? s.shape : nil)]
        },
        "SequenceErase": { call in [try call.input(0)] },
        "SequenceAt": { call in
            let s = try call.input(0)
            var out = InferredValue.tensor(s.elemType, s.shape)
            if s.shape == nil { out.reason = "the sequence's elements differ in shape" }
            return [out]
        },
        "SequenceLength": { _ in [.tensor(.int64, [])] },
        "SplitToSequence": { call in
            let x = try call.input(0), s = try call.shape(0)
            let axis = try ShapeRules.axis(call.int("axis", 0), rank: s.count, call)
            var element: [DimExpr]? = s
            if !call.has(1) {
                if call.int("keepdims", 1) != 0 { element?[axis] = 1 } else { element?.remove(at: axis) }
            } else if let size = call.dimValues(1), size.count == 1, s[axis].dividedExactly(by: size[0]) != nil {
                element?[axis] = size[0]
            } else {
                element = nil
            }
            return [InferredValue(kind: .sequence, elemType: x.elemType, shape: element)]
        },
        "ConcatFromSequence": { call in
            let s = try call.input(0)
            guard var shape = s.shape else { throw call.gap("the sequence's elements differ in shape") }
            let newAxis = call.int("new_axis", 0) != 0
            let axis = try ShapeRules.axis(call.int("axis", 0), rank: shape.count + (newAxis ? 1 : 0), call)
            if newAxis { shape.insert(call.runtimeDim(), at: axis) } else { shape[axis] = call.runtimeDim() }
            return [.tensor(s.elemType, shape)]
        },
    ]
}
