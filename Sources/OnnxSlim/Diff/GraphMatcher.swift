/// Pairs the vertices of two graphs so that renames and reorderings are not changes:
///
/// 1. graph inputs by name, else by position; weights by name;
/// 2. nodes whose names are equal and non-empty, with the same op type;
/// 3. structure: equal (upward, downward) hashes, then a unique upward or downward hash;
/// 4. propagation from matched pairs to their producers (same input position) and consumers
///    (same op type and input position), to a fixpoint, so an edited node still matches;
/// 5. the remaining equal-hash ties, paired in topological order.
///
/// Every step is linear or n·log n in the number of vertices (dictionaries keyed by names and
/// hashes); nothing compares all pairs.
public struct GraphMatcher {
    public let a: DiffGraph
    public let b: DiffGraph
    /// aToB[v] = matched vertex of b, or -1.
    public private(set) var aToB: [Int]
    public private(set) var bToA: [Int]
    /// How each pair was found (for debugging and tests): "name", "hash", "propagated", "position".
    public private(set) var how: [Int: String] = [:]

    public init(_ a: DiffGraph, _ b: DiffGraph) {
        self.a = a
        self.b = b
        aToB = [Int](repeating: -1, count: a.vertices.count)
        bToA = [Int](repeating: -1, count: b.vertices.count)
        run()
    }

    public func partner(ofA v: Int) -> Int? { aToB[v] >= 0 ? aToB[v] : nil }
    public func partner(ofB v: Int) -> Int? { bToA[v] >= 0 ? bToA[v] : nil }

    private var queue: [(Int, Int)] = []

    private mutating func pair(_ x: Int, _ y: Int, _ why: String) {
        guard aToB[x] < 0, bToA[y] < 0 else { return }
        aToB[x] = y
        bToA[y] = x
        how[x] = why
        queue.append((x, y))
    }

    /// Whether two unmatched vertices may be paired by structure: same kind; nodes with the same
    /// op and domain, whose weight inputs do not change between float and quantized types.
    func compatible(_ x: Int, _ y: Int) -> Bool {
        let va = a.vertices[x], vb = b.vertices[y]
        guard va.kind == vb.kind else { return false }
        switch va.kind {
        case .input: return true
        case .weight: return DiffGraph.sameTypeClass(va.tensor, vb.tensor)
        case .node:
            guard va.op == vb.op, va.domain == vb.domain else { return false }
            for (sa, sb) in zip(va.inputs, vb.inputs) where sa.vertex >= 0 && sb.vertex >= 0 {
                let wa = a.vertices[sa.vertex], wb = b.vertices[sb.vertex]
                if wa.kind == .weight, wb.kind == .weight, !DiffGraph.sameTypeClass(wa.tensor, wb.tensor) { return false }
            }
            return true
        }
    }

    private mutating func run() {
        // 1. inputs by name, then position; weights by name.
        var bByName: [String: Int] = [:]
        var bInputs: [Int] = [], aInputs: [Int] = []
        for (v, x) in b.vertices.enumerated() where x.kind != .node { bByName[x.name] = v }
        for (v, x) in b.vertices.enumerated() where x.kind == .input { bInputs.append(v) }
        for (v, x) in a.vertices.enumerated() where x.kind != .node {
            if x.kind == .input { aInputs.append(v) }
            if let y = bByName[x.name], b.vertices[y].kind == x.kind, compatible(v, y) { pair(v, y, "name") }
        }
        for (x, y) in zip(aInputs, bInputs) where aToB[x] < 0 && bToA[y] < 0 { pair(x, y, "position") }

        // 2. nodes by unique name and op.
        var bNodeNames: [String: Int] = [:]
        var duplicate = Set<String>()
        for (v, x) in b.vertices.enumerated() where x.kind == .node && !x.name.isEmpty {
            if bNodeNames[x.name] != nil { duplicate.insert(x.name) } else { bNodeNames[x.name] = v }
        }
        var aNames = Set<String>()
        for (v, x) in a.vertices.enumerated() where x.kind == .node && !x.name.isEmpty {
            if !aNames.insert(x.name).inserted { duplicate.insert(x.name) }
            _ = v
        }
        for (v, x) in a.vertices.enumerated() where x.kind == .node && !x.name.isEmpty && !duplicate.contains(x.name) {
            if let y = bNodeNames[x.name], compatible(v, y) { pair(v, y, "name") }
        }

        // 3. structural hashes.
        matchByKey({ g, v in Key(g.up[v], g.down[v]) }, unique: false)
        matchByKey({ g, v in Key(g.up[v], 0) }, unique: true)
        matchByKey({ g, v in Key(0, g.down[v]) }, unique: true)

        // Graph outputs: by name, else by position.
        var bOut: [String: Int] = [:]
        for (k, o) in b.graph.outputs.enumerated() { bOut[o.name] = k }
        for (k, o) in a.graph.outputs.enumerated() {
            let kb = bOut[o.name] ?? (a.graph.outputs.count == b.graph.outputs.count ? k : -1)
            guard kb >= 0 else { continue }
            let sa = a.outputSources[k], sb = b.outputSources[kb]
            if sa.vertex >= 0, sb.vertex >= 0, sa.output == sb.output, compatible(sa.vertex, sb.vertex) {
                pair(sa.vertex, sb.vertex, "output")
            }
        }

        // 4. propagate; 5. remaining ties in order, then propagate again.
        propagate()
        matchByKey({ g, v in Key(g.up[v], g.down[v]) }, unique: false)
        propagate()
        matchByKey({ g, v in Key(g.up[v], 0) }, unique: false)
        propagate()
    }

    struct Key: Hashable { var up: Int; var down: Int; init(_ u: Int, _ d: Int) { up = u; down = d } }

    /// Pairs unmatched vertices with equal keys: all of a group in topological order, or (unique)
    /// only groups of one on each side.
    private mutating func matchByKey(_ key: (DiffGraph, Int) -> Key, unique: Bool) {
        var groups: [Key: [Int]] = [:]
        for v in b.topo where bToA[v] < 0 { groups[key(b, v), default: []].append(v) }
        var aGroups: [Key: [Int]] = [:]
        for v in a.topo where aToB[v] < 0 { aGroups[key(a, v), default: []].append(v) }
        for v in a.topo where aToB[v] < 0 {
            let k = key(a, v)
            guard let ys = groups[k], let xs = aGroups[k] else { continue }
            if unique && (ys.count != 1 || xs.count != 1) { continue }
            // Unequal ties are left to propagation, which can tell them apart by their neighbours.
            if !unique && ys.count != xs.count { continue }
            guard let i = xs.firstIndex(of: v), i < ys.count else { continue }
            let y = ys[i]
            if bToA[y] < 0, compatible(v, y) { pair(v, y, "hash") }
        }
    }

    private mutating func propagate() {
        while let (x, y) = queue.popLast() {
            let va = a.vertices[x], vb = b.vertices[y]
            // Producers at the same input position.
            for (sa, sb) in zip(va.inputs, vb.inputs) where sa.vertex >= 0 && sb.vertex >= 0 && sa.output == sb.output {
                if aToB[sa.vertex] < 0, bToA[sb.vertex] < 0, compatible(sa.vertex, sb.vertex) {
                    pair(sa.vertex, sb.vertex, "propagated")
                }
            }
            // Consumers with the same op at the same position.
            for k in 0..<min(a.consumers[x].count, b.consumers[y].count) {
                let ca = a.consumers[x][k].filter { aToB[$0.vertex] < 0 }
                let cb = b.consumers[y][k].filter { bToA[$0.vertex] < 0 }
                guard !ca.isEmpty, !cb.isEmpty else { continue }
                var groupsB: [String: [Int]] = [:]
                for c in cb { groupsB["\(b.vertices[c.vertex].domain).\(b.vertices[c.vertex].op)#\(c.position)", default: []].append(c.vertex) }
                var groupsA: [String: [Int]] = [:]
                for c in ca { groupsA["\(a.vertices[c.vertex].domain).\(a.vertices[c.vertex].op)#\(c.position)", default: []].append(c.vertex) }
                for (key, xs) in groupsA {
                    guard let ys = groupsB[key] else { continue }
                    if xs.count == 1 && ys.count == 1 {
                        if compatible(xs[0], ys[0]) { pair(xs[0], ys[0], "propagated") }
                        continue
                    }
                    // Several: pair equal structural hashes first, then what is left in order when counts agree.
                    var byHash: [Int: [Int]] = [:]
                    for v in ys { byHash[b.up[v] &+ b.down[v] &* 31, default: []].append(v) }
                    var left: [Int] = []
                    for v in xs {
                        if var list = byHash[a.up[v] &+ a.down[v] &* 31], let y2 = list.first {
                            list.removeFirst(); byHash[a.up[v] &+ a.down[v] &* 31] = list
                            if compatible(v, y2) { pair(v, y2, "propagated") }
                        } else { left.append(v) }
                    }
                    let rest = ys.filter { bToA[$0] < 0 }
                    if left.count == rest.count {
                        let ls = left.sorted { a.order[$0] < a.order[$1] }, rs = rest.sorted { b.order[$0] < b.order[$1] }
                        for (p, q) in zip(ls, rs) where compatible(p, q) { pair(p, q, "propagated") }
                    }
                }
            }
        }
    }
}

extension DiffGraph {
    /// Float types (float32/16/bf16/64) form one class; every other dtype is its own.
    static func sameTypeClass(_ x: Tensor?, _ y: Tensor?) -> Bool {
        guard let x, let y else { return x == nil && y == nil }
        if x.dataType == y.dataType { return true }
        return TensorValues.floatTypes.contains(x.dataType) && TensorValues.floatTypes.contains(y.dataType)
    }
}
