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

        let schedule = try GraphSchedule(graph)
        var steps: [Step] = []
        for (position, index) in schedule.order.enumerated() {
            let node = graph.nodes[index]
            guard let kernel = KernelRegistry.kernel(for: node) else {
                let domain = node.isDefaultDomain ? "" : "\(node.domain)."
                throw OnnxSlimError(.badInput, "unsupported operator '\(domain)\(node.opType)' (node '\(node.name)')")
            }
            var subplans: [String: GraphPlan] = [:]
            for a in node.attributes { if let g = a.g { subplans[a.name] = try GraphPlan(graph: g, reader: reader) } }
            steps.append(Step(node: node, kernel: kernel, subplans: subplans, release: schedule.releases[position],
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
