/// Every prunable group of a model's main graph: one walk (`ChannelWalk`) from the output axis
/// of each MatMul, Gemm and Conv weight not already in a group. Units are single indices
/// first (FFN neurons, conv channels); where a Reshape splits the axis into blocks (heads of
/// head_dim, grouped-query heads of several query heads), the walk is retried with blocks of
/// the smallest size that goes through. Groups the rules cannot prove are left out, with why.
public struct ChannelGroups {
    public private(set) var groups: [ChannelGroup] = []
    /// Why each weight that could start a group does not (reason → count, and the first layer
    /// with the node where the walk stopped).
    public private(set) var skipped: [String: (count: Int, example: String)] = [:]
    /// What shape inference knows of each main-graph value (the lengths of shape pieces).
    public private(set) var values: [String: InferredValue] = [:]
    /// MACs of each main-graph node, by its first output.
    public private(set) var macs: [String: DimExpr] = [:]

    public init(_ model: Model, reader: ExternalDataReader) throws {
        guard let graph = model.graph else { return }
        let index = GraphIndex(graph)
        var options = ShapeInference.Options()
        options.keepGraphValues = true
        let inferred = try ShapeInference.run(model, reader: reader, options: options)
        values = inferred.graphValues[.main]?.first ?? [:]
        macs = Self.macs(inferred)
        var weights: [String: Tensor] = [:]
        for key in index.weightOrder where key.path == .main { weights[key.name] = index.definition(key)?.tensor }
        let walk = ChannelWalk(index: index.main, weights: weights, values: values, opset: Int(model.opsetVersion() ?? 1))
        var grouped = Set<String>()
        for (n, node) in graph.nodes.enumerated() {
            // onnxruntime's fused Attention: the packed QKV weight's heads, by num_heads.
            if node.domain == MicrosoftKernels.domain, node.opType == "Attention", node.inputs.count > 1,
               let weight = weights[node.inputs[1]], weight.dims.count == 2, !grouped.contains("\(node.inputs[1])@1") {
                let units = AttentionOp.headUnits(node, packed: Int(weight.dims[1]))
                switch units.map({ walk.group(from: n, input: 1, axis: 1, units: $0) }) {
                case .success(var group)?:
                    group.kind = .heads
                    group.unitSize = units!.units[0].count / 3
                    grouped.formUnion(group.slices.map { "\($0.weight)@\($0.axis)" })
                    groups.append(group)
                case .failure(.opaque(let message))?:
                    skip(message, layer: node)
                case nil:
                    skipped["Attention heads do not divide the projections", default: (0, node.name)].count += 1
                }
                continue
            }
            guard ["MatMul", "Gemm", "Conv"].contains(node.opType), node.isDefaultDomain, node.inputs.count > 1,
                  let weight = weights[node.inputs[1]],
                  let use = Operators.knowledge(node)?.weightUse(node, weightRank: weight.dims.count), use.input == 1,
                  !grouped.contains("\(node.inputs[1])@\(use.channelAxis)") else { continue }
            let length = Int(weight.dims[use.channelAxis])
            guard length > 1 else { continue }
            switch Self.search(walk, node: n, axis: use.channelAxis, length: length) {
            case .success(var group):
                group.kind = node.opType == "Conv" ? .channels : group.unitSize > 1 ? .heads : .neurons
                grouped.formUnion(group.slices.map { "\($0.weight)@\($0.axis)" })
                groups.append(group)
            case .failure(.opaque(let message)):
                skip(message, layer: node)
            }
        }
    }

    /// Counts a walk's failure "Op 'node': reason" by reason, the first layer and node kept as the example.
    private mutating func skip(_ message: String, layer node: Node) {
        let label = node.name.isEmpty ? node.opType : node.name
        let parts = message.split(separator: ": ", maxSplits: 1).map(String.init)
        let reason = parts.count == 2 ? parts[1] : message
        let example = parts.count == 2 ? "\(label), at \(parts[0])" : label
        skipped[reason, default: (0, example)].count += 1
    }

    /// MACs per main-graph node (by first output) from an inference result.
    public static func macs(_ inferred: ShapeInference.Result) -> [String: DimExpr] {
        var out: [String: DimExpr] = [:]
        for r in inferred.nodes where r.depth == 0 { if let m = r.macs, let o = r.outputNames.first { out[o] = m } }
        return out
    }

    /// Units of one index, then blocks of each divisor of `length`, smallest first, while the
    /// walk fails inside a Reshape that splits the axis.
    static func search(_ walk: ChannelWalk, node: Int, axis: Int, length: Int) -> Result<ChannelGroup, ChannelWalk.Failure> {
        var first: Result<ChannelGroup, ChannelWalk.Failure>?
        for size in [1] + (2...max(2, length / 2)).filter({ length % $0 == 0 && $0 < length }) {
            let units = AxisUnits(axis: axis, length: length, units: (0..<(length / size)).map { u in Array((u * size)..<((u + 1) * size)) })
            let result = walk.group(from: node, input: 1, axis: axis, units: units)
            if case .success = result { return result }
            if first == nil { first = result }
            guard case .failure(.opaque(let reason)) = result, reason.hasSuffix("inside a unit") else { break }
        }
        return first!
    }
}
