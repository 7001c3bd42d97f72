/// Where every constant weight of a model is defined and who uses it, across subgraphs.
///
/// A weight is an initializer or a Constant node's `value` tensor, in the main graph or any
/// subgraph; a use is a node input naming it, resolved with ONNX scoping (a subgraph sees the
/// names of the graphs that enclose it).
struct WeightCatalog {
    enum Origin: Hashable {
        case initializer(index: Int)
        case constantNode(index: Int)
    }

    struct Definition {
        var name: String
        var path: GraphPath
        var origin: Origin
        var tensor: Tensor
        /// True when the graph also lists it as an input (IR < 4 style: an overridable default).
        var isGraphInput: Bool
    }

    struct Use {
        var path: GraphPath
        var node: Int
        var input: Int
        var consumer: Node
    }

    /// Definitions keyed by (graph, name).
    private(set) var definitions: [Key: Definition] = [:]
    /// Uses of each definition, in graph order.
    private(set) var uses: [Key: [Use]] = [:]
    /// For names not defined as weights: the op type of the node producing them (per graph).
    private(set) var producers: [Key: String] = [:]
    /// Definition keys in model order (deterministic output).
    private(set) var order: [Key] = []

    struct Key: Hashable {
        var path: GraphPath
        var name: String
    }

    init(_ graph: Graph) {
        var scopes: [GraphPath: Set<String>] = [:]
        graph.forEachGraph { g, path in
            var names = Set<String>()
            let inputs = Set(g.inputs.map(\.name))
            for (k, t) in g.initializers.enumerated() {
                let key = Key(path: path, name: t.name)
                definitions[key] = Definition(name: t.name, path: path, origin: .initializer(index: k), tensor: t,
                                              isGraphInput: inputs.contains(t.name))
                order.append(key)
                names.insert(t.name)
            }
            for (k, n) in g.nodes.enumerated() {
                if n.isConstant, n.outputs.count == 1, let a = n.attribute("value"), let t = a.t {
                    let key = Key(path: path, name: n.outputs[0])
                    definitions[key] = Definition(name: n.outputs[0], path: path, origin: .constantNode(index: k),
                                                  tensor: t, isGraphInput: false)
                    order.append(key)
                    names.insert(n.outputs[0])
                } else {
                    for o in n.outputs where !o.isEmpty { producers[Key(path: path, name: o)] = n.opType }
                }
            }
            scopes[path] = names
        }
        graph.forEachGraph { g, path in
            for (k, n) in g.nodes.enumerated() {
                for (i, name) in n.inputs.enumerated() where !name.isEmpty {
                    if let key = resolve(name, from: path, scopes: scopes) {
                        uses[key, default: []].append(Use(path: path, node: k, input: i, consumer: n))
                    }
                }
            }
        }
    }

    /// The innermost enclosing graph that defines `name` as a weight.
    private func resolve(_ name: String, from path: GraphPath, scopes: [GraphPath: Set<String>]) -> Key? {
        var p = path
        while true {
            if scopes[p]?.contains(name) == true { return Key(path: p, name: name) }
            guard !p.steps.isEmpty else { return nil }
            p.steps.removeLast()
        }
    }

    /// The op type producing `name` as seen from `path` (nil for graph inputs and unknown names).
    func producer(of name: String, from path: GraphPath) -> String? {
        var p = path
        while true {
            if let op = producers[Key(path: p, name: name)] { return op }
            guard !p.steps.isEmpty else { return nil }
            p.steps.removeLast()
        }
    }

    func definition(_ key: Key) -> Definition? { definitions[key] }
    func uses(of key: Key) -> [Use] { uses[key] ?? [] }

    /// Definitions visible from `path` named `name`.
    func isWeight(_ name: String, from path: GraphPath) -> Bool {
        var p = path
        while true {
            if definitions[Key(path: p, name: name)] != nil { return true }
            guard !p.steps.isEmpty else { return false }
            p.steps.removeLast()
        }
    }
}
