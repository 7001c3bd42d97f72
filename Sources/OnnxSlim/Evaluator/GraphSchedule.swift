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
        let validator = ModelValidator(fileName: "")
        let reads = graph.nodes.map { node in
            node.inputs.filter { !$0.isEmpty } + node.subgraphs.flatMap { validator.freeNames(of: $0) }
        }
        order = try Self.dependencyOrder(graph, reads: reads)
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
    static func dependencyOrder(_ graph: Graph, reads: [[String]]) throws -> [Int] {
        var producer: [String: Int] = [:]
        for (k, n) in graph.nodes.enumerated() { for o in n.outputs where !o.isEmpty { producer[o] = k } }
        var state = [UInt8](repeating: 0, count: graph.nodes.count)   // 0 new, 1 visiting, 2 done
        var order: [Int] = []
        order.reserveCapacity(graph.nodes.count)
        for root in graph.nodes.indices where state[root] == 0 {
            var stack: [(Int, Bool)] = [(root, false)]
            while let (k, expanded) = stack.popLast() {
                if expanded { state[k] = 2; order.append(k); continue }
                if state[k] == 2 { continue }
                if state[k] == 1 { throw OnnxSlimError(.badInput, "the graph has a cycle through node '\(graph.nodes[k].name)'") }
                state[k] = 1
                stack.append((k, true))
                for name in reads[k].reversed() {
                    if let p = producer[name], p != k, state[p] != 2 {
                        if state[p] == 1 { throw OnnxSlimError(.badInput, "the graph has a cycle through node '\(graph.nodes[p].name)'") }
                        stack.append((p, false))
                    }
                }
            }
        }
        return order
    }
}
