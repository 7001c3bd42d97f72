/// A GraphProto: nodes in order, graph inputs and outputs, weights, value types.
public struct Graph: Hashable, Sendable {
    public var nodes: [Node] = []
    public var name: String = ""
    public var initializers: [Tensor] = []
    public var sparseInitializers: [SparseTensor] = []
    public var docString: String = ""
    public var inputs: [ValueInfo] = []
    public var outputs: [ValueInfo] = []
    public var valueInfo: [ValueInfo] = []
    public var quantizationAnnotations: [OpaqueMessage] = []
    public var metadata: [StringPair] = []
    public var proto = ProtoExtras()

    public init() {}

    public enum Field { public static let name = 2, docString = 10 }

    /// Applies `body` to this graph and every nested subgraph, in place (parents first).
    public mutating func mutateEachGraph(_ body: (inout Graph) throws -> Void) rethrows {
        try body(&self)
        for n in nodes.indices {
            for a in nodes[n].attributes.indices {
                try nodes[n].attributes[a].mutateSubgraphs { try $0.mutateEachGraph(body) }
            }
        }
    }
}
