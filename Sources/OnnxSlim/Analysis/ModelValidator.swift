/// Checks what the loader must refuse before any pass runs: tensors whose declared size
/// overflows or disagrees with their data, node inputs no one produces, and cycles.
///
/// It follows onnx's checker where that is unambiguous and is deliberately lenient elsewhere
/// (unsorted but acyclic graphs load; tensors without data load), so models users have still load.
public struct ModelValidator {
    public let fileName: String

    public init(fileName: String) { self.fileName = fileName }

    public func validate(_ model: Model) throws {
        try model.forEachTensor { t, site in try checkTensor(t, site) }
        if let g = model.graph { try checkGraph(g, path: "graph") }
        for f in model.functions {
            var fg = Graph()
            fg.nodes = f.nodes
            fg.inputs = f.inputs.map { ValueInfo(name: $0, type: nil) }
            fg.outputs = f.outputs.map { ValueInfo(name: $0, type: nil) }
            try checkGraph(fg, path: "function '\(f.name)'")
        }
    }

    // MARK: Tensors

    func checkTensor(_ t: Tensor, _ site: TensorSite) throws {
        let label = t.name.isEmpty ? (site.nodeName.map { "the tensor of node '\($0)'" } ?? "an unnamed tensor")
                                   : "tensor '\(t.name)'"
        guard let count = t.elementCount else {
            if t.dims.contains(where: { $0 < 0 }) {
                throw OnnxSlimError.badInput(fileName, "\(label) has a negative dimension \(t.dims)")
            }
            throw OnnxSlimError.badInput(fileName, "\(label): element count of dims \(t.dims) overflows")
        }
        if let raw = t.raw, let expected = t.dataType.rawByteCount(elements: count), raw.count != expected {
            throw OnnxSlimError.badInput(fileName, "\(label): raw_data has \(raw.count) bytes but dims \(t.dims) of \(t.dataType) need \(expected)")
        }
        if t.dataType.rawByteCount(elements: count) == nil, t.dataType.bitWidth != nil {
            throw OnnxSlimError.badInput(fileName, "\(label): byte size of dims \(t.dims) overflows")
        }
        if let src = t.externalSource, let expected = t.dataType.rawByteCount(elements: count),
           src.length != expected {
            throw OnnxSlimError.badInput(fileName, "\(label): external data has \(src.length) bytes but dims \(t.dims) of \(t.dataType) need \(expected)")
        }
        guard t.raw == nil, !t.isExternal else { return }
        let complex = t.dataType == .complex64 || t.dataType == .complex128
        func check(_ n: Int, _ field: String, _ expected: Int) throws {
            if n != 0 && n != expected {
                throw OnnxSlimError.badInput(fileName, "\(label): \(field) has \(n) values but dims \(t.dims) need \(expected)")
            }
        }
        switch t.dataType {
        case .float, .complex64: try check(t.floatData.count, "float_data", complex ? count * 2 : count)
        case .int64: try check(t.int64Data.count, "int64_data", count)
        case .double, .complex128: try check(t.doubleData.count, "double_data", complex ? count * 2 : count)
        case .uint64, .uint32: try check(t.uint64Data.count, "uint64_data", count)
        case .string: try check(t.stringData.count, "string_data", count)
        case .int32, .int16, .int8, .uint16, .uint8, .bool, .float16, .bfloat16,
             .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float8e8m0:
            try check(t.int32Data.count, "int32_data", count)
        default: break
        }
    }

    // MARK: Graph structure

    /// Every non-empty node input and graph output must come from a graph input, an initializer,
    /// a node of this graph, or an enclosing graph; node dependencies must not form a cycle.
    func checkGraph(_ g: Graph, path: String) throws {
        let index = GraphIndex(g, weights: false)
        // Each graph's label for messages ("graph > If 'cond' body"), parents first.
        var labels: [GraphPath: String] = [.main: path]
        for scopePath in index.scopeOrder {
            guard let scope = index[scopePath], let label = labels[scopePath] else { continue }
            for (n, node) in scope.nodes.enumerated() where !node.subgraphs.isEmpty {
                for (a, attribute) in node.attributes.enumerated() {
                    let body = "\(label) > \(node.opType) '\(node.name)' body"
                    if attribute.g != nil { labels[scopePath.appending(node: n, attribute: a, graph: -1)] = body }
                    for k in attribute.graphs.indices { labels[scopePath.appending(node: n, attribute: a, graph: k)] = body }
                }
            }
        }
        // Innermost graphs first: an undefined name is reported at the node that reads it.
        for scopePath in index.scopeOrder.reversed() {
            guard let scope = index[scopePath] else { continue }
            let label = labels[scopePath] ?? path
            // What the enclosing graphs define.
            let enclosing = GraphIndex.scopes(from: scopePath).dropFirst().compactMap { index[$0] }
            func visibleOutside(_ name: String) -> Bool { enclosing.contains { $0.defines(name) } }
            for name in scope.outerReads where !visibleOutside(name) {
                if let k = scope.nodeReads.firstIndex(where: { $0.contains(name) }) {
                    let n = scope.nodes[k]
                    let nodeName = n.name.isEmpty ? n.opType : "\(n.opType) '\(n.name)'"
                    throw OnnxSlimError.badInput(fileName, "\(label): node \(nodeName) uses '\(name)', which nothing produces")
                }
                throw OnnxSlimError.badInput(fileName, "\(label): output '\(name)' is produced by no node")
            }
            let dependencies = scope.nodeReads.map { reads in
                reads.compactMap { name -> Int? in
                    guard let p = scope.producers[name], !scope.sources.contains(name), !visibleOutside(name) else { return nil }
                    return p.node
                }
            }
            try checkAcyclic(scope.nodes, dependencies, path: label)
        }
    }

    private func checkAcyclic(_ nodes: [Node], _ dependencies: [[Int]], path: String) throws {
        var indegree = dependencies.map { $0.count }
        var dependents: [[Int]] = Array(repeating: [], count: nodes.count)
        for (k, deps) in dependencies.enumerated() { for d in deps { dependents[d].append(k) } }
        var ready = indegree.indices.filter { indegree[$0] == 0 }
        var done = 0
        while let k = ready.popLast() {
            done += 1
            for d in dependents[k] {
                indegree[d] -= 1
                if indegree[d] == 0 { ready.append(d) }
            }
        }
        if done < nodes.count {
            let stuck = nodes.indices.first { indegree[$0] > 0 }.map { nodes[$0] }
            let label = stuck.map { $0.name.isEmpty ? $0.opType : "'\($0.name)'" } ?? "?"
            throw OnnxSlimError.badInput(fileName, "\(path): the nodes form a cycle (through node \(label))")
        }
    }
}
