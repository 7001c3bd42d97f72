/// Who produces and who reads every value of a model, per graph scope (subgraphs included, with
/// the names each subgraph reads from the graphs enclosing it), and where every constant weight
/// is defined and used. The one index the passes, the validator, the scheduler and the diff share.
///
/// A weight is an initializer or a Constant node's `value` tensor, in the main graph or any
/// subgraph; a use is a node input naming it, resolved with ONNX scoping (a subgraph sees the
/// names of the graphs that enclose it).
public struct GraphIndex {
    /// A node and one of its input or output positions.
    public struct Site: Hashable, Sendable {
        public var node: Int
        public var slot: Int
    }

    /// One graph of the model, indexed.
    public struct Scope {
        public let path: GraphPath
        public let nodes: [Node]
        /// Each node output's producer (node, output position).
        public private(set) var producers: [String: Site] = [:]
        /// Each value's direct readers (node, input position), in node order.
        public private(set) var readers: [String: [Site]] = [:]
        /// Nodes whose subgraphs read the value from this scope (If/Loop/Scan bodies), in node order.
        public private(set) var subgraphReaders: [String: [Int]] = [:]
        /// Names this graph reads that it does not define (values of enclosing graphs), in first-read order.
        public private(set) var outerReads: [String] = []
        /// Graph inputs, initializers (dense and sparse): the values defined without a node.
        public private(set) var sources = Set<String>()
        public let graphInputs: [String]
        public let graphOutputs: [String]

        /// Every name node `k` reads: its non-empty inputs, then what its subgraphs read from outside.
        public private(set) var nodeReads: [[String]] = []
        /// What node `k`'s subgraphs read from this graph or beyond.
        public private(set) var subgraphReads: [[String]] = []

        init(_ graph: Graph, path: GraphPath, subgraphOuterReads: [Int: [String]]) {
            self.path = path
            nodes = graph.nodes
            graphInputs = graph.inputs.map(\.name)
            graphOutputs = graph.outputs.map(\.name)
            sources.formUnion(graphInputs)
            for t in graph.initializers { sources.insert(t.name) }
            for s in graph.sparseInitializers { if let n = s.values?.name { sources.insert(n) } }
            for (k, n) in graph.nodes.enumerated() {
                for (o, name) in n.outputs.enumerated() where !name.isEmpty { producers[name] = Site(node: k, slot: o) }
            }
            var outer = Set<String>()
            func readOuter(_ name: String) {
                if !sources.contains(name), producers[name] == nil, outer.insert(name).inserted { outerReads.append(name) }
            }
            nodeReads.reserveCapacity(nodes.count)
            for (k, n) in graph.nodes.enumerated() {
                var reads: [String] = []
                for (i, name) in n.inputs.enumerated() where !name.isEmpty {
                    readers[name, default: []].append(Site(node: k, slot: i))
                    reads.append(name)
                    readOuter(name)
                }
                subgraphReads.append(subgraphOuterReads[k] ?? [])
                for name in subgraphOuterReads[k] ?? [] {
                    if subgraphReaders[name]?.last != k { subgraphReaders[name, default: []].append(k) }
                    reads.append(name)
                    readOuter(name)
                }
                nodeReads.append(reads)
            }
            for name in graphOutputs where !name.isEmpty { readOuter(name) }
        }

        /// True when `name` is defined in this graph (input, initializer or node output).
        public func defines(_ name: String) -> Bool { sources.contains(name) || producers[name] != nil }

        /// The node producing `name`, if a node of this graph does.
        public func producer(of name: String) -> Node? { producers[name].map { nodes[$0.node] } }

        /// The nodes reading `name` directly, with the input position.
        public func consumers(of name: String) -> [(node: Node, input: Int)] {
            (readers[name] ?? []).map { (nodes[$0.node], $0.slot) }
        }
    }

    public enum Origin: Hashable, Sendable {
        case initializer(index: Int)
        case constantNode(index: Int)
    }

    /// Where a weight is defined.
    public struct Definition {
        public var name: String
        public var path: GraphPath
        public var origin: Origin
        public var tensor: Tensor
        /// True when the graph also lists it as an input (IR < 4 style: an overridable default).
        public var isGraphInput: Bool

        /// The index of the defining Constant node, for Constant-node weights.
        public var constantNodeIndex: Int? {
            if case .constantNode(let k) = origin { return k }
            return nil
        }
    }

    /// A node input naming a weight (possibly of an enclosing graph).
    public struct Use {
        public var path: GraphPath
        public var node: Int
        public var input: Int
        public var consumer: Node
    }

    /// A weight or value by (graph, name).
    public struct Key: Hashable, Sendable {
        public var path: GraphPath
        public var name: String
    }

    /// Every graph of the model, parents before their subgraphs.
    public private(set) var scopes: [GraphPath: Scope] = [:]
    public private(set) var scopeOrder: [GraphPath] = []
    private(set) var definitions: [Key: Definition] = [:]
    private(set) var weightUses: [Key: [Use]] = [:]
    /// Weight keys in model order (deterministic output).
    public private(set) var weightOrder: [Key] = []
    /// Names listed as outputs of any graph (names are unique across a model).
    public private(set) var graphOutputs = Set<String>()

    /// Indexes `graph` and its subgraphs; `weights: false` skips the weight definitions and uses
    /// (the scheduler and the validator need only producers and readers).
    public init(_ graph: Graph, weights: Bool = true) {
        build(graph, path: .main)
        scopeOrder.sort { $0.steps.lexicographicallyPrecedes($1.steps) { ($0.node, $0.attribute, $0.graph) < ($1.node, $1.attribute, $1.graph) } }
        for path in scopeOrder {
            guard let g = scopes[path] else { continue }
            graphOutputs.formUnion(g.graphOutputs)
        }
        if weights { indexWeights(graph) }
    }

    /// Indexes `graph` and its subgraphs (children first: a scope needs its subgraphs' outer reads).
    @discardableResult
    private mutating func build(_ graph: Graph, path: GraphPath) -> [String] {
        var subgraphReads: [Int: [String]] = [:]
        for (n, node) in graph.nodes.enumerated() {
            var seen = Set<String>()
            for (a, attribute) in node.attributes.enumerated() {
                var inner: [String] = []
                if let g = attribute.g { inner += build(g, path: path.appending(node: n, attribute: a, graph: -1)) }
                for (k, g) in attribute.graphs.enumerated() { inner += build(g, path: path.appending(node: n, attribute: a, graph: k)) }
                for name in inner where seen.insert(name).inserted { subgraphReads[n, default: []].append(name) }
            }
        }
        let scope = Scope(graph, path: path, subgraphOuterReads: subgraphReads)
        scopes[path] = scope
        scopeOrder.append(path)
        return scope.outerReads
    }

    private mutating func indexWeights(_ graph: Graph) {
        var weightNames: [GraphPath: Set<String>] = [:]
        graph.forEachGraph { g, path in
            var names = Set<String>()
            let inputs = Set(g.inputs.map(\.name))
            for (k, t) in g.initializers.enumerated() {
                let key = Key(path: path, name: t.name)
                definitions[key] = Definition(name: t.name, path: path, origin: .initializer(index: k), tensor: t,
                                              isGraphInput: inputs.contains(t.name))
                weightOrder.append(key)
                names.insert(t.name)
            }
            for (k, n) in g.nodes.enumerated() {
                guard n.isConstant, n.outputs.count == 1, let t = n.attribute("value")?.t else { continue }
                let key = Key(path: path, name: n.outputs[0])
                definitions[key] = Definition(name: n.outputs[0], path: path, origin: .constantNode(index: k),
                                              tensor: t, isGraphInput: false)
                weightOrder.append(key)
                names.insert(n.outputs[0])
            }
            weightNames[path] = names
        }
        graph.forEachGraph { g, path in
            for (k, n) in g.nodes.enumerated() {
                for (i, name) in n.inputs.enumerated() where !name.isEmpty {
                    guard let home = Self.scopes(from: path).first(where: { weightNames[$0]?.contains(name) == true }) else { continue }
                    weightUses[Key(path: home, name: name), default: []].append(Use(path: path, node: k, input: i, consumer: n))
                }
            }
        }
    }

    /// `path` and the graphs enclosing it, innermost first: the scopes a name is looked up in.
    public static func scopes(from path: GraphPath) -> [GraphPath] {
        (0...path.steps.count).reversed().map { GraphPath(steps: Array(path.steps.prefix($0))) }
    }

    public subscript(path: GraphPath) -> Scope? { scopes[path] }
    public var main: Scope { scopes[.main]! }

    // MARK: values

    /// The innermost graph, from `path` outwards, that defines `name`.
    public func home(of name: String, from path: GraphPath) -> GraphPath? {
        Self.scopes(from: path).first { scopes[$0]?.defines(name) == true }
    }

    /// The node producing `name` as seen from `path` (nil for graph inputs, weights that are
    /// initializers, and unknown names).
    public func producer(of name: String, from path: GraphPath) -> Node? {
        guard let home = home(of: name, from: path), let scope = scopes[home] else { return nil }
        return scope.producer(of: name)
    }

    /// The node of `path` producing `name`.
    public func producerNode(of name: String, in path: GraphPath) -> Node? { scopes[path]?.producer(of: name) }

    /// The nodes of `path` reading `name`, with the input position.
    public func readers(of name: String, in path: GraphPath) -> [(node: Node, input: Int)] {
        scopes[path]?.consumers(of: name) ?? []
    }

    // MARK: weights

    public func definition(_ key: Key) -> Definition? { definitions[key] }
    public func uses(of key: Key) -> [Use] { weightUses[key] ?? [] }

    /// The weight named `name` visible from `path`.
    public func weight(_ name: String, from path: GraphPath) -> Definition? {
        Self.scopes(from: path).lazy.compactMap { definitions[Key(path: $0, name: name)] }.first
    }

    /// True when `name`, seen from `path`, is a constant weight.
    public func isWeight(_ name: String, from path: GraphPath) -> Bool { weight(name, from: path) != nil }
}
