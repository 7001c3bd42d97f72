/// Whether a declared type (a graph's value_info) still describes what shape inference gives for
/// the value. Only definite contradictions count, the ones onnx's checker rejects when it merges
/// a declaration with its own inference: another kind (tensor / sequence / optional / map),
/// another element type, another rank, or two different fixed dims. A symbolic, unknown or
/// negative (Paddle's -1) dim on either side agrees with anything, so a declaration naming dims
/// that inference derives as formulas is kept.
///
///     declared float32[?,32]   inferred float32[T,batch,32]   → "rank 2, inferred 3"
///     declared float32[N,32]   inferred float32[batch*T,32]   → agrees
extension InferredValue {
    /// Why `declared` contradicts this value, or nil when it agrees or either side is unknown.
    public func contradiction(with declared: TypeProto?) -> String? {
        guard kind != .unknown, let declared else { return nil }
        switch (declared.value, kind) {
        case (.tensor(let t), .tensor):
            return elementTypeContradiction(t.elemType) ?? shapeContradiction(t.shape)
        case (.sequence(let c), .sequence), (.optional(let c), .optional):
            // Elements of a sequence may differ in shape; the inferred shape is one of them.
            return c.elemType?.tensorType.flatMap { elementTypeContradiction($0.elemType) }
        case (.map, .map), (.none, _), (.sparseTensor, _), (.opaque, _):
            return nil
        default:
            return "declared a different kind of value"
        }
    }

    private func elementTypeContradiction(_ declared: DataType) -> String? {
        guard declared != .undefined, elemType != .undefined, declared != elemType else { return nil }
        return "element type \(declared), inferred \(elemType)"
    }

    private func shapeContradiction(_ declared: Shape?) -> String? {
        guard let declared, let shape else { return nil }
        guard declared.dims.count == shape.count else { return "rank \(declared.dims.count), inferred \(shape.count)" }
        for (k, (d, e)) in zip(declared.dims, shape).enumerated() {
            if case .value(let v) = d.value, v >= 0, let c = e.constant, c != Int(v) {
                return "dim \(k) is \(v), inferred \(c)"
            }
        }
        return nil
    }
}
