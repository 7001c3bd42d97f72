/// A graph prepared for evaluation once, run many times: nodes in dependency order with their
/// kernels, the values each node is the last to read (freed right after it), nested plans for
/// subgraphs, and decoded weights cached across runs.
final class GraphPlan {
    struct Step {
        let node: Node
        let kernel: Kernel
        let subplans: [String: GraphPlan]
        /// Values of this scope whose last reader is this step.
        let release: [String]
        /// A Constant node: evaluated once and cached with the weights.
        let isConstant: Bool
    }

    let graph: Graph
    let steps: [Step]
    private let initializers: [String: Tensor]
    private var decoded: [String: NDArray] = [:]
    private let reader: ExternalDataReader
    private let lock = Lock()

    init(graph: Graph, reader: ExternalDataReader) throws {
        self.graph = graph
        self.reader = reader
        var inits: [String: Tensor] = [:]
        for t in graph.initializers { inits[t.name] = t }
        initializers = inits

        // What each node reads: its inputs and the outer values its subgraphs use (computed once).
        let validator = ModelValidator(fileName: "")
        let nodeReads = graph.nodes.map { node in
            node.inputs.filter { !$0.isEmpty } + node.subgraphs.flatMap { validator.freeNames(of: $0) }
        }
        let order = try Self.dependencyOrder(graph, reads: nodeReads)
        // Names this scope owns: graph inputs and node outputs (not weights, not outer values).
        var owned = Set(graph.inputs.map(\.name))
        for n in graph.nodes { owned.formUnion(n.outputs) }
        owned.subtract(graph.outputs.map(\.name))
        var lastUse: [String: Int] = [:]
        for (position, index) in order.enumerated() {
            for name in nodeReads[index] { lastUse[name] = position }
        }
        var releases = [[String]](repeating: [], count: order.count)
        for (name, position) in lastUse where owned.contains(name) { releases[position].append(name) }

        var steps: [Step] = []
        for (position, index) in order.enumerated() {
            let node = graph.nodes[index]
            guard let kernel = KernelRegistry.kernel(for: node) else {
                let domain = node.isDefaultDomain ? "" : "\(node.domain)."
                throw OnnxSlimError(.badInput, "unsupported operator '\(domain)\(node.opType)' (node '\(node.name)')")
            }
            var subplans: [String: GraphPlan] = [:]
            for a in node.attributes { if let g = a.g { subplans[a.name] = try GraphPlan(graph: g, reader: reader) } }
            steps.append(Step(node: node, kernel: kernel, subplans: subplans, release: releases[position],
                              isConstant: node.opType == "Constant" && node.isDefaultDomain && node.inputs.isEmpty))
        }
        self.steps = steps
    }

    /// The decoded weight `name` of this graph, or nil when it holds none by that name.
    func weight(_ name: String) throws -> NDArray? {
        if let cached = lock.withLock({ decoded[name] }) { return cached }
        guard let t = initializers[name] else { return nil }
        let value = try NDArray(tensor: t, reader: reader)
        lock.withLock { decoded[name] = value }
        return value
    }

    /// Caches a value that does not change between runs (a Constant node's output).
    func cache(_ name: String, _ value: NDArray) { lock.withLock { decoded[name] = value } }

    func cached(_ name: String) -> NDArray? { lock.withLock { decoded[name] } }

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

/// The values alive while one graph runs, in front of the scopes of its enclosing graphs.
final class Scope {
    var values: [String: Value] = [:]
    let plan: GraphPlan
    let parent: Scope?

    init(plan: GraphPlan, parent: Scope?) {
        self.plan = plan
        self.parent = parent
    }

    func lookup(_ name: String) throws -> Value? {
        if let v = values[name] { return v }
        if let w = try plan.weight(name) { return .tensor(w) }
        return try parent?.lookup(name)
    }
}
