/// After weight quantization: stores the float32 tensors that remain — scales, biases,
/// normalization parameters — as float16, widened by a Cast that runtimes fold at load.
///
/// A float16 value is off by at most 2⁻¹¹ of itself, an order of magnitude below the int8 (and
/// far below the int4) error of the weights these tensors accompany; measured on a BERT-style
/// model the output cosine against float changes by less than 1e-5, while the file loses a
/// third of what is not weights. Only tensors of at least `minElements` whose values fit
/// float16's range, with the largest magnitude at least its smallest normal, are narrowed
/// (attention-mask constants such as −3.4e38 and tensors of epsilons stay float32), and
/// normalization parameters stay float32; `--keep-float32` turns the pass off.
///
///     b (float32 [768])  →  b_float16 (float16) → Cast(to float32) → b
public struct HalfStoragePass: ModelPass {
    public var minElements = 16
    /// Nodes whose inputs stay float32 (the quantization's exclusions).
    public var isExcluded: @Sendable (Node) -> Bool = { _ in false }

    public init() {}

    public var name: String { "store remaining float32 tensors as float16" }
    public var summary: String { "Stores the float32 tensors left after quantization (scales, biases, norms) as float16 behind a Cast." }
    public func requiredOpset(_ model: Model) throws -> Int64 { 1 }

    public func run(_ model: inout Model, _ context: PassContext) throws -> PassOutcome {
        // Only after a quantization changed the model: otherwise nothing was asked to be lossy.
        guard context.changedSoFar else { return PassOutcome(name: name, changed: false, summary: []) }
        var names = NameAllocator(model)
        var graph = model.mainGraph
        let outputs = Set(graph.outputs.map(\.name))
        let kept = keptFloat32(graph).subtracting(context.quantizationParameters)
        let totals = try NarrowStorage.rewrite(&graph, to: .float16, names: &names) { t, name, graphInputs in
            guard !kept.contains(name), !outputs.contains(name), !graphInputs.contains(name) else { return nil }
            return try Self.narrow(t, minElements: minElements, reader: context.reader)
        }
        model.mainGraph = graph
        let summary = totals.tensors == 0 ? []
            : ["\(totals.tensors) tensors, \(Formatting.bytes(totals.bytesBefore)) → \(Formatting.bytes(totals.bytesAfter))"]
        return PassOutcome(name: name, changed: totals.tensors > 0, summary: summary)
    }

    /// Names that stay float32: normalization parameters (they scale every activation), weights
    /// quantization left alone (read at a weight position, except scale tables read by lookups),
    /// inputs of excluded nodes.
    private func keptFloat32(_ graph: Graph) -> Set<String> {
        var keep = Set<String>()
        let catalog = GraphIndex(graph)
        graph.forEachGraph { g, _ in
            for n in g.nodes where Self.normalizations.contains(n.opType) || isExcluded(n) { keep.formUnion(n.inputs) }
        }
        for key in catalog.weightOrder {
            guard let def = catalog.definition(key) else { continue }
            for use in catalog.uses(of: key) {
                guard let op = Operators.knowledge(use.consumer),
                      let wu = op.weightUse(use.consumer, weightRank: def.tensor.dims.count), wu.input == use.input else { continue }
                if wu.kind == .lookup && catalog.feedsQuantizationParameters(use) { continue }
                keep.insert(key.name)
            }
        }
        return keep
    }

    static let normalizations: Set<String> = [
        "LayerNormalization", "BatchNormalization", "InstanceNormalization", "GroupNormalization",
        "LpNormalization", "SimplifiedLayerNormalization", "SkipLayerNormalization", "SkipSimplifiedLayerNormalization",
    ]

    /// The float16 form of `t`, when it is float32, large enough, and every value survives.
    static func narrow(_ t: Tensor, minElements: Int, reader: ExternalDataReader) throws -> Tensor? {
        guard t.dataType == .float, let n = t.elementCount, n >= minElements else { return nil }
        let values = try TensorValues.floats(t, reader: reader)
        // Every value within ±65504, and the largest at least float16's smallest normal: then each
        // value is off by at most 2⁻¹¹ of the tensor's largest magnitude (tiny values round to
        // subnormals or zero, absolute error ≤ 2⁻²⁵).
        var largest: Float = 0
        for v in values {
            guard v.isFinite else { return nil }
            largest = max(largest, abs(v))
        }
        guard largest <= 65504, largest >= 0x1p-14 else { return nil }
        var half = TensorValues.tensor(t.name, dims: t.dims, floats: values, as: .float16)
        half.docString = t.docString
        return half
    }
}
