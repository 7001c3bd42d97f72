/// Compares two matched graphs: matched weights that differ, matched nodes whose attributes or
/// wiring differ, and regions of unmatched vertices. The rewrite recognisers then claim what they
/// explain; the rest becomes plain additions, removals and changes.
public final class GraphDiffer {
    public let a: DiffGraph
    public let b: DiffGraph
    public let m: GraphMatcher
    let graphLabel: String
    /// Read weight values (--weights): `reader` opens external data.
    let reader: ExternalDataReader?
    public private(set) var weightErrors: [String] = []

    /// A connected set of unmatched vertices of A and B: what one edit replaced by what.
    public struct Region {
        public var a: [Int] = []
        public var b: [Int] = []
        /// Matched pairs (vertex of A, vertex of B) whose inputs read this region.
        public var consumers: [(Int, Int)] = []
    }

    /// A matched weight (initializer or Constant node) pair whose tensor differs.
    public struct WeightChange {
        public var a: Int
        public var b: Int
        public var ta: Tensor
        public var tb: Tensor
        public var dtypeChanged: Bool { ta.dataType != tb.dataType }
        public var shapeChanged: Bool { ta.dims != tb.dims }
        public var valuesDiffer: Bool
        /// With --weights: value statistics (same shape only).
        public var stats: WeightStatistics? = nil
    }

    /// A matched node pair whose attributes or inputs differ.
    public struct NodeChange {
        public var a: Int
        public var b: Int
        public var attributes: [(name: String, a: String, b: String)]
        public var inputs: [Int]
    }

    public var regions: [Region] = []
    public var claimedRegions = Set<Int>()
    public var weightChanges: [WeightChange] = []
    public var claimedWeights = Set<Int>()
    public var nodeChanges: [NodeChange] = []
    public var claimedNodes = Set<Int>()
    public var changes: [ModelDiff.Change] = []
    /// A's prunable groups (main graph), when known: pruning is recognised by them first.
    public var channelGroups: [ChannelGroup]?

    public init(_ a: DiffGraph, _ b: DiffGraph, label: String = "", reader: ExternalDataReader? = nil) {
        self.a = a
        self.b = b
        m = GraphMatcher(a, b)
        graphLabel = label
        self.reader = reader
    }

    /// Runs the comparison, the recognisers and the fallback. Subgraphs of matched nodes are
    /// compared recursively.
    public func run(subgraphs: Bool = true) throws -> [ModelDiff.Change] {
        try compareMatched()
        buildRegions()
        QuantizedWeightRewrite.apply(self)
        FloatZeroPointTermRewrite.apply(self)
        LowRankRewrite.apply(self)
        PruningRewrite.apply(self)
        PrecisionCastRewrite.apply(self)
        FoldedConstantRewrite.apply(self)
        fallback()
        for k in changes.indices where changes[k].graph.isEmpty { changes[k].graph = graphLabel }
        if subgraphs { try compareSubgraphs() }
        return changes
    }

    // MARK: matched pairs

    func compareMatched() throws {
        for (x, vx) in a.vertices.enumerated() {
            guard let y = m.partner(ofA: x) else { continue }
            let vy = b.vertices[y]
            if let ta = vx.tensor, let tb = vy.tensor {
                let small = DiffGraph.smallValues(ta).flatMap { va in DiffGraph.smallValues(tb).map { va != $0 } } ?? false
                var stats: WeightStatistics? = nil
                if let reader, ta.dims == tb.dims { stats = try WeightStatistics.compare(ta, tb, reader: reader) }
                if ta.dataType != tb.dataType || ta.dims != tb.dims || small || (stats?.differ ?? false)
                    || (ta.dataType == tb.dataType && ta.dims == tb.dims && ta.dataByteCount != tb.dataByteCount && !ta.isExternal && !tb.isExternal) {
                    weightChanges.append(WeightChange(a: x, b: y, ta: ta, tb: tb, valuesDiffer: small || (stats?.differ ?? false), stats: stats))
                }
            }
            guard vx.kind == .node else { continue }
            let na = a.graph.nodes[vx.index], nb = b.graph.nodes[vy.index]
            var attrs: [(String, String, String)] = []
            if !na.isConstant {
                let fa = Dictionary(na.attributes.map { ($0.name, $0) }, uniquingKeysWith: { f, _ in f })
                let fb = Dictionary(nb.attributes.map { ($0.name, $0) }, uniquingKeysWith: { f, _ in f })
                for name in Set(fa.keys).union(fb.keys).sorted() {
                    let x1 = fa[name], y1 = fb[name]
                    if let x1, let y1, x1.type == .graph || x1.type == .graphs, y1.type == x1.type { continue }
                    if let x1, let y1, GraphDiffer.sameAttribute(x1, y1) { continue }
                    attrs.append((name, x1.map(GraphDiffer.describe) ?? "(none)", y1.map(GraphDiffer.describe) ?? "(none)"))
                }
            }
            var rewired: [Int] = []
            for p in 0..<max(vx.inputs.count, vy.inputs.count) {
                let sa = p < vx.inputs.count ? vx.inputs[p] : .none
                let sb = p < vy.inputs.count ? vy.inputs[p] : .none
                if sa.vertex < 0 && sb.vertex < 0 {
                    if sa.outerName != sb.outerName && (sa.outerName == nil || sb.outerName == nil) { rewired.append(p) }
                    continue
                }
                if sa.vertex >= 0, sb.vertex >= 0 {
                    if m.aToB[sa.vertex] == sb.vertex && sa.output == sb.output { continue }
                    // An unmatched producer on either side belongs to a region (an addition or
                    // removal reported there), not to this node.
                    if m.aToB[sa.vertex] < 0 || m.bToA[sb.vertex] < 0 { continue }
                    rewired.append(p)
                } else {
                    let other = sa.vertex >= 0 ? m.aToB[sa.vertex] : m.bToA[sb.vertex]
                    if other >= 0 { rewired.append(p) }
                }
            }
            if vx.outputs.count != vy.outputs.count { rewired.append(-1) }
            if !attrs.isEmpty || !rewired.isEmpty {
                nodeChanges.append(NodeChange(a: x, b: y, attributes: attrs, inputs: rewired))
            }
        }
    }

    static func sameAttribute(_ x: Attribute, _ y: Attribute) -> Bool {
        guard x.type == y.type else { return false }
        switch x.type {
        case .int: return x.i == y.i
        case .float: return x.f.bitPattern == y.f.bitPattern
        case .string: return x.s == y.s
        case .ints: return x.ints == y.ints
        case .floats: return x.floats.map(\.bitPattern) == y.floats.map(\.bitPattern)
        case .strings: return x.strings == y.strings
        case .tensor:
            guard let t = x.t, let u = y.t else { return x.t == nil && y.t == nil }
            return t.dataType == u.dataType && t.dims == u.dims && DiffGraph.smallValues(t) == DiffGraph.smallValues(u)
        default:
            var h1 = Hasher(), h2 = Hasher()
            DiffGraph.hashAttributes([x], into: &h1); DiffGraph.hashAttributes([y], into: &h2)
            return h1.finalize() == h2.finalize()
        }
    }

    /// An attribute's value as GraphText writes it; subgraphs are compared on their own, so
    /// they are only named here.
    static func describe(_ a: Attribute) -> String {
        a.type == .graph || a.type == .graphs ? "graph" : GraphText.value(a, indent: "")
    }

    // MARK: regions

    func buildRegions() {
        let na = a.vertices.count
        var parent = Array(0..<(na + b.vertices.count))
        func find(_ x: Int) -> Int {
            var r = x
            while parent[r] != r { r = parent[r] }
            var c = x
            while parent[c] != r { let n = parent[c]; parent[c] = r; c = n }
            return r
        }
        func union(_ x: Int, _ y: Int) { let rx = find(x), ry = find(y); if rx != ry { parent[max(rx, ry)] = min(rx, ry) } }
        for (v, x) in a.vertices.enumerated() where m.aToB[v] < 0 {
            for s in x.inputs where s.vertex >= 0 && m.aToB[s.vertex] < 0 { union(v, s.vertex) }
        }
        for (v, x) in b.vertices.enumerated() where m.bToA[v] < 0 {
            for s in x.inputs where s.vertex >= 0 && m.bToA[s.vertex] < 0 { union(na + v, na + s.vertex) }
        }
        // Across: a matched consumer reading unmatched producers on both sides at one position.
        var anchors: [(Int, Int, Int)] = []   // (member, a, b)
        for (x, vx) in a.vertices.enumerated() {
            guard let y = m.partner(ofA: x) else { continue }
            let vy = b.vertices[y]
            for p in 0..<max(vx.inputs.count, vy.inputs.count) {
                let sa = p < vx.inputs.count ? vx.inputs[p].vertex : -1
                let sb = p < vy.inputs.count ? vy.inputs[p].vertex : -1
                let ua = sa >= 0 && m.aToB[sa] < 0, ub = sb >= 0 && m.bToA[sb] < 0
                if ua && ub { union(sa, na + sb) }
                if ua { anchors.append((sa, x, y)) }
                if ub { anchors.append((na + sb, x, y)) }
            }
        }
        // Graph outputs at one position.
        for (k, sa) in a.outputSources.enumerated() where k < b.outputSources.count {
            let sb = b.outputSources[k]
            if sa.vertex >= 0, sb.vertex >= 0, m.aToB[sa.vertex] < 0, m.bToA[sb.vertex] < 0 { union(sa.vertex, na + sb.vertex) }
        }
        var index: [Int: Int] = [:]
        func region(_ root: Int) -> Int {
            if let r = index[root] { return r }
            index[root] = regions.count
            regions.append(Region())
            return regions.count - 1
        }
        for v in a.topo where m.aToB[v] < 0 { regions[region(find(v))].a.append(v) }
        for v in b.topo where m.bToA[v] < 0 { regions[region(find(na + v))].b.append(v) }
        for (member, x, y) in anchors {
            let r = region(find(member))
            if !regions[r].consumers.contains(where: { $0 == (x, y) }) { regions[r].consumers.append((x, y)) }
        }
    }

    // MARK: helpers for recognisers

    /// Weights (initializers and Constant nodes) among `vs`.
    func tensors(_ g: DiffGraph, _ vs: [Int]) -> [Int] { vs.filter { g.holdsTensor($0) } }
    /// Computing nodes (not Constant) among `vs`.
    func computeNodes(_ g: DiffGraph, _ vs: [Int]) -> [Int] {
        vs.filter { g.vertices[$0].kind == .node && g.vertices[$0].tensor == nil }
    }

    public func claim(region r: Int) { claimedRegions.insert(r) }

    func add(_ c: ModelDiff.Change) { changes.append(c) }

    // MARK: what no recogniser explained

    func fallback() {
        for (r, region) in regions.enumerated() where !claimedRegions.contains(r) {
            for v in region.a {
                let x = a.vertices[v]
                switch x.kind {
                case .node:
                    var c = ModelDiff.Change(.nodeRemoved, a: [a.label(v)], "\(x.op) \(a.label(v))")
                    c.fields = [("op", .string(x.op))]
                    c.aVertices = [v]
                    add(c)
                case .weight:
                    var c = ModelDiff.Change(.weightRemoved, a: [x.name], "\(x.name) \(x.tensor.map(GraphText.tensorType) ?? "")")
                    c.aVertices = [v]
                    add(c)
                case .input: break
                }
            }
            for v in region.b {
                let x = b.vertices[v]
                switch x.kind {
                case .node:
                    var c = ModelDiff.Change(.nodeAdded, b: [b.label(v)], "\(x.op) \(b.label(v))")
                    c.fields = [("op", .string(x.op))]
                    c.bVertices = [v]
                    add(c)
                case .weight:
                    var c = ModelDiff.Change(.weightAdded, b: [x.name], "\(x.name) \(x.tensor.map(GraphText.tensorType) ?? "")")
                    c.bVertices = [v]
                    add(c)
                case .input: break
                }
            }
        }
        for (k, w) in weightChanges.enumerated() where !claimedWeights.contains(k) {
            var what: [String] = []
            if w.dtypeChanged { what.append("dtype \(w.ta.dataType) → \(w.tb.dataType)") }
            if w.shapeChanged { what.append("shape [\(w.ta.dims.map(String.init).joined(separator: ","))] → [\(w.tb.dims.map(String.init).joined(separator: ","))]") }
            if !w.dtypeChanged && !w.shapeChanged && w.ta.dataByteCount != w.tb.dataByteCount {
                what.append("bytes \(w.ta.dataByteCount) → \(w.tb.dataByteCount)")
            }
            if let st = w.stats, st.differ { what.append(st.text) }
            else if w.valuesDiffer && !w.dtypeChanged && !w.shapeChanged { what.append("values differ") }
            let na = a.vertices[w.a].kind == .node ? a.vertices[w.a].outputs.first ?? a.label(w.a) : a.vertices[w.a].name
            let nb = b.vertices[w.b].kind == .node ? b.vertices[w.b].outputs.first ?? b.label(w.b) : b.vertices[w.b].name
            var c = ModelDiff.Change(.weightChanged, a: [na], b: [nb], "\(na): " + what.joined(separator: ", "))
            c.fields = [("type_a", .string(GraphText.tensorType(w.ta))), ("type_b", .string(GraphText.tensorType(w.tb))),
                        ("bytes_a", .int(w.ta.dataByteCount)), ("bytes_b", .int(w.tb.dataByteCount))]
            if let st = w.stats { c.fields += [("max_abs_diff", st.json.field("max_abs_diff")), ("relative_l2", st.json.field("relative_l2"))] }
            c.aVertices = [w.a]; c.bVertices = [w.b]
            add(c)
        }
        for (k, n) in nodeChanges.enumerated() where !claimedNodes.contains(k) {
            var what: [String] = n.attributes.map { "\($0.name) \($0.a) → \($0.b)" }
            if !n.inputs.isEmpty { what.append("inputs rewired at " + n.inputs.map { $0 < 0 ? "outputs" : String($0) }.joined(separator: ", ")) }
            var c = ModelDiff.Change(.nodeChanged, a: [a.label(n.a)], b: [b.label(n.b)], "\(a.vertices[n.a].op) \(a.label(n.a)): " + what.joined(separator: "; "))
            c.fields = [("op", .string(a.vertices[n.a].op)),
                        ("attributes", .array(n.attributes.map { .object([("name", .string($0.name)), ("a", .string($0.a)), ("b", .string($0.b))]) })),
                        ("inputs", .array(n.inputs.map { .int($0) }))]
            c.aVertices = [n.a]; c.bVertices = [n.b]
            add(c)
        }
    }

    // MARK: subgraphs

    func compareSubgraphs() throws {
        for (x, vx) in a.vertices.enumerated() where vx.kind == .node {
            guard let y = m.partner(ofA: x) else { continue }
            let na = a.graph.nodes[vx.index], nb = b.graph.nodes[b.vertices[y].index]
            for attr in na.attributes where attr.type == .graph || attr.type == .graphs {
                guard let other = nb.attribute(attr.name), other.type == attr.type else { continue }
                let ga = attr.subgraphs, gb = other.subgraphs
                for k in 0..<min(ga.count, gb.count) {
                    let label = (graphLabel.isEmpty ? "" : graphLabel + " > ") + "\(a.label(x)).\(attr.name)" + (attr.type == .graphs ? "[\(k)]" : "")
                    let sub = GraphDiffer(DiffGraph(ga[k], outer: a.visibleWeights), DiffGraph(gb[k], outer: b.visibleWeights), label: label, reader: reader)
                    var subChanges = try sub.run()
                    for i in subChanges.indices { subChanges[i].aVertices = []; subChanges[i].bVertices = [] }
                    changes += subChanges
                }
            }
        }
    }
}
