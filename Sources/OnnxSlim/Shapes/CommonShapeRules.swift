/// Shape rules many operators share: elementwise maps, numpy broadcasting, axis handling.
/// Operators use these from their own files; nothing here knows an operator by name.
enum ShapeRules {
    /// Output 0 is input 0's type and shape (Relu, Neg, Softmax …), `flops` per element.
    static func elementwise(flops: Int) -> ShapeRule {
        { call in try call.sameAsInput(0, flopsPerElement: flops) }
    }

    /// A table giving every listed operator the same rule.
    static func table(_ ops: some Sequence<String>, _ rule: @escaping ShapeRule) -> [String: ShapeRule] {
        Dictionary(uniqueKeysWithValues: ops.map { ($0, rule) })
    }

    /// Numpy broadcasting of symbolic shapes. A dim of 1 stretches; equal dims stay; a number
    /// against a symbol gives the number (the symbol must equal it or be 1 for the model to run).
    /// Two different symbols give a run-time dim: which one wins is not known before running.
    static func broadcast(_ shapes: [[DimExpr]], _ call: ShapeCall) throws -> [DimExpr] {
        let rank = shapes.map(\.count).max() ?? 0
        var out: [DimExpr] = []
        out.reserveCapacity(rank)
        for d in 0..<rank {
            var dim: DimExpr? = nil
            for s in shapes {
                let k = d - (rank - s.count)
                guard k >= 0 else { continue }
                let x = s[k]
                guard let current = dim else { dim = x; continue }
                if x == current || x.constant == 1 { continue }
                if current.constant == 1 { dim = x; continue }
                if let a = current.constant, let b = x.constant, a != b {
                    throw call.gap("dims \(a) and \(b) do not broadcast")
                }
                if x.constant != nil { dim = x; continue }
                if current.constant != nil { continue }
                dim = call.runtimeDim()
            }
            out.append(dim ?? DimExpr(1))
        }
        return out
    }

    /// Broadcast of every present input; the element type is `output` or input 0's.
    /// `flops` per output element.
    static func broadcasting(output: DataType? = nil, flops: Int = 1) -> ShapeRule {
        { call in
            var shapes: [[DimExpr]] = []
            for k in 0..<call.inputCount where call.has(k) { shapes.append(try call.shape(k)) }
            let type = try output ?? call.type(0)
            let out = InferredValue.tensor(type, try broadcast(shapes, call))
            call.countElementwise(out, flops)
            return [out]
        }
    }

    /// `axis` in [-rank, rank) made non-negative, or a gap naming the node. A scalar has no axis:
    /// rules index the shape with the result, and a mutated model feeding one must not trap.
    static func axis(_ axis: Int, rank: Int, _ call: ShapeCall) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < rank else { throw call.gap("axis \(axis) is out of range for rank \(rank)") }
        return a
    }

    /// Integer contents through elementwise integer math, so shape arithmetic on `Shape` outputs
    /// (batch*seq, seq/2, …) stays symbolic. Nil when a content is unknown.
    static func combineContents(_ call: ShapeCall, _ outShape: [DimExpr], _ op: (DimExpr, DimExpr) -> DimExpr?) -> [DimExpr]? {
        guard call.inputCount == 2, let a = call.dimValues(0), let b = call.dimValues(1),
              let count = outShape.reduce(DimExpr(1), *).constant, count <= ConstantFolder.maxIntegerElements,
              a.count == count || a.count == 1, b.count == count || b.count == 1 else { return nil }
        var out: [DimExpr] = []
        for i in 0..<count {
            guard let r = op(a[a.count == 1 ? 0 : i], b[b.count == 1 ? 0 : i]) else { return nil }
            out.append(r)
        }
        return out
    }
}

/// Every shape rule, by operator type (default ONNX domain): the shape rules of `OperatorRegistry`.
public enum ShapeRuleRegistry {
    static let table: [String: ShapeRule] = OperatorRegistry.entries.compactMapValues(\.shapeRule)

    static func rule(for node: Node) -> ShapeRule? {
        OperatorRegistry.entry(for: node)?.shapeRule
    }

    public static var supportedOperators: [String] { table.keys.sorted() }
}
