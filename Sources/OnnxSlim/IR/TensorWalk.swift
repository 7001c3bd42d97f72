/// Where a tensor sits in a model: weights are reachable uniformly wherever they live.
public struct TensorSite: Hashable, Sendable {
    public enum Kind: String, Sendable {
        case initializer, sparseInitializer
        /// The `value` / `sparse_value` of a Constant node.
        case constantNode
        /// A tensor attribute of any other node.
        case attribute
    }
    public var kind: Kind
    /// 0 for the main graph, 1 for a subgraph of it (If/Loop/Scan bodies), and so on.
    public var depth: Int
    /// True inside a model-local function body.
    public var inFunction: Bool
    /// The node holding the attribute (constantNode / attribute kinds).
    public var nodeName: String?
}

extension Graph {
    /// Visits every tensor in this graph and its subgraphs.
    public func forEachTensor(depth: Int = 0, inFunction: Bool = false,
                              _ body: (Tensor, TensorSite) throws -> Void) rethrows {
        for t in initializers {
            try body(t, TensorSite(kind: .initializer, depth: depth, inFunction: inFunction))
        }
        for s in sparseInitializers {
            let site = TensorSite(kind: .sparseInitializer, depth: depth, inFunction: inFunction)
            if let v = s.values { try body(v, site) }
            if let i = s.indices { try body(i, site) }
        }
        try Graph.forEachTensor(in: nodes, depth: depth, inFunction: inFunction, body)
    }

    static func forEachTensor(in nodes: [Node], depth: Int, inFunction: Bool,
                              _ body: (Tensor, TensorSite) throws -> Void) rethrows {
        for node in nodes {
            let kind: TensorSite.Kind = node.isConstant ? .constantNode : .attribute
            let site = TensorSite(kind: kind, depth: depth, inFunction: inFunction, nodeName: node.name)
            for a in node.attributes {
                if kind == .constantNode, let t = a.constantValueTensor(name: node.outputs.first ?? "") {
                    try body(t, site)
                }
                if let t = a.t { try body(t, site) }
                for t in a.tensors { try body(t, site) }
                if let s = a.sparseTensor {
                    if let v = s.values { try body(v, site) }
                    if let i = s.indices { try body(i, site) }
                }
                for s in a.sparseTensors {
                    if let v = s.values { try body(v, site) }
                    if let i = s.indices { try body(i, site) }
                }
                for g in a.subgraphs { try g.forEachTensor(depth: depth + 1, inFunction: inFunction, body) }
            }
        }
    }

    /// Applies `body` to every tensor in this graph and its subgraphs, in place.
    public mutating func mutateEachTensor(depth: Int = 0, inFunction: Bool = false,
                                          _ body: (inout Tensor, TensorSite) throws -> Void) rethrows {
        for k in initializers.indices {
            try body(&initializers[k], TensorSite(kind: .initializer, depth: depth, inFunction: inFunction))
        }
        for k in sparseInitializers.indices {
            let site = TensorSite(kind: .sparseInitializer, depth: depth, inFunction: inFunction)
            try sparseInitializers[k].mutateTensors { try body(&$0, site) }
        }
        try Graph.mutateEachTensor(in: &nodes, depth: depth, inFunction: inFunction, body)
    }

    static func mutateEachTensor(in nodes: inout [Node], depth: Int, inFunction: Bool,
                                 _ body: (inout Tensor, TensorSite) throws -> Void) rethrows {
        for n in nodes.indices {
            let hasTensors = nodes[n].attributes.contains {
                $0.t != nil || !$0.tensors.isEmpty || $0.sparseTensor != nil || !$0.sparseTensors.isEmpty
                    || !$0.subgraphs.isEmpty || (nodes[n].isConstant && Attribute.constantValueNames.contains($0.name))
            }
            guard hasTensors else { continue }
            let node = nodes[n]
            let kind: TensorSite.Kind = node.isConstant ? .constantNode : .attribute
            let site = TensorSite(kind: kind, depth: depth, inFunction: inFunction, nodeName: node.name)
            for a in nodes[n].attributes.indices {
                if kind == .constantNode,
                   let original = nodes[n].attributes[a].constantValueTensor(name: node.outputs.first ?? "") {
                    var t = original
                    try body(&t, site)
                    if t != original { nodes[n].attributes[a] = .tensor("value", t) }
                    continue  // visited; a written-back `value` must not be visited again
                }
                if var t = nodes[n].attributes[a].t {
                    try body(&t, site)
                    nodes[n].attributes[a].t = t
                }
                for k in nodes[n].attributes[a].tensors.indices { try body(&nodes[n].attributes[a].tensors[k], site) }
                if var s = nodes[n].attributes[a].sparseTensor {
                    try s.mutateTensors { try body(&$0, site) }
                    nodes[n].attributes[a].sparseTensor = s
                }
                for k in nodes[n].attributes[a].sparseTensors.indices {
                    try nodes[n].attributes[a].sparseTensors[k].mutateTensors { try body(&$0, site) }
                }
                try nodes[n].attributes[a].mutateSubgraphs {
                    try $0.mutateEachTensor(depth: depth + 1, inFunction: inFunction, body)
                }
            }
        }
    }
}

extension SparseTensor {
    mutating func mutateTensors(_ body: (inout Tensor) throws -> Void) rethrows {
        if var v = values { try body(&v); values = v }
        if var i = indices { try body(&i); indices = i }
    }
}

extension Model {
    /// Visits every tensor: main graph, subgraphs, functions, training graphs.
    public func forEachTensor(_ body: (Tensor, TensorSite) throws -> Void) rethrows {
        try graph?.forEachTensor(body)
        for f in functions {
            try Graph.forEachTensor(in: f.nodes, depth: 0, inFunction: true, body)
            for a in f.attributeProtos { if let t = a.t { try body(t, TensorSite(kind: .attribute, depth: 0, inFunction: true)) } }
        }
        for t in trainingInfo {
            try t.initialization?.forEachTensor(depth: 1, body)
            try t.algorithm?.forEachTensor(depth: 1, body)
        }
    }

    /// Applies `body` to every tensor, in place.
    public mutating func mutateEachTensor(_ body: (inout Tensor, TensorSite) throws -> Void) rethrows {
        if !_graph.isEmpty { try _graph[0].mutateEachTensor(body) }
        for f in functions.indices {
            try Graph.mutateEachTensor(in: &functions[f].nodes, depth: 0, inFunction: true, body)
            for a in functions[f].attributeProtos.indices {
                if var t = functions[f].attributeProtos[a].t {
                    try body(&t, TensorSite(kind: .attribute, depth: 0, inFunction: true))
                    functions[f].attributeProtos[a].t = t
                }
            }
        }
        for k in trainingInfo.indices {
            if var g = trainingInfo[k].initialization { try g.mutateEachTensor(depth: 1, body); trainingInfo[k].initialization = g }
            if var g = trainingInfo[k].algorithm { try g.mutateEachTensor(depth: 1, body); trainingInfo[k].algorithm = g }
        }
    }
}
