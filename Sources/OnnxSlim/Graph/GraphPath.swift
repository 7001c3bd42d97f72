/// The position of a subgraph inside the model: the chain of (node, attribute, graph) steps from
/// the main graph. The empty path is the main graph.
public struct GraphPath: Hashable, Sendable, CustomStringConvertible {
    public struct Step: Hashable, Sendable {
        public var node: Int
        public var attribute: Int
        /// Index in the attribute's `graphs` list; -1 for its single `g`.
        public var graph: Int
    }
    public var steps: [Step] = []

    public static let main = GraphPath()

    public func appending(node: Int, attribute: Int, graph: Int) -> GraphPath {
        GraphPath(steps: steps + [Step(node: node, attribute: attribute, graph: graph)])
    }

    public var depth: Int { steps.count }

    public var description: String {
        steps.isEmpty ? "main graph" : steps.map { "node \($0.node).\($0.attribute)\($0.graph >= 0 ? "[\($0.graph)]" : "")" }.joined(separator: " > ")
    }
}

extension Graph {
    /// Visits this graph and every subgraph with its path, parents first.
    public func forEachGraph(path: GraphPath = .main, _ body: (Graph, GraphPath) throws -> Void) rethrows {
        try body(self, path)
        for (n, node) in nodes.enumerated() {
            for (a, attribute) in node.attributes.enumerated() {
                if let g = attribute.g { try g.forEachGraph(path: path.appending(node: n, attribute: a, graph: -1), body) }
                for (k, g) in attribute.graphs.enumerated() {
                    try g.forEachGraph(path: path.appending(node: n, attribute: a, graph: k), body)
                }
            }
        }
    }

    /// Mutates the subgraph at `path` in place.
    public mutating func withGraph<R>(at path: GraphPath, _ body: (inout Graph) throws -> R) rethrows -> R {
        try withGraph(steps: path.steps[...], body)
    }

    private mutating func withGraph<R>(steps: ArraySlice<GraphPath.Step>, _ body: (inout Graph) throws -> R) rethrows -> R {
        guard let step = steps.first else { return try body(&self) }
        let rest = steps.dropFirst()
        if step.graph < 0 {
            var g = nodes[step.node].attributes[step.attribute].g!
            nodes[step.node].attributes[step.attribute].g = nil   // keep the subgraph uniquely referenced
            defer { nodes[step.node].attributes[step.attribute].g = g }
            return try g.withGraph(steps: rest, body)
        }
        return try nodes[step.node].attributes[step.attribute].graphs[step.graph].withGraph(steps: rest, body)
    }
}

extension Graph {
    /// `path` in words, by node and attribute names ("if_node.then_branch > loop.body"), as
    /// `diff` names subgraphs.
    public func describe(_ path: GraphPath) -> String {
        var graph = self, parts: [String] = []
        for step in path.steps {
            guard step.node < graph.nodes.count, step.attribute < graph.nodes[step.node].attributes.count else { return path.description }
            let node = graph.nodes[step.node], attribute = node.attributes[step.attribute]
            parts.append("\(node.name.isEmpty ? node.outputs.first ?? node.opType : node.name).\(attribute.name)"
                         + (step.graph >= 0 ? "[\(step.graph)]" : ""))
            guard let next = step.graph >= 0 ? (step.graph < attribute.graphs.count ? attribute.graphs[step.graph] : nil) : attribute.g else { return path.description }
            graph = next
        }
        return parts.joined(separator: " > ")
    }
}
