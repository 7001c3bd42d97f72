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
    public var summary: String { "Stores float32 weights as bfloat16, widened by a Cast that runtimes fold at load." }
    public func requiredOpset(_ model: Model) throws -> Int64 { 13 }

    public func run(_ model: inout Model, _ context: PassContext) throws -> PassOutcome {
        var names = NameAllocator(model)
        var graph = model.mainGraph
        let totals = try NarrowStorage.rewrite(&graph, to: .bfloat16, names: &names) { t, _, _ in
            guard t.dataType == .float, (t.elementCount ?? 0) >= minElements else { return nil }
            var narrow = TensorValues.tensor(t.name, dims: t.dims, floats: try TensorValues.floats(t, reader: context.reader), as: .bfloat16)
            narrow.docString = t.docString
            return narrow
        }
        model.mainGraph = graph
        let summary = totals.tensors == 0 ? [] : ["\(totals.tensors) weights, \(Formatting.bytes(totals.bytesBefore)) → \(Formatting.bytes(totals.bytesAfter)); computation stays float32"]
        return PassOutcome(name: name, changed: totals.tensors > 0, summary: summary)
    }
}
