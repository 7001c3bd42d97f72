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

        /// The index of the defining Constant node, for Constant-node weights.
        var constantNodeIndex: Int? {
            if case .constantNode(let k) = origin { return k }
            return nil
        }
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
    /// Per graph: every value's readers as (node index, input index), and the nodes.
    private(set) var readers: [Key: [(node: Int, input: Int)]] = [:]
    private(set) var nodes: [GraphPath: [Node]] = [:]
    private(set) var producerIndex: [Key: Int] = [:]
    /// Names listed as outputs of any graph (names are unique across a model).
    private(set) var graphOutputs = Set<String>()

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
            nodes[path] = g.nodes
            for o in g.outputs { graphOutputs.insert(o.name) }
            for (k, n) in g.nodes.enumerated() {
                for o in n.outputs where !o.isEmpty { producerIndex[Key(path: path, name: o)] = k }
                for (i, name) in n.inputs.enumerated() where !name.isEmpty {
                    readers[Key(path: path, name: name), default: []].append((k, i))
                    if let key = resolve(name, from: path, scopes: scopes) {
                        uses[key, default: []].append(Use(path: path, node: k, input: i, consumer: n))
                    }
                }
            }
        }
    }

    /// `path` and the graphs enclosing it, innermost first: the scopes a name is looked up in.
    static func scopes(from path: GraphPath) -> [GraphPath] {
        (0...path.steps.count).reversed().map { GraphPath(steps: Array(path.steps.prefix($0))) }
    }

    /// The innermost enclosing graph that defines `name` as a weight.
    private func resolve(_ name: String, from path: GraphPath, scopes: [GraphPath: Set<String>]) -> Key? {
        Self.scopes(from: path).first { scopes[$0]?.contains(name) == true }.map { Key(path: $0, name: name) }
    }

    /// The op type producing `name` as seen from `path` (nil for graph inputs and unknown names).
    func producer(of name: String, from path: GraphPath) -> String? {
        Self.scopes(from: path).lazy.compactMap { producers[Key(path: $0, name: name)] }.first
    }

    func definition(_ key: Key) -> Definition? { definitions[key] }

    /// The nodes of `path` reading `name`, with the input position.
    func readers(of name: String, in path: GraphPath) -> [(node: Node, input: Int)] {
        (readers[Key(path: path, name: name)] ?? []).map { (nodes[path]![$0.node], $0.input) }
    }

    /// The node of `path` producing `name`.
    func producerNode(of name: String, in path: GraphPath) -> Node? {
        producerIndex[Key(path: path, name: name)].map { nodes[path]![$0] }
    }

    /// True when a Gather's output is a quantization parameter of something else: a scale or
    /// zero point of DequantizeLinear, or the factor/offset applied to widened integer rows
    /// (Mul(Cast(…), ·), Sub(Cast(…), ·)). Such tables are not embeddings.
    func feedsQuantizationParameters(_ use: Use) -> Bool {
        guard let output = use.consumer.outputs.first else { return false }
        return readers(of: output, in: use.path).contains { reader, input in
            switch reader.opType {
            case "DequantizeLinear": return input >= 1
            case "Mul", "Sub":
                guard input == 1, let first = producerNode(of: reader.inputs[0], in: use.path) else { return false }
                return first.opType == "Cast" || (reader.opType == "Mul" && first.opType == "Sub")
            default: return false
            }
        }
    }

    /// Operators that pass a weight through unchanged in meaning (layout or type only).
    static let passThrough: Set<String> = ["Transpose", "Reshape", "Identity", "Flatten", "Squeeze", "Unsqueeze", "Cast"]

    /// Nodes that read the weight through pass-through operators (a tied LM head reads the
    /// embedding table through a Transpose), within the use's graph.
    func indirectReaders(of use: Use, depth: Int = 4) -> [Node] {
        guard depth > 0, use.input == 0, Self.passThrough.contains(use.consumer.opType),
              let output = use.consumer.outputs.first else { return [] }
        return readers(of: output, in: use.path).flatMap { reader, input -> [Node] in
            let next = Use(path: use.path, node: 0, input: input, consumer: reader)
            return [reader] + indirectReaders(of: next, depth: depth - 1)
        }
    }
    func uses(of key: Key) -> [Use] { uses[key] ?? [] }

    /// Definitions visible from `path` named `name`.
    func isWeight(_ name: String, from path: GraphPath) -> Bool {
        Self.scopes(from: path).contains { definitions[Key(path: $0, name: name)] != nil }
    }
}
