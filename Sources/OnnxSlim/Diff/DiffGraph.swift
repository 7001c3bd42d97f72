/// One graph as the diff sees it: graph inputs, weights (initializers) and nodes as vertices of a
/// single DAG, with producers, consumers, a topological order and structural hashes. Built from
/// the graph alone: weight bytes are read only for tiny tensors (shape constants, ≤ 64 bytes).
/// In a subgraph, the enclosing graphs' weights it reads are weight vertices too (index -1), so
/// a change to a weight only a branch or loop body reads is seen where it is read.
public struct DiffGraph {
    public enum Kind: Sendable { case input, weight, node }

    /// Where a value comes from: output `output` of vertex `vertex`; vertex -1 for an omitted
    /// optional input ("") or a value of an enclosing graph.
    public struct Source: Hashable, Sendable {
        public var vertex: Int
        public var output: Int
        public var outerName: String?
        static let none = Source(vertex: -1, output: 0, outerName: nil)
    }

    public struct Vertex {
        public var kind: Kind
        /// Index in graph.inputs / graph.initializers / graph.nodes.
        public var index: Int
        /// Op type ("" for inputs and weights), domain ("" = ai.onnx).
        public var op: String
        public var domain: String
        public var name: String
        public var inputs: [Source]
        public var outputs: [String]
        /// For weights and Constant nodes: the tensor (bytes untouched).
        public var tensor: Tensor?
    }

    public let graph: Graph
    /// Weights a subgraph of this graph can read by name: the enclosing graphs', then this graph's
    /// initializers and Constant nodes.
    public private(set) var visibleWeights: [String: Tensor] = [:]
    public var vertices: [Vertex] = []
    /// Graph inputs and weights by name (node outputs come from the graph index).
    private var sources: [String: Int] = [:]
    /// consumers[v][k]: (consumer vertex, input position) reading output k of v.
    public var consumers: [[[(vertex: Int, position: Int)]]] = []
    /// Graph outputs' sources, in order.
    public var outputSources: [Source] = []
    /// Graph output positions by vertex (for the downward hash).
    var outputPositions: [Int: [(output: Int, position: Int)]] = [:]
    public var topo: [Int] = []
    /// Position of each vertex in `topo`.
    public var order: [Int] = []
    public var up: [Int] = []
    public var down: [Int] = []
    public var attributeHash: [Int] = []

    public init(_ graph: Graph, outer: [String: Tensor] = [:]) {
        self.graph = graph
        let initNames = Set(graph.initializers.map(\.name))
        var inputPosition = 0
        for (k, vi) in graph.inputs.enumerated() where !initNames.contains(vi.name) {
            add(Vertex(kind: .input, index: k, op: "", domain: "", name: vi.name, inputs: [], outputs: [vi.name], tensor: nil))
            inputPosition += 1
        }
        for (k, t) in graph.initializers.enumerated() {
            add(Vertex(kind: .weight, index: k, op: "", domain: "", name: t.name, inputs: [], outputs: [t.name], tensor: t))
        }
        if !outer.isEmpty {
            var local = Set(graph.inputs.map(\.name)).union(initNames)
            for n in graph.nodes { local.formUnion(n.outputs) }
            var seen = Set<String>()
            for n in graph.nodes {
                for name in n.inputs where !local.contains(name) && seen.insert(name).inserted {
                    if let t = outer[name] { add(Vertex(kind: .weight, index: -1, op: "", domain: "", name: name, inputs: [], outputs: [name], tensor: t)) }
                }
            }
        }
        visibleWeights = outer
        for t in graph.initializers { visibleWeights[t.name] = t }
        let firstNode = vertices.count
        for (k, n) in graph.nodes.enumerated() {
            var tensor: Tensor? = nil
            if n.isConstant {
                for a in n.attributes {
                    if let t = a.t { tensor = t; break }
                    if let t = a.constantValueTensor(name: n.outputs.first ?? "") { tensor = t; break }
                }
            }
            add(Vertex(kind: .node, index: k, op: n.opType, domain: n.isDefaultDomain ? "" : n.domain,
                       name: n.name, inputs: [], outputs: n.outputs, tensor: tensor))
            if let tensor, let name = n.outputs.first { visibleWeights[name] = tensor }
        }
        // Resolve inputs once every producer is known (node order may not be topological).
        let index = GraphIndex(graph, weights: false).main
        func source(_ name: String) -> Source {
            if let p = index.producers[name] { return Source(vertex: firstNode + p.node, output: p.slot, outerName: nil) }
            if let v = sources[name] { return Source(vertex: v, output: 0, outerName: nil) }
            return Source(vertex: -1, output: 0, outerName: name)
        }
        for v in firstNode..<vertices.count {
            vertices[v].inputs = graph.nodes[vertices[v].index].inputs.map { $0.isEmpty ? .none : source($0) }
        }
        consumers = vertices.map { [[(vertex: Int, position: Int)]](repeating: [], count: max($0.outputs.count, 1)) }
        for (v, vertex) in vertices.enumerated() {
            for (p, s) in vertex.inputs.enumerated() where s.vertex >= 0 {
                consumers[s.vertex][s.output].append((v, p))
            }
        }
        outputSources = graph.outputs.map { source($0.name) }
        for (p, s) in outputSources.enumerated() where s.vertex >= 0 {
            outputPositions[s.vertex, default: []].append((s.output, p))
        }
        sortTopologically()
        computeHashes()
    }

    private mutating func add(_ v: Vertex) {
        if v.kind != .node { sources[v.name] = vertices.count }
        vertices.append(v)
    }

    /// Kahn's algorithm; vertices on a cycle (bad input) follow in file order.
    private mutating func sortTopologically() {
        var pending = vertices.map { v in Set(v.inputs.filter { $0.vertex >= 0 }.map(\.vertex)).count }
        var ready = (0..<vertices.count).filter { pending[$0] == 0 }
        var out: [Int] = []
        out.reserveCapacity(vertices.count)
        var head = 0
        var seen = [Bool](repeating: false, count: vertices.count)
        while head < ready.count {
            let v = ready[head]; head += 1
            seen[v] = true
            out.append(v)
            var done = Set<Int>()
            for outs in consumers[v] {
                for c in outs where done.insert(c.vertex).inserted {
                    pending[c.vertex] -= 1
                    if pending[c.vertex] == 0 { ready.append(c.vertex) }
                }
            }
        }
        if out.count < vertices.count { for v in 0..<vertices.count where !seen[v] { out.append(v) } }
        topo = out
        order = [Int](repeating: 0, count: vertices.count)
        for (k, v) in topo.enumerated() { order[v] = k }
    }

    /// Structural hashes: `up` from op, attributes and the producers' hashes (names ignored);
    /// `down` from op, attributes and the consumers' hashes and positions.
    private mutating func computeHashes() {
        attributeHash = vertices.map { v in
            var h = Hasher()
            switch v.kind {
            case .input:
                h.combine("input")
                h.combine(ModelSummary.describe(graph.inputs[v.index].type))
            case .weight:
                h.combine("weight")
                if let t = v.tensor { DiffGraph.hashTensor(t, into: &h) }
            case .node:
                h.combine(v.op); h.combine(v.domain); h.combine(v.outputs.count)
                DiffGraph.hashAttributes(graph.nodes[v.index].attributes, into: &h)
            }
            return h.finalize()
        }
        var inputOrdinal: [Int: Int] = [:]
        for (k, v) in vertices.enumerated() where v.kind == .input { inputOrdinal[k] = inputOrdinal.count }
        up = [Int](repeating: 0, count: vertices.count)
        for v in topo {
            var h = Hasher()
            h.combine(attributeHash[v])
            if let ord = inputOrdinal[v] { h.combine(ord) }
            for s in vertices[v].inputs {
                if s.vertex >= 0 { h.combine(up[s.vertex]); h.combine(s.output) }
                else { h.combine(s.outerName == nil ? -1 : -2) }
            }
            up[v] = h.finalize()
        }
        down = [Int](repeating: 0, count: vertices.count)
        for v in topo.reversed() {
            var h = Hasher()
            h.combine(attributeHash[v])
            for (k, outs) in consumers[v].enumerated() {
                var parts = outs.map { c -> Int in
                    var hc = Hasher(); hc.combine(down[c.vertex]); hc.combine(c.position); return hc.finalize()
                }
                for o in outputPositions[v] ?? [] where o.output == k { parts.append(o.position &* 7919 &+ 17) }
                parts.sort()
                h.combine(k); h.combine(parts)
            }
            down[v] = h.finalize()
        }
    }

    static let smallTensorBytes = 64

    /// dtype, dims and — for tiny inline tensors only — the values.
    static func hashTensor(_ t: Tensor, into h: inout Hasher) {
        h.combine(t.dataType.rawValue); h.combine(t.dims)
        if let v = smallValues(t) { h.combine(v) }
    }

    /// The bytes of a tiny inline tensor (shape constants, scalars), nil for anything larger.
    static func smallValues(_ t: Tensor) -> [UInt8]? {
        guard !t.isExternal, t.dataByteCount <= smallTensorBytes else { return nil }
        if let raw = t.raw { return raw.array }
        var out: [UInt8] = []
        for f in t.floatData { withUnsafeBytes(of: f.bitPattern) { out += $0 } }
        for i in t.int32Data { withUnsafeBytes(of: i) { out += $0 } }
        for i in t.int64Data { withUnsafeBytes(of: i) { out += $0 } }
        for d in t.doubleData { withUnsafeBytes(of: d.bitPattern) { out += $0 } }
        for u in t.uint64Data { withUnsafeBytes(of: u) { out += $0 } }
        for s in t.stringData { out += s.array; out.append(0) }
        return out
    }

    static func hashAttributes(_ attributes: [Attribute], into h: inout Hasher) {
        for a in attributes.sorted(by: { $0.name < $1.name }) {
            h.combine(a.name); h.combine(a.type.rawValue)
            switch a.type {
            case .int: h.combine(a.i)
            case .float: h.combine(a.f.bitPattern)
            case .string: h.combine(a.s)
            case .ints: h.combine(a.ints)
            case .floats: h.combine(a.floats.map(\.bitPattern))
            case .strings: h.combine(a.strings)
            case .tensor: if let t = a.t { hashTensor(t, into: &h) }
            case .graph, .graphs:
                for g in a.subgraphs {
                    h.combine(g.nodes.count)
                    for n in g.nodes { h.combine(n.opType) }
                }
            default: h.combine(a.i); h.combine(a.ints)
            }
        }
    }

    // MARK: helpers

    public func isFloatWeight(_ v: Int) -> Bool {
        guard let t = vertices[v].tensor else { return false }
        return TensorValues.floatTypes.contains(t.dataType)
    }

    /// A short label for reports: the node's name, or its first output, or the weight's name.
    /// The name a weight is read by: an initializer's, or a Constant node's output.
    public func weightName(_ v: Int) -> String {
        let x = vertices[v]
        return x.kind == .node ? x.outputs.first ?? x.name : x.name
    }

    public func label(_ v: Int) -> String {
        let x = vertices[v]
        if x.kind == .node {
            if !x.name.isEmpty { return x.name }
            return "\(x.op)(→\(x.outputs.first ?? "?"))"
        }
        return x.name
    }

    /// True for a weight or a Constant node (a vertex holding a tensor and computing nothing).
    public func holdsTensor(_ v: Int) -> Bool { vertices[v].tensor != nil }

    /// The value vertex `v` stands for: a node's first output, an input's or weight's name.
    public func valueName(_ v: Int) -> String {
        vertices[v].kind == .node ? (vertices[v].outputs.first ?? "") : vertices[v].name
    }

    /// The vertex a value is read through, skipping Identity/Cast/Reshape/Transpose/Unsqueeze.
    public func resolveThroughViews(_ s: Source) -> Int? {
        var cur = s
        for _ in 0..<6 {
            guard cur.vertex >= 0 else { return nil }
            let v = vertices[cur.vertex]
            if v.kind == .node, ["Identity", "Cast", "Reshape", "Transpose", "Unsqueeze", "Squeeze", "Flatten"].contains(v.op), v.domain.isEmpty, let first = v.inputs.first {
                cur = first
                continue
            }
            return cur.vertex
        }
        return nil
    }
}
