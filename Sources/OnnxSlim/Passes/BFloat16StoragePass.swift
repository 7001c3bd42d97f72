/// `--quantize bf16`: stores float32 weights as bfloat16 and computes in float32.
///
/// bfloat16 keeps float32's range with 8 bits of mantissa, halving weight bytes at little
/// accuracy cost. The computation stays float32 because CPU runtimes have almost no bfloat16
/// kernels (onnxruntime's CPU provider has none for Add, Relu, ReduceSum, …) and ONNX's Conv
/// takes no bfloat16 before opset 22; each weight is widened by one Cast, which runtimes fold
/// once at load:
///
///     W (float32)  →  W_bfloat16 (bfloat16) → Cast(to float32) → W
public struct BFloat16StoragePass: ModelPass {
    /// Weights with fewer elements stay float32 (a Cast costs more than it saves).
    public var minElements = 16

    public init() {}

    public var name: String { "store weights as bfloat16" }

    public func run(_ model: inout Model, _ context: PassContext) throws -> PassOutcome {
        var names = NameAllocator(model)
        var converted = 0, before = 0, after = 0
        var graph = model.mainGraph
        try graph.mutateEachGraph { g in
            var casts: [Node] = []
            var removed = Set<String>()
            for k in g.initializers.indices {
                let t = g.initializers[k]
                guard t.dataType == .float, (t.elementCount ?? 0) >= minElements else { continue }
                let stored = names.fresh("\(t.name)_bfloat16")
                var narrow = TensorValues.tensor(stored, dims: t.dims, floats: try TensorValues.floats(t, reader: context.reader), as: .bfloat16)
                narrow.docString = t.docString
                casts.append(Node("Cast", inputs: [stored], outputs: [t.name], name: names.fresh("\(t.name)/Cast"),
                                  attributes: [.int("to", Int64(DataType.float.rawValue))]))
                before += t.dataByteCount
                after += narrow.dataByteCount
                removed.insert(t.name)
                g.initializers[k] = narrow
                converted += 1
            }
            g.inputs.removeAll { removed.contains($0.name) }   // weights declared as inputs (IR 3)
            var nodes: [Node] = []
            for var n in g.nodes {
                if n.isConstant, let t = n.attribute("value")?.t, t.dataType == .float, (t.elementCount ?? 0) >= minElements,
                   let output = n.outputs.first {
                    let stored = names.fresh("\(output)_bfloat16")
                    n.attributes = [.tensor("value", TensorValues.tensor(t.name, dims: t.dims, floats: try TensorValues.floats(t, reader: context.reader), as: .bfloat16))]
                    n.outputs = [stored]
                    before += t.dataByteCount
                    after += t.dataByteCount / 2
                    nodes.append(n)
                    nodes.append(Node("Cast", inputs: [stored], outputs: [output], name: names.fresh("\(output)/Cast"),
                                      attributes: [.int("to", Int64(DataType.float.rawValue))]))
                    converted += 1
                } else {
                    nodes.append(n)
                }
            }
            g.nodes = casts + nodes
        }
        model.mainGraph = graph
        let summary = converted == 0 ? [] : ["\(converted) weights, \(Formatting.bytes(before)) → \(Formatting.bytes(after)); computation stays float32"]
        return PassOutcome(name: name, changed: converted > 0, summary: summary)
    }
}
