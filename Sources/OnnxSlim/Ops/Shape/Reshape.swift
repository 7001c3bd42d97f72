/// Reshape: same values, new shape. 0 copies the input dim (unless allowzero), -1 is inferred.
enum ReshapeOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let data = try call.take(0)
        let spec = try call.tensor(1).asInts
        let allowZero = call.int("allowzero", 0) != 0
        var shape = spec
        for (k, d) in spec.enumerated() where d == 0 && !allowZero {
            guard k < data.rank else { throw call.failure("dim 0 at \(k) has no input dim to copy") }
            shape[k] = data.shape[k]
        }
        if let hole = shape.firstIndex(of: -1) {
            let known = shape.enumerated().filter { $0.offset != hole }.reduce(1) { $0 * $1.element }
            guard known > 0, data.count % known == 0 else { throw call.failure("cannot reshape \(data.shape) to \(spec)") }
            shape[hole] = data.count / known
        }
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == data.count else {
            throw call.failure("cannot reshape \(data.shape) to \(spec)")
        }
        return [.tensor(data.reshaped(shape))]
    }
}

/// Constant and Identity.
enum ConstantOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        if let t = try call.tensorAttribute("value") { return [.tensor(t)] }
        if let a = call.attribute("value_float") { return [.tensor(.scalar(a.f))] }
        if let a = call.attribute("value_floats") { return [.tensor(NDArray(floats: a.floats, shape: [a.floats.count]))] }
        if let a = call.attribute("value_int") { return [.tensor(.scalar(a.i))] }
        if let a = call.attribute("value_ints") { return [.tensor(NDArray(int64s: a.ints, shape: [a.ints.count]))] }
        if let a = call.attribute("value_string") { return [.tensor(NDArray(strings: [a.stringValue], shape: []))] }
        if let a = call.attribute("value_strings") {
            return [.tensor(NDArray(strings: a.strings.map { String(decoding: $0, as: UTF8.self) }, shape: [a.strings.count]))]
        }
        throw call.unsupported("no supported value attribute (sparse_value?)")
    }

    static func identity(_ call: KernelCall) throws -> [Value] { [try call.value(0)] }
}

extension ReshapeOp {
    /// 0 copies the input dim (unless allowzero); -1 is the element count over the other dims,
    /// divided symbolically (batch*seq*768 / (batch*seq*12) = 64). Contents pass through.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let x = try call.input(0)
        let inShape = try call.shape(0)
        let spec = try call.requiredDims(1, "the target shape")
        let allowZero = call.int("allowzero", 0) != 0
        var shape = spec
        for (k, d) in spec.enumerated() where d.constant == 0 && !allowZero {
            guard k < inShape.count else { throw call.gap("dim 0 at \(k) has no input dim to copy") }
            shape[k] = inShape[k]
        }
        if let hole = shape.firstIndex(where: { $0.constant == -1 }) {
            let known = shape.enumerated().filter { $0.offset != hole }.reduce(DimExpr(1)) { $0 * $1.element }
            let total = inShape.reduce(DimExpr(1), *)
            if let q = total.dividedExactly(by: known) { shape[hole] = q }
            else if let k = known.constant, k > 0 { shape[hole] = total.floorDiv(k) }
            else { shape[hole] = call.runtimeDim() }
        }
        var out = InferredValue.tensor(x.elemType, shape)
        out.values = x.values
        out.floats = x.floats
        return [out]
    }
}

extension ConstantOp {
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        if let v = try call.tensorAttribute("value") { return [v] }
        for a in call.node.attributes {
            if let t = a.constantValueTensor(name: "") { return [call.context.weightValue(t)] }
        }
        if let s = call.attribute("sparse_value")?.sparseTensor {
            return [.tensor(s.values?.dataType ?? .undefined, s.dims.map { DimExpr(Int($0)) })]
        }
        throw call.gap("no value attribute")
    }

    /// Identity passes everything through: kind, shape and contents.
    static func inferIdentity(_ call: ShapeCall) throws -> [InferredValue] { [try call.input(0)] }
}

extension ReshapeOp {
    /// Reshape and Flatten keep the data order, so an axis maps through the products of the dims
    /// before it: where the dims before the axis multiply to the same value in both shapes, the
    /// axis lines up with an axis the other side (same length), splits into several ([B,S,H·d]
    /// → [B,S,H,d]: units must then be whole blocks of the inner axes, as heads are), or merges
    /// with neighbours ([B,S,H,d] → [B,S,H·d]: each index becomes a block). Products may be
    /// symbolic (B·S); the blocks' sizes must be numbers. The target shape element of the
    /// output axis that changes length follows it (`LengthEdit`).
    static func axes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard from == .input(0) || from == .output(0) else { return .tied([]) }
        guard let input = call.shape(.input(0)), let output = call.shape(.output(0)),
              !input.contains(where: \.hasUnknown), !output.contains(where: \.hasUnknown) else {
            return .opaque("Reshape with shapes known only at run time")
        }
        let fromInput = from == .input(0)
        let here = fromInput ? input : output, there = fromInput ? output : input
        let otherPort: NodePort = fromInput ? .output(0) : .input(0)
        func product(_ dims: ArraySlice<DimExpr>) -> DimExpr { dims.reduce(DimExpr(1), *) }
        func prefix(_ dims: [DimExpr], _ n: Int) -> DimExpr { product(dims.prefix(n)) }
        /// The target-shape element of output axis `axis` follows its new length.
        func edits(outputAxis axis: Int) -> [LengthEdit] {
            call.node.opType == "Reshape" ? [LengthEdit(site: .inputElement(input: 1, element: axis), tracks: .output(0), axis: axis)] : []
        }
        let before = prefix(here, u.axis), through = before * here[u.axis]
        if let end = (0...there.count).first(where: { prefix(there, $0) == through }),
           var start = (0..<end).last(where: { prefix(there, $0) == before }) {
            if end - start == 1 {
                return .tied([(otherPort, u.on(axis: start))], edits: edits(outputAxis: fromInput ? start : u.axis))
            }
            // A periodic axis ([B·H]) splits back into its symbolic part and the axes spanning one period.
            if let period = u.period {
                guard let t = (start..<end).first(where: { product(there[$0..<end]).constant == period }) else {
                    return .opaque("Reshape splits a merged head axis unevenly")
                }
                start = t
            }
            // Split: the units must be whole blocks along one of the axes the other side has.
            for axis in start..<end {
                guard let outer = product(there[start..<axis]).constant, let inner = product(there[(axis + 1)..<end]).constant,
                      let units = u.split(outer: outer, inner: inner, axis: axis) else { continue }
                return .tied([(otherPort, units)], edits: edits(outputAxis: fromInput ? axis : u.axis))
            }
            return .opaque("Reshape splits the axis inside a unit")
        }
        // Merge: the other side's axis j spans here's axes [a0, a1) around the arriving one.
        for j in there.indices {
            let lo = prefix(there, j), hi = prefix(there, j + 1)
            guard let a0 = (0...u.axis).last(where: { prefix(here, $0) == lo }),
                  let a1 = ((u.axis + 1)...here.count).first(where: { prefix(here, $0) == hi }) else { continue }
            guard let inner = product(here[(u.axis + 1)..<a1]).constant, u.period == nil else {
                return .opaque("Reshape merges the axis with a symbolic one")
            }
            guard let outer = product(here[a0..<u.axis]).constant else {
                // [B, H, …] → [B·H·…]: the units repeat along the symbolic outer part.
                var merged = u.merged(outer: 1, inner: inner, axis: j)
                merged.period = merged.length
                return .tied([(otherPort, merged)], edits: edits(outputAxis: fromInput ? j : u.axis))
            }
            return .tied([(otherPort, u.merged(outer: outer, inner: inner, axis: j))], edits: edits(outputAxis: fromInput ? j : u.axis))
        }
        return .opaque("Reshape regroups the axis")
    }
}
