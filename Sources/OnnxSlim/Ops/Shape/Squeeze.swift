/// Squeeze, Unsqueeze and Flatten: new shapes over the same values. Axes are an attribute
/// before opset 13 and an input from 13.
enum SqueezeOp {
    private static func axes(_ call: KernelCall) throws -> [Int]? {
        if call.opset >= 13 { return try call.optionalTensor(1)?.asInts }
        return call.ints("axes")
    }

    static func squeeze(_ call: KernelCall) throws -> [Value] {
        let x = try call.take(0)
        let shape: [Int]
        if let spec = try axes(call) {
            let drop = Set(try Axes.normalize(spec, rank: x.rank))
            for a in drop where x.shape[a] != 1 { throw call.failure("dim \(a) of shape \(x.shape) is not 1") }
            shape = x.shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
        } else {
            shape = x.shape.filter { $0 != 1 }
        }
        return [.tensor(x.reshaped(shape))]
    }

    static func unsqueeze(_ call: KernelCall) throws -> [Value] {
        let x = try call.take(0)
        guard let spec = try axes(call) else { throw call.failure("axes are required") }
        let rank = x.rank + spec.count
        let added = Set(try Axes.normalize(spec, rank: rank))
        guard added.count == spec.count else { throw call.failure("repeated axes \(spec)") }
        var rest = x.shape.makeIterator()
        let shape = (0..<rank).map { added.contains($0) ? 1 : rest.next() ?? 1 }
        return [.tensor(x.reshaped(shape))]
    }

    static func flatten(_ call: KernelCall) throws -> [Value] {
        let x = try call.take(0)
        let raw = call.int("axis", 1)
        let axis = raw < 0 ? raw + x.rank : raw
        guard axis >= 0 && axis <= x.rank else { throw call.failure("axis \(raw) is out of range for rank \(x.rank)") }
        return [.tensor(x.reshaped([Axes.product(x.shape, 0..<axis), Axes.product(x.shape, axis..<x.rank)]))]
    }
}

extension SqueezeOp {
    private static func axes(_ call: ShapeCall) throws -> [Int]? {
        try call.opset >= 13 ? call.optionalInts(1, "axes") : call.ints("axes")
    }

    /// Contents pass through: only the shape changes.
    private static func reshaped(_ call: ShapeCall, _ shape: [DimExpr]) throws -> [InferredValue] {
        let x = try call.input(0)
        var out = InferredValue.tensor(x.elemType, shape)
        out.values = x.values
        out.floats = x.floats
        return [out]
    }

    static func inferSqueeze(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0)
        if let spec = try axes(call) {
            let gone = Set(try spec.map { try ShapeRules.axis($0, rank: s.count, call) })
            return try reshaped(call, s.enumerated().filter { !gone.contains($0.offset) }.map(\.element))
        }
        guard s.allSatisfy({ $0.constant != nil }) else { throw call.gap("which symbolic dims are 1 is not known") }
        return try reshaped(call, s.filter { $0.constant != 1 })
    }

    static func inferUnsqueeze(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0)
        guard let spec = try axes(call) else { throw call.gap("axes are required") }
        let rank = s.count + spec.count
        let added = Set(try spec.map { try ShapeRules.axis($0, rank: rank, call) })
        var shape: [DimExpr] = [], next = 0
        for d in 0..<rank {
            if added.contains(d) { shape.append(1) } else if next < s.count { shape.append(s[next]); next += 1 }
        }
        return try reshaped(call, shape)
    }

    static func inferFlatten(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0)
        let raw = call.int("axis", 1)
        let axis = raw < 0 ? raw + s.count : raw
        guard axis >= 0 && axis <= s.count else { throw call.gap("axis \(raw) is out of range for rank \(s.count)") }
        return try reshaped(call, [s[..<axis].reduce(DimExpr(1), *), s[axis...].reduce(DimExpr(1), *)])
    }
}

extension SqueezeOp {
    /// Squeeze drops and Unsqueeze inserts axes of length 1; the others keep their order.
    static func axes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard from == .input(0) || from == .output(0) else { return .tied([]) }
        guard let inRank = call.rank(.input(0)), let outRank = call.rank(.output(0)) else { return .opaque("rank unknown") }
        // Which axes of the longer shape have no counterpart.
        let squeezing = call.node.opType == "Squeeze"
        let longRank = squeezing ? inRank : outRank
        var spec = call.opset >= 13 ? call.knownValues(1) : call.ints("axes")
        if spec == nil && squeezing, let shape = call.shape(.input(0)) {
            spec = shape.indices.filter { shape[$0].constant == 1 }
        }
        guard let extra = spec.map({ Set($0.map { AxisRules.normalize($0, rank: longRank) }) }) else {
            return .opaque("axes known only at run time")
        }
        let kept = (0..<longRank).filter { !extra.contains($0) }
        let fromLong = squeezing == (from == .input(0))
        let other: NodePort = from == .input(0) ? .output(0) : .input(0)
        if fromLong {
            guard let i = kept.firstIndex(of: u.axis) else { return .tied([]) }
            return .tied([(other, u.on(axis: i))])
        }
        guard u.axis < kept.count else { return .opaque("axis out of range") }
        return .tied([(other, u.on(axis: kept[u.axis]))])
    }
}
