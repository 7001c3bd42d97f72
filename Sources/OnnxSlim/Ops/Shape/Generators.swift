/// Tensors made from a few scalars: Range and ConstantOfShape.
enum GeneratorOps {
    /// Range: start + i * delta for i in 0..<ceil((limit - start) / delta), of start's type.
    static func range(_ call: KernelCall) throws -> [Value] {
        let start = try call.tensor(0), limit = try call.tensor(1), delta = try call.tensor(2)
        guard start.count == 1, limit.count == 1, delta.count == 1 else { throw call.failure("start, limit and delta must be scalars") }
        switch start.kind {
        case .float:
            let s = Double(start.asFloats[0]), l = Double(limit.asFloats[0]), d = Double(delta.asFloats[0])
            guard d != 0, s.isFinite, l.isFinite, d.isFinite else { throw call.failure("delta \(d) gives no range") }
            let q = ((l - s) / d).rounded(.up)
            guard q < 1e12 else { throw call.failure("range of \(q) elements is too long") }
            let n = q > 0 ? Int(q) : 0
            let values = (0..<n).map { Float(s + Double($0) * d) }
            return [.tensor(NDArray(floats: values, shape: [n], type: start.dataType))]
        case .int:
            let s = start.asInt64s[0], l = limit.asInt64s[0], d = delta.asInt64s[0]
            guard d != 0 else { throw call.failure("delta 0 gives no range") }
            let span = d > 0 ? l - s : s - l, step = d > 0 ? d : -d
            let n = span > 0 ? Int((span + step - 1) / step) : 0
            let values = (0..<n).map { s + Int64($0) * d }
            return [.tensor(NDArray(int64s: values, shape: [n], type: start.dataType))]
        default:
            throw call.failure("Range of \(start.dataType)")
        }
    }

    /// ConstantOfShape: the one-element `value` attribute (float 0 by default) repeated.
    static func constantOfShape(_ call: KernelCall) throws -> [Value] {
        let shape = try call.tensor(0).asInts
        guard shape.allSatisfy({ $0 >= 0 }) else { throw call.failure("negative dim in shape \(shape)") }
        let value = try call.tensorAttribute("value") ?? .scalar(Float(0))
        guard value.count == 1 else { throw call.failure("value must hold one element") }
        let n = shape.reduce(1, *)
        return [.tensor(NDArray(value.dataType, shape: shape, storage: value.storage.repeatingFirst(n)))]
    }
}

extension GeneratorOps {
    /// ceil((limit - start) / delta) elements; `Range(0, seq, 1)` stays symbolic.
    static func inferRange(_ call: ShapeCall) throws -> [InferredValue] {
        let type = try call.type(0)
        guard let start = call.dimValues(0)?.first ?? call.constantFloats(0).flatMap({ $0.first.map { DimExpr(Int($0)) } }),
              let limit = call.dimValues(1)?.first, let delta = call.constantInts(2)?.first, delta != 0 else {
            throw call.gap("start, limit and delta are computed at run time")
        }
        let n = delta > 0 ? (limit - start).ceilDiv(delta) : (start - limit).ceilDiv(-delta)
        var out = InferredValue.tensor(type, [n])
        if let count = n.constant, count >= 0, count <= ConstantFolder.maxIntegerElements {
            out.values = (0..<count).map { start + DimExpr($0 * delta) }
        }
        return [out]
    }

    static func inferConstantOfShape(_ call: ShapeCall) throws -> [InferredValue] {
        let shape = try call.requiredDims(0, "the shape")
        let value = try call.tensorAttribute("value")
        var out = InferredValue.tensor(value?.elemType ?? .float, shape)
        if let n = out.elementCount?.constant, n <= ConstantFolder.maxIntegerElements, let fill = value?.values?.first {
            out.values = Array(repeating: fill, count: n)
        }
        return [out]
    }
}
