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
    /// Where the graph sits in the model (subgraph values are observed by path and name).
    let path: GraphPath
    let steps: [Step]
    /// Names this graph's nodes read from enclosing graphs (observed as this subgraph's own
    /// values: a branch's layer sees its outer input only when the branch runs).
    let outerReads: [String]
    private let initializers: [String: Tensor]
    private var decoded: [String: NDArray] = [:]
    private let reader: ExternalDataReader
    private let lock = Lock()

    init(graph: Graph, reader: ExternalDataReader, path: GraphPath = .main) throws {
        self.graph = graph
        self.path = path
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
            for (k, a) in node.attributes.enumerated() {
                if let g = a.g { subplans[a.name] = try GraphPlan(graph: g, reader: reader, path: path.appending(node: index, attribute: k, graph: -1)) }
            }
            steps.append(Step(node: node, kernel: kernel, subplans: subplans, release: schedule.releases[position],
                              isConstant: node.opType == "Constant" && node.isDefaultDomain && node.inputs.isEmpty))
        }
        self.steps = steps
        var defined = Set(graph.inputs.map(\.name)).union(inits.keys)
        for node in graph.nodes { defined.formUnion(node.outputs) }
        var outer: [String] = [], seen = Set<String>()
        for node in graph.nodes {
            for name in node.inputs where !name.isEmpty && !defined.contains(name) && seen.insert(name).inserted { outer.append(name) }
        }
        outerReads = outer
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
