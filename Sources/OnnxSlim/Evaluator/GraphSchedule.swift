/// The order a graph's nodes run in, and after which node each value is read for the last time:
/// what the evaluator frees as it goes (GraphPlan) and what shape inference's peak-memory
/// estimate frees (ShapeInference), computed one way for both.
struct GraphSchedule {
    /// Node indices, every node after the producers of what it reads.
    let order: [Int]
    /// Per position in `order`: values this graph owns (graph inputs, node outputs; not weights,
    /// outer values or graph outputs) whose last reader is that node.
    let releases: [[String]]

    init(_ graph: Graph) throws {
        // What each node reads: its inputs and the outer values its subgraphs use.
        let index = GraphIndex(graph, weights: false).main
        let reads = index.nodeReads
        order = try Self.dependencyOrder(index, reads: reads)
        var owned = Set(graph.inputs.map(\.name))
        for n in graph.nodes { owned.formUnion(n.outputs) }
        owned.subtract(graph.outputs.map(\.name))
        var lastUse: [String: Int] = [:]
        for (position, index) in order.enumerated() {
            for name in reads[index] { lastUse[name] = position }
        }
        var releases = [[String]](repeating: [], count: order.count)
        for (name, position) in lastUse where owned.contains(name) { releases[position].append(name) }
        self.releases = releases
    }

    /// Node indices such that every node comes after the producers of its inputs (the file's order
    /// when it already is one); `reads[k]` are the values node k reads. Values produced nowhere in
    /// this graph come from outside.
    static func dependencyOrder(_ index: GraphIndex.Scope, reads: [[String]]) throws -> [Int] {
        let nodes = index.nodes
        var state = [UInt8](repeating: 0, count: nodes.count)   // 0 new, 1 visiting, 2 done
        var order: [Int] = []
        order.reserveCapacity(nodes.count)
        for root in nodes.indices where state[root] == 0 {
            var stack: [(Int, Bool)] = [(root, false)]
            while let (k, expanded) = stack.popLast() {
                if expanded { state[k] = 2; order.append(k); continue }
                if state[k] == 2 { continue }
                if state[k] == 1 { throw OnnxSlimError(.badInput, "the graph has a cycle through node '\(nodes[k].name)'") }
                state[k] = 1
                stack.append((k, true))
                for name in reads[k].reversed() {
                    if let p = index.producers[name]?.node, p != k, state[p] != 2 {
                        if state[p] == 1 { throw OnnxSlimError(.badInput, "the graph has a cycle through node '\(nodes[p].name)'") }
                        stack.append((p, false))
                    }
                }
            }
        }
        return order
    }
}
