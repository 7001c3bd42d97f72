/// Runs after the other passes: drops each value_info declaration (main graph and subgraphs) that
/// shape inference now contradicts (`InferredValue.contradiction(with:)`), and keeps every
/// declaration that still agrees or that inference cannot judge. Graph inputs and outputs are
/// the model's interface and are never touched.
///
/// A declaration goes stale when a pass changes what it describes, or when an upgrade makes
/// onnx's checker see a contradiction it could not see before: Reshape-5 infers nothing from a
/// computed shape, Reshape-14 infers the rank from the shape's length, so a wrong rank an
/// exporter declared for a CRNN's Reshape passes at opset 12 and fails after the upgrade to 21.
///
///     value_info:  19: float32[?,32]          (Reshape to Concat(T, batch, -1))
///     after:       (dropped; inferred float32[T,batch,32])
///
/// Dropping is always safe (value_info is optional); rewriting a declaration would need dims
/// written back as names, which inference's formulas (T*batch) do not have.
public struct StaleValueInfoPass: ModelPass {
    public init() {}

    public var name: String { "value_info check" }
    public var summary: String { "Drops value_info declarations that shape inference now contradicts." }
    public func requiredOpset(_ model: Model) throws -> Int64 { 1 }

    public func run(_ model: inout Model, _ context: PassContext) throws -> PassOutcome {
        // A faithful re-encode keeps the model message for message, declarations included.
        guard context.changedSoFar, model.graph != nil else { return PassOutcome(name: name, changed: false, summary: []) }
        // Without declarations there is nothing to judge, and no inference to pay for.
        var declares = false
        model.mainGraph.forEachGraph { g, _ in declares = declares || !g.valueInfo.isEmpty }
        guard declares else { return PassOutcome(name: name, changed: false, summary: []) }
        var options = ShapeInference.Options()
        options.keepGraphValues = true
        // Inference that cannot run at all judges nothing; the declarations stay as they are.
        guard let inferred = try? ShapeInference.run(model, reader: context.reader, options: options) else {
            return PassOutcome(name: name, changed: false, summary: [], skipped: [("shape inference failed", 1)])
        }
        var stale: [(path: GraphPath, index: Int, reason: String)] = []
        model.mainGraph.forEachGraph { graph, path in
            let walks = inferred.graphValues[path] ?? []
            for (k, info) in graph.valueInfo.enumerated() {
                let reasons = walks.compactMap { $0[info.name]?.contradiction(with: info.type) }
                if let reason = reasons.first { stale.append((path, k, "'\(info.name)': \(reason)")) }
            }
        }
        if stale.isEmpty { return PassOutcome(name: name, changed: false, summary: []) }
        let byGraph = Dictionary(grouping: stale, by: \.path)
        var graph = model.mainGraph
        for (path, entries) in byGraph {
            let drop = Set(entries.map(\.index))
            graph.withGraph(at: path) { g in
                g.valueInfo = g.valueInfo.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
            }
        }
        model.mainGraph = graph
        let shown = stale.prefix(3).map(\.reason).joined(separator: ", ")
        let more = stale.count > 3 ? ", …" : ""
        return PassOutcome(name: name, changed: true,
                           summary: ["dropped \(stale.count) stale value_info (\(shown)\(more))"])
    }
}
