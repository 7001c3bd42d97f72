/// Computes a node's outputs with the evaluator's kernel when every input's contents are known
/// and small: shape arithmetic (Range, Equal, Where, ConstantOfShape on a computed shape …) then
/// needs no rule of its own, and its results are exact.
struct ConstantFolder {
    /// Integer tensors up to this size keep their contents (shapes, axes, indices).
    static let maxIntegerElements = 1024
    /// Floating tensors up to this size keep their contents (Resize scales, …).
    static let maxFloatElements = 64
    /// Operators whose outputs differ from run to run.
    static let nondeterministic: Set<String> = [
        "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Bernoulli", "Multinomial",
    ]

    let opset: Int
    private let evaluator: Evaluator?

    init(opset: Int) {
        self.opset = opset
        var model = Model()
        model.opsetImports = [OperatorSetID(domain: "", version: Int64(opset))]
        evaluator = try? Evaluator(model: model)
    }

    /// The outputs with contents, or nil when the node cannot or need not be folded.
    func fold(_ node: Node, inputs: [InferredValue?], inferred: [InferredValue]) -> [InferredValue]? {
        guard let evaluator, node.isDefaultDomain, node.subgraphs.isEmpty, !node.inputs.isEmpty,
              !Self.nondeterministic.contains(node.opType), KernelRegistry.kernel(for: node) != nil else { return nil }
        let outputs = node.outputs.filter { !$0.isEmpty }.count
        if inferred.count >= outputs, inferred.allSatisfy({ $0.values != nil || $0.floats != nil }) { return nil }
        for v in inferred {
            if let n = v.elementCount, n.constant.map({ $0 > Self.maxIntegerElements }) ?? true { return nil }
        }
        var arrays: [Value?] = []
        for v in inputs {
            guard let v else { arrays.append(nil); continue }
            guard let a = v.array else { return nil }
            arrays.append(.tensor(a))
        }
        guard let results = try? evaluator.evaluateAlone(node, inputs: arrays) else { return nil }
        var out: [InferredValue] = []
        for r in results {
            guard case .tensor(let t) = r, t.count <= Self.maxIntegerElements else { return nil }
            var v = InferredValue.tensor(t.dataType, t.shape.map { DimExpr($0) })
            v.setContents(t)
            out.append(v)
        }
        return out
    }
}

extension InferredValue {
    /// The tensor itself, when its shape and every element are known numbers.
    var array: NDArray? {
        guard kind == .tensor, let shape else { return nil }
        let dims = shape.compactMap(\.constant)
        guard dims.count == shape.count else { return nil }
        let count = dims.reduce(1, *)
        if elemType == .bool, let ints = constantInts, ints.count == count {
            return NDArray(bools: ints.map { $0 != 0 }, shape: dims)
        }
        if let ints = constantInts, ints.count == count, elemType != .string {
            return NDArray(int64s: ints.map { Int64($0) }, shape: dims, type: elemType)
        }
        if let floats, floats.count == count {
            return NDArray(floats: floats.map { Float($0) }, shape: dims, type: elemType)
        }
        return nil
    }
}
