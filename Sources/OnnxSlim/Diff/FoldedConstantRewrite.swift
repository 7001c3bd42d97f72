/// Constant folding: a subgraph of A that computes from weights and constants only, replaced in B
/// by weights (initializers or Constant nodes). One change per folded region, naming the ops.
enum FoldedConstantRewrite {
    static func apply(_ d: GraphDiffer) {
        for (r, region) in d.regions.enumerated() where !d.claimedRegions.contains(r) {
            let computed = d.computeNodes(d.a, region.a)
            guard !computed.isEmpty, !region.b.isEmpty, region.b.allSatisfy({ d.b.holdsTensor($0) }) else { continue }
            let members = Set(region.a)
            // Every input of the folded nodes is a weight or another folded node.
            let constantOnly = computed.allSatisfy { v in
                d.a.vertices[v].inputs.allSatisfy { s in
                    s.vertex < 0 ? s.outerName == nil : (members.contains(s.vertex) || d.a.holdsTensor(s.vertex))
                }
            }
            guard constantOnly else { continue }
            d.claim(region: r)
            // Everything A's region computed with: the folded nodes and the Constant nodes they read.
            let nodes = region.a.filter { d.a.vertices[$0].kind == .node }
            var ops: [String: Int] = [:]
            for v in nodes { ops[d.a.vertices[v].op, default: 0] += 1 }
            let opText = ops.sorted { $0.key < $1.key }.map { $0.value == 1 ? $0.key : "\($0.key)×\($0.value)" }.joined(separator: ", ")
            let results = region.b.map { d.b.valueName($0) }
            var c = ModelDiff.Change(.folded, a: nodes.map { d.a.label($0) }, b: results,
                                     "\(nodes.count) node\(nodes.count == 1 ? "" : "s") (\(opText)) folded into \(results.joined(separator: ", "))",
                                     fields: [("nodes", .int(nodes.count)), ("ops", .object(ops.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))])
            c.aVertices = region.a
            c.bVertices = region.b
            d.add(c)
        }
    }
}
