/// A labelled set of edits to a model, applied all at once or not at all: weights replaced
/// (sliced), attributes set, node inputs rewired, nodes inserted and removed, initializers added.
/// Every position names the model as it was when the patch was made (a `GraphIndex` of it), so
/// edits never see each other's index shifts. What a rewire leaves unread (a Constant node, an
/// initializer, the shape arithmetic that computed the old value) goes too. `apply` edits a
/// copy, checks it with the validator, and only then replaces the model; `record` is what the
/// report shows.
public struct GraphPatch {
    public enum Edit {
        /// A weight (initializer or Constant node value, by its defining graph) gets new contents.
        case replaceWeight(GraphIndex.Key, Tensor)
        /// Attribute `attribute.name` of node `node` is set (added when absent).
        case setAttribute(GraphPath, node: Int, Attribute)
        /// Input `input` of node `node` now reads `value`.
        case rewire(GraphPath, node: Int, input: Int, to: String)
        /// Nodes placed right before node `before` (the end of the graph when `before` is the node count).
        case insertNodes(GraphPath, [Node], before: Int)
        case removeNode(GraphPath, Int)
        case addInitializer(GraphPath, Tensor)
    }

    /// What the patch did, in words (one line per unit of change: "layer.0 FFN: 1536 → 1152 neurons").
    public struct Record: Sendable, Hashable {
        public var label: String
        public var lines: [String]
    }

    public var label: String
    public private(set) var edits: [Edit] = []
    public private(set) var record: Record

    public init(_ label: String) {
        self.label = label
        record = Record(label: label, lines: [])
    }

    public var isEmpty: Bool { edits.isEmpty }

    public mutating func add(_ edit: Edit) { edits.append(edit) }
    public mutating func note(_ line: String) { record.lines.append(line) }

    /// Applies every edit to a copy of `model`, validates it, then replaces `model`. On any
    /// failure `model` is left as it was.
    public func apply(to model: inout Model) throws {
        model = try applied(to: model)
    }

    /// The model with every edit applied, validated (`model` itself is not touched).
    public func applied(to model: Model) throws -> Model {
        guard !edits.isEmpty else { return model }
        var graph = model.mainGraph
        // Group by graph: each graph is rebuilt once.
        var byGraph: [GraphPath: [Edit]] = [:]
        var order: [GraphPath] = []
        for edit in edits {
            let path = edit.path
            if byGraph[path] == nil { order.append(path) }
            byGraph[path, default: []].append(edit)
        }
        // Deepest first: rebuilding a parent's node list would move its subgraphs' paths.
        for path in order.sorted(by: { $0.depth > $1.depth }) {
            try graph.withGraph(at: path) { g in try Self.apply(byGraph[path]!, to: &g, label: label) }
        }
        var patched = model
        patched.mainGraph = graph
        do {
            try ModelValidator(fileName: "patch '\(label)'").validate(patched)
        } catch let error as OnnxSlimError {
            throw OnnxSlimError(.badInput, "internal error, nothing written: \(error.message)")
        }
        return patched
    }

    private static func apply(_ edits: [Edit], to g: inout Graph, label: String) throws {
        let nodeCount = g.nodes.count
        func checkNode(_ k: Int) throws {
            guard k >= 0 && k < nodeCount else { throw failure(label, "node \(k) is out of range") }
        }
        var removed = Set<Int>()
        var inserted: [Int: [Node]] = [:]
        var unhooked: [String] = []
        for edit in edits {
            switch edit {
            case .replaceWeight(let key, let tensor):
                if let k = g.initializers.firstIndex(where: { $0.name == key.name }) {
                    var t = tensor
                    t.name = key.name
                    g.initializers[k] = t
                } else if let k = g.nodes.firstIndex(where: { $0.isConstant && $0.outputs == [key.name] }),
                          let a = g.nodes[k].attributes.firstIndex(where: { $0.name == "value" }) {
                    var t = tensor
                    t.name = g.nodes[k].attributes[a].t?.name ?? ""
                    g.nodes[k].attributes[a].t = t
                } else {
                    throw failure(label, "weight '\(key.name)' is not defined in \(key.path)")
                }
            case .setAttribute(_, let node, let attribute):
                try checkNode(node)
                if let a = g.nodes[node].attributes.firstIndex(where: { $0.name == attribute.name }) {
                    g.nodes[node].attributes[a] = attribute
                } else {
                    g.nodes[node].attributes.append(attribute)
                }
            case .rewire(_, let node, let input, let value):
                try checkNode(node)
                guard input < g.nodes[node].inputs.count else { throw failure(label, "node \(node) has no input \(input)") }
                unhooked.append(g.nodes[node].inputs[input])
                g.nodes[node].inputs[input] = value
            case .insertNodes(_, let nodes, let before):
                guard before >= 0 && before <= nodeCount else { throw failure(label, "insertion point \(before) is out of range") }
                inserted[before, default: []] += nodes
            case .removeNode(_, let node):
                try checkNode(node)
                removed.insert(node)
            case .addInitializer(_, let tensor):
                guard !g.initializers.contains(where: { $0.name == tensor.name }) else {
                    throw failure(label, "initializer '\(tensor.name)' already exists")
                }
                g.initializers.append(tensor)
            }
        }
        // What the rewires left unread goes, through the index of the edited graph.
        // (The index is of the graph before insertion: what inserted nodes read stays.)
        let scope = GraphIndex(g, weights: false).main
        let readByInserted = Set(inserted.values.flatMap { $0.flatMap(\.inputs) })
        removeUnread(unhooked.filter { !readByInserted.contains($0) }, in: scope, keeping: readByInserted, removed: &removed)
        // Initializers the rewires or the removed nodes read, now read by nothing.
        let candidates = unhooked + removed.flatMap { scope.nodes[$0].inputs }
        let unread = Set(candidates.filter { !$0.isEmpty && !readByInserted.contains($0) && !scope.isRead($0, removed: removed) })
        if !unread.isEmpty {
            let declared = Set(g.inputs.map(\.name) + g.outputs.map(\.name))
            g.initializers.removeAll { unread.contains($0.name) && !declared.contains($0.name) }
        }
        guard !removed.isEmpty || !inserted.isEmpty else { return }
        var nodes: [Node] = []
        nodes.reserveCapacity(nodeCount + inserted.values.reduce(0) { $0 + $1.count })
        for k in 0...nodeCount {
            nodes += inserted[k] ?? []
            if k < nodeCount && !removed.contains(k) { nodes.append(g.nodes[k]) }
        }
        g.nodes = nodes
    }

    /// Marks for removal the producers of `names` that nothing reads any more, and in turn the
    /// producers of their inputs (subgraph-free nodes only; graph outputs stay).
    private static func removeUnread(_ names: [String], in scope: GraphIndex.Scope, keeping kept: Set<String>, removed: inout Set<Int>) {
        var pending = names
        while let name = pending.popLast() {
            guard let k = scope.producers[name]?.node, !removed.contains(k), scope.nodes[k].subgraphs.isEmpty,
                  !scope.nodes[k].outputs.contains(where: { kept.contains($0) || scope.isRead($0, removed: removed) }) else { continue }
            removed.insert(k)
            pending += scope.nodes[k].inputs.filter { !$0.isEmpty }
        }
    }

    private static func failure(_ label: String, _ message: String) -> OnnxSlimError {
        OnnxSlimError(.badInput, "internal error, nothing written: patch '\(label)': \(message)")
    }
}

extension GraphPatch.Edit {
    /// The graph the edit lands in.
    var path: GraphPath {
        switch self {
        case .replaceWeight(let key, _): return key.path
        case .setAttribute(let p, _, _), .rewire(let p, _, _, _), .insertNodes(let p, _, _), .removeNode(let p, _),
             .addInitializer(let p, _): return p
        }
    }
}

extension GraphIndex.Scope {
    /// True when a node not in `removed` reads `name` (directly or in a subgraph) or it is a graph output.
    func isRead(_ name: String, removed: Set<Int>) -> Bool {
        graphOutputs.contains(name)
            || (readers[name] ?? []).contains { !removed.contains($0.node) }
            || (subgraphReaders[name] ?? []).contains { !removed.contains($0) }
    }
}
