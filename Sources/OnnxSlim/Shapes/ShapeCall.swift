/// A shape rule: from what is known of a node's inputs, what is known of its outputs (one per
/// node output; trailing optional outputs may be left off). Throws `ShapeGap` when the rule
/// cannot say, which inference reports rather than guesses around.
public typealias ShapeRule = (ShapeCall) throws -> [InferredValue]

/// Why a rule could not infer a node's outputs.
public struct ShapeGap: Error, Sendable {
    public var reason: String
}

/// What a shape rule sees of its node: inputs as inferred values (nil where omitted), attributes,
/// the opset; and where it records the node's cost (MACs and FLOPs as expressions).
public final class ShapeCall: AttributeReading {
    public let node: Node
    public let inputs: [InferredValue?]
    public let opset: Int
    /// Multiply-accumulates of contractions (Conv, MatMul, Gemm, …), as onnx-tool counts them.
    public var macs = DimExpr(0)
    /// Floating-point operations: 2 per multiply-accumulate plus elementwise math.
    public var flops = DimExpr(0)
    let context: ShapeInference.Context

    init(node: Node, inputs: [InferredValue?], opset: Int, context: ShapeInference.Context) {
        self.node = node
        self.inputs = inputs
        self.opset = opset
        self.context = context
    }

    public var inputCount: Int { inputs.count }
    public var outputCount: Int { node.outputs.count }
    public func has(_ k: Int) -> Bool { k < inputs.count && inputs[k] != nil }
    public func wantsOutput(_ k: Int) -> Bool { k < node.outputs.count && !node.outputs[k].isEmpty }

    /// Input `k`; throws when omitted or unknown.
    public func input(_ k: Int) throws -> InferredValue {
        guard let v = k < inputs.count ? inputs[k] : nil else { throw gap("input \(k) is missing") }
        guard v.kind != .unknown else { throw gap("input \(k) is not inferred") }
        return v
    }

    /// Input `k` as a tensor of known rank: its dims.
    public func shape(_ k: Int) throws -> [DimExpr] {
        let v = try input(k)
        guard v.kind == .tensor, let s = v.shape else { throw gap("the rank of input \(k) is not known") }
        return s
    }

    /// Input `k`'s element type (may be `.undefined`).
    public func type(_ k: Int) throws -> DataType { try input(k).elemType }

    /// Contents of integer input `k` as symbolic dims, when known.
    public func dimValues(_ k: Int) -> [DimExpr]? { k < inputs.count ? inputs[k]?.values : nil }

    /// Contents of integer input `k` as numbers, when known.
    public func constantInts(_ k: Int) -> [Int]? { k < inputs.count ? inputs[k]?.constantInts : nil }

    /// Contents of floating input `k`, when known.
    public func constantFloats(_ k: Int) -> [Double]? {
        guard k < inputs.count, let v = inputs[k] else { return nil }
        return v.floats ?? v.constantInts.map { $0.map(Double.init) }
    }

    /// Integer contents required by the rule (a shape, axes, repeats…).
    public func requiredDims(_ k: Int, _ what: String) throws -> [DimExpr] {
        guard let v = dimValues(k) else { throw computedAtRunTime(k, what) }
        return v
    }

    /// Optional integer input `k` as numbers (axes, steps…): nil when omitted, a gap when its
    /// values are known only at run time.
    public func optionalInts(_ k: Int, _ what: String) throws -> [Int]? {
        guard has(k) else { return nil }
        guard let v = constantInts(k) else { throw computedAtRunTime(k, what) }
        return v
    }

    private func computedAtRunTime(_ k: Int, _ what: String) -> ShapeGap {
        gap("input \(k) (\(what)) is computed at run time")
    }

    /// A size known only at run time (NonZero's count, …): a fresh unknown dim.
    public func runtimeDim() -> DimExpr { context.freshUnknown() }

    /// Infers subgraph attribute `name` with `inputs` bound to its graph inputs; outer values are visible.
    public func inferSubgraph(_ name: String, _ inputs: [InferredValue]) throws -> [InferredValue] {
        guard let a = node.attributes.firstIndex(where: { $0.name == name }), let g = node.attributes[a].g else {
            throw gap("attribute '\(name)' holds no graph")
        }
        return try context.inferSubgraph(g, attribute: a, inputs: inputs)
    }

    /// A TENSOR attribute as an inferred value (with contents when small).
    public func tensorAttribute(_ name: String) throws -> InferredValue? {
        guard let t = node.attribute(name)?.t else { return nil }
        return context.weightValue(t)
    }

    public func gap(_ reason: String) -> ShapeGap { ShapeGap(reason: reason) }
    public func attributeError(_ message: String) -> any Error { gap(message) }

    /// Output 0 keeps input `k`'s type and shape; counts `flopsPerElement` per element.
    public func sameAsInput(_ k: Int = 0, flopsPerElement: Int = 0) throws -> [InferredValue] {
        let v = try input(k)
        countElementwise(v, flopsPerElement)
        var out = InferredValue(kind: v.kind, elemType: v.elemType, shape: v.shape)
        out.reason = v.reason
        return [out]
    }

    /// Counts `flopsPerElement` for every element of a floating `value` (integer math on shapes
    /// is bookkeeping, not compute).
    public func countElementwise(_ value: InferredValue, _ flopsPerElement: Int) {
        guard flopsPerElement > 0, ElementKind(value.elemType) == .float, let n = value.elementCount else { return }
        flops += n * DimExpr(flopsPerElement)
    }
}
