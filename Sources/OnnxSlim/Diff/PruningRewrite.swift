/// Structured pruning: the same structure, weights shrunk along one axis. Weights that shrank
/// together (a layer's output axis, its bias, the next layer's input axis, normalization
/// parameters, the head count in a Reshape shape) form one group, found by walking forward in A
/// from each shrunk weight until a layer whose *input* axis shrank. One change per group:
/// attention heads (H → H', with head_dim), FFN neurons or conv channels (with counts).
enum PruningRewrite {
    struct Candidate {
        var change: Int        // index in weightChanges
        var axis: Int          // the axis that shrank (-1: small constant whose values changed)
        var from: Int64
        var to: Int64
        /// Every axis that shrank (a layer inside a coupled group shrinks on input and output).
        var axes: [Int] = []
        var sizes: [(Int64, Int64)] = []
    }

    /// Whether `axis` of the weight at input `position` of `node` is the layer's input (reduced) axis.
    static func isInputAxis(_ g: DiffGraph, node: Int, position: Int, axis: Int, rank: Int) -> Bool {
        let v = g.vertices[node]
        let n = g.graph.nodes[v.index]
        switch v.op {
        case "MatMul": return position == 1 && axis == rank - 2
        case "Gemm":
            let transB = (n.attribute("transB")?.i ?? 0) != 0
            return position == 1 && axis == (transB ? 1 : 0)
        case "Conv": return position == 1 && axis == 1
        case "ConvTranspose": return position == 1 && axis == 0
        default: return false
        }
    }

    static func isOutputAxis(_ g: DiffGraph, node: Int, position: Int, axis: Int, rank: Int) -> Bool {
        let v = g.vertices[node]
        let n = g.graph.nodes[v.index]
        switch v.op {
        case "MatMul": return position == 1 && axis == rank - 1
        case "Gemm":
            let transB = (n.attribute("transB")?.i ?? 0) != 0
            return position == 1 && axis == (transB ? 0 : 1)
        case "Conv": return position == 1 && axis == 0
        case "ConvTranspose": return position == 1 && axis == 1
        default: return false
        }
    }

    static func apply(_ d: GraphDiffer) {
        applyGroups(d)
        var cands: [Int: Candidate] = [:]   // by A vertex
        for (k, wc) in d.weightChanges.enumerated() where !d.claimedWeights.contains(k) {
            guard DiffGraph.sameTypeClass(wc.ta, wc.tb) else { continue }
            if wc.shapeChanged {
                guard wc.ta.dims.count == wc.tb.dims.count else { continue }
                let diff = zip(wc.ta.dims, wc.tb.dims).enumerated().filter { $0.element.0 != $0.element.1 }
                guard !diff.isEmpty, diff.allSatisfy({ $0.element.1 < $0.element.0 }) else { continue }
                cands[wc.a] = Candidate(change: k, axis: diff[0].offset, from: diff[0].element.0, to: diff[0].element.1,
                                        axes: diff.map(\.offset), sizes: diff.map { ($0.element.0, $0.element.1) })
            } else if wc.valuesDiffer, !wc.dtypeChanged, [.int64, .int32].contains(wc.ta.dataType) {
                cands[wc.a] = Candidate(change: k, axis: -1, from: 0, to: 0, axes: [], sizes: [])
            }
        }
        guard cands.values.contains(where: { $0.axis >= 0 }) else { return }

        // Union shrunk weights that reach each other walking forward.
        var parent: [Int: Int] = [:]
        for v in cands.keys { parent[v] = v }
        func find(_ x: Int) -> Int { var r = x; while parent[r]! != r { r = parent[r]! }; return r }
        func union(_ x: Int, _ y: Int) { let rx = find(x), ry = find(y); if rx != ry { parent[max(rx, ry)] = min(rx, ry) } }
        for (v, c) in cands {
            var seen = Set<Int>()
            var frontier = d.a.consumers[v].flatMap { $0 }.map(\.vertex)
            var budget = 48
            while !frontier.isEmpty && budget > 0 {
                var next: [Int] = []
                for n in frontier where seen.insert(n).inserted {
                    budget -= 1
                    var stop = false
                    for (p, s) in d.a.vertices[n].inputs.enumerated() where s.vertex >= 0 {
                        guard let other = cands[s.vertex] else { continue }
                        union(v, s.vertex)
                        if s.vertex != v, other.axes.contains(where: { isInputAxis(d.a, node: n, position: p, axis: $0, rank: d.weightChanges[other.change].ta.dims.count) }) { stop = true }
                    }
                    // Our own weight at its input axis ends the walk at once.
                    if let p = d.a.vertices[n].inputs.firstIndex(where: { $0.vertex == v }),
                       c.axes.contains(where: { isInputAxis(d.a, node: n, position: p, axis: $0, rank: d.weightChanges[c.change].ta.dims.count) }),
                       !c.axes.contains(where: { isOutputAxis(d.a, node: n, position: p, axis: $0, rank: d.weightChanges[c.change].ta.dims.count) }) { stop = true }
                    if !stop { next += d.a.consumers[n].flatMap { $0 }.map(\.vertex) }
                }
                frontier = next
            }
        }
        var groups: [Int: [Int]] = [:]
        for v in cands.keys.sorted(by: { d.a.order[$0] < d.a.order[$1] }) { groups[find(v), default: []].append(v) }
        for root in groups.keys.sorted(by: { d.a.order[$0] < d.a.order[$1] }) {
            let members = groups[root]!
            guard members.contains(where: { cands[$0]!.axis >= 0 }) else { continue }
            // The primary weight: a layer's output axis shrank.
            var primary: (Int, Candidate)? = nil
            for v in members {
                let c = cands[v]!
                guard c.axis >= 0 else { continue }
                for cons in d.a.consumers[v].flatMap({ $0 }) {
                    guard let k = c.axes.firstIndex(where: { isOutputAxis(d.a, node: cons.vertex, position: cons.position, axis: $0, rank: d.weightChanges[c.change].ta.dims.count) }) else { continue }
                    var p = c
                    p.axis = c.axes[k]; p.from = c.sizes[k].0; p.to = c.sizes[k].1
                    primary = (v, p); break
                }
                if primary != nil { break }
            }
            let first = primary ?? (members.first { cands[$0]!.axis >= 0 }!, cands[members.first { cands[$0]!.axis >= 0 }!]!)
            let (pv, pc) = first
            let layerNode = d.a.consumers[pv].flatMap { $0 }.first?.vertex
            let layerOp = layerNode.map { d.a.vertices[$0].op } ?? ""
            // Head counts: a small integer constant whose value went H → H' with width = H·head_dim.
            var heads: (Int64, Int64, Int64)? = nil
            for v in members where cands[v]!.axis < 0 {
                let wc = d.weightChanges[cands[v]!.change]
                guard let xa = DiffGraph.smallValues(wc.ta), let xb = DiffGraph.smallValues(wc.tb), xa.count == xb.count else { continue }
                let size = wc.ta.dataType == .int64 ? 8 : 4
                for e in stride(from: 0, to: xa.count, by: size) {
                    let ha = load(xa, e, size), hb = load(xb, e, size)
                    guard ha != hb, ha > 0, hb > 0, hb < ha, pc.from % ha == 0 else { continue }
                    let dim = pc.from / ha
                    if pc.to == hb * dim { heads = (ha, hb, dim); break }
                }
                if heads != nil { break }
            }
            if heads == nil, layerOp == "MatMul" || layerOp == "Gemm", let n = layerNode,
               let dim = headDim(d.a, after: n), pc.from % dim == 0, pc.to % dim == 0 {
                heads = (pc.from / dim, pc.to / dim, dim)
            }
            let kind: String, detail: String
            let layer = layerNode.map { d.a.label($0) } ?? d.a.vertices[pv].name
            if let (ha, hb, dim) = heads {
                kind = "heads"
                detail = "\(layer): attention heads \(ha) → \(hb) (\(ha - hb) removed, head_dim \(dim))"
            } else if layerOp.hasPrefix("Conv") {
                kind = "channels"
                detail = "\(layer): conv channels \(pc.from) → \(pc.to) (\(pc.from - pc.to) removed)"
            } else {
                kind = "neurons"
                detail = "\(layer): FFN neurons \(pc.from) → \(pc.to) (\(pc.from - pc.to) removed)"
            }
            var fields: [(String, JSONValue)] = [("what", .string(kind)), ("node", .string(layer)),
                                                  ("from", .int(Int(heads?.0 ?? pc.from))), ("to", .int(Int(heads?.1 ?? pc.to))),
                                                  ("removed", .int(Int(heads.map { $0.0 - $0.1 } ?? (pc.from - pc.to)))),
                                                  ("tensors", .int(members.count))]
            if let h = heads { fields.append(("head_dim", .int(Int(h.2)))) }
            var c = ModelDiff.Change(.pruned, a: members.map { d.a.valueName($0) },
                                     b: members.map { d.b.valueName(d.weightChanges[cands[$0]!.change].b) },
                                     detail, fields: fields)
            c.aVertices = members + (layerNode.map { [$0] } ?? [])
            c.bVertices = members.map { d.weightChanges[cands[$0]!.change].b }
            for v in members { d.claimedWeights.insert(cands[v]!.change) }
            // Depthwise convs follow their channels: a changed `group` goes with the pruning.
            for (k, nc) in d.nodeChanges.enumerated() where nc.inputs.isEmpty && nc.attributes.allSatisfy({ $0.name == "group" }) {
                if members.contains(where: { m in d.a.vertices[nc.a].inputs.contains { $0.vertex == m } }) { d.claimedNodes.insert(k) }
            }
            d.add(c)
        }
    }

    /// Pruning as A's channel groups (`ChannelGroups`, the pruning pass's own walk) see it: a
    /// group whose first weight shrank along its unit axis is one change, claiming every member
    /// weight that shrank with it, the lengths (Reshape targets, `group`) that followed, and the
    /// shape arithmetic a literal replaced.
    static func applyGroups(_ d: GraphDiffer) {
        guard let groups = d.channelGroups, !groups.isEmpty else { return }
        // A weight shrinks along two axes when it sits between two groups (a conv's input and
        // output channels): it belongs to both.
        let claimedBefore = d.claimedWeights
        var changeOf: [String: Int] = [:]
        for (k, wc) in d.weightChanges.enumerated() where !claimedBefore.contains(k) {
            changeOf[d.a.valueName(wc.a)] = k
        }
        var nodeVertex: [Int: Int] = [:]
        for (v, vertex) in d.a.vertices.enumerated() where vertex.kind == .node { nodeVertex[vertex.index] = v }
        for g in groups {
            let origin = g.slices[0]
            guard let k = changeOf[origin.weight] else { continue }
            let wc = d.weightChanges[k]
            guard wc.ta.dims.count == wc.tb.dims.count, origin.axis < wc.ta.dims.count,
                  wc.tb.dims[origin.axis] < wc.ta.dims[origin.axis], let perUnit = origin.units.units.first?.count, perUnit > 0 else { continue }
            // Indices per unit on the origin axis (a fused Attention's packed weight: 3 × head_dim).
            let kept = Int(wc.tb.dims[origin.axis]) / perUnit
            var members: [Int] = []
            for s in g.slices {
                guard let m = changeOf[s.weight], !members.contains(m) else { continue }
                let c = d.weightChanges[m]
                if c.ta.dims.count == c.tb.dims.count, s.axis < c.ta.dims.count, c.tb.dims[s.axis] < c.ta.dims[s.axis] { members.append(m) }
            }
            // Lengths that followed: small constants read by the length nodes (and what computed them).
            let lengthNodes = Set(g.lengths.compactMap { nodeVertex[$0.node] })
            var upstream = Set<Int>(), frontier = Array(lengthNodes)
            while let v = frontier.popLast() {
                for s in d.a.vertices[v].inputs where s.vertex >= 0 && upstream.insert(s.vertex).inserted { frontier.append(s.vertex) }
            }
            for (m, c) in d.weightChanges.enumerated() where !claimedBefore.contains(m) && !members.contains(m) {
                if upstream.contains(c.a), DiffGraph.smallValues(c.ta) != nil { members.append(m) }
            }
            // Biases after the layers reading the units took the removed units' mean contribution.
            for r in g.reductions {
                guard let v = nodeVertex[r.node] else { continue }
                var biases = d.a.vertices[v].op == "MatMul" ? [] : Array(d.a.vertices[v].inputs.dropFirst(2))
                for c in d.a.consumers[v].flatMap({ $0 }) where d.a.vertices[c.vertex].op == "Add" {
                    biases += d.a.vertices[c.vertex].inputs.filter { $0.vertex != v }
                }
                for b in biases where b.vertex >= 0 {
                    if let m = changeOf[d.a.valueName(b.vertex)],
                       !members.contains(m), !d.weightChanges[m].dtypeChanged { members.append(m) }
                }
            }
            for (r, region) in d.regions.enumerated() where !d.claimedRegions.contains(r) && !region.a.isEmpty {
                if region.a.allSatisfy(upstream.contains) && region.b.allSatisfy({ d.b.holdsTensor($0) }) { d.claim(region: r) }
            }
            for (n, nc) in d.nodeChanges.enumerated() where lengthNodes.contains(nc.a) { d.claimedNodes.insert(n) }
            let layer = nodeVertex[g.origin].map { d.a.label($0) } ?? g.label
            let detail: String
            switch g.kind {
            case .heads: detail = "\(layer): attention heads \(g.unitCount) → \(kept) (\(g.unitCount - kept) removed, \(g.unitSize) columns each)"
            case .neurons: detail = "\(layer): FFN neurons \(g.unitCount) → \(kept) (\(g.unitCount - kept) removed)"
            case .channels: detail = "\(layer): conv channels \(g.unitCount) → \(kept) (\(g.unitCount - kept) removed)"
            }
            var fields: [(String, JSONValue)] = [("what", .string(g.kind.rawValue)), ("node", .string(layer)),
                                                  ("from", .int(g.unitCount)), ("to", .int(kept)),
                                                  ("removed", .int(g.unitCount - kept)), ("tensors", .int(members.count))]
            if g.kind == .heads { fields.append(("head_dim", .int(g.unitSize))) }
            var c = ModelDiff.Change(.pruned, a: members.map { d.a.valueName(d.weightChanges[$0].a) },
                                     b: members.map { d.b.valueName(d.weightChanges[$0].b) }, detail, fields: fields)
            c.aVertices = members.map { d.weightChanges[$0].a } + (nodeVertex[g.origin].map { [$0] } ?? [])
            c.bVertices = members.map { d.weightChanges[$0].b }
            for m in members { d.claimedWeights.insert(m) }
            // Depthwise convs follow their channels: a changed `group` goes with the pruning.
            let memberVertices = Set(members.map { d.weightChanges[$0].a })
            for (n, nc) in d.nodeChanges.enumerated() where nc.inputs.isEmpty && nc.attributes.allSatisfy({ $0.name == "group" }) {
                if d.a.vertices[nc.a].inputs.contains(where: { memberVertices.contains($0.vertex) }) { d.claimedNodes.insert(n) }
            }
            d.add(c)
        }
    }

    /// head_dim when the layer's output (within a few elementwise steps) goes into a Reshape to
    /// [..., -1, head_dim]: the head count left to run time, as exporters write it for
    /// attention, so only the weights show the pruning.
    static func headDim(_ g: DiffGraph, after layer: Int) -> Int64? {
        var frontier = [layer], seen = Set<Int>()
        for _ in 0..<3 {
            var next: [Int] = []
            for v in frontier where seen.insert(v).inserted {
                for c in g.consumers[v].flatMap({ $0 }) {
                    let op = g.vertices[c.vertex].op
                    if op == "Reshape", c.position == 0, let target = shapeElements(g, g.vertices[c.vertex].inputs[1]),
                       target.count >= 2, target[target.count - 2] == -1, let dim = target.last ?? nil, dim > 0 {
                        return dim
                    }
                    if ["Add", "Mul", "Div"].contains(op) { next.append(c.vertex) }
                }
            }
            frontier = next
        }
        return nil
    }

    /// The elements of a shape input: a small constant, or a Concat of pieces (nil where computed).
    static func shapeElements(_ g: DiffGraph, _ source: DiffGraph.Source) -> [Int64?]? {
        func constant(_ s: DiffGraph.Source) -> [Int64]? {
            guard s.vertex >= 0, let t = g.vertices[s.vertex].tensor, let bytes = DiffGraph.smallValues(t),
                  t.dataType == .int64 || t.dataType == .int32 else { return nil }
            let size = t.dataType == .int64 ? 8 : 4
            return stride(from: 0, to: bytes.count, by: size).map { load(bytes, $0, size) }
        }
        if let c = constant(source) { return c }
        guard source.vertex >= 0, g.vertices[source.vertex].op == "Concat" else { return nil }
        return g.vertices[source.vertex].inputs.flatMap { piece -> [Int64?] in constant(piece).map { $0.map { Optional($0) } } ?? [nil] }
    }

    static func load(_ bytes: [UInt8], _ offset: Int, _ size: Int) -> Int64 {
        var v: Int64 = 0
        for k in 0..<size { v |= Int64(bytes[offset + k]) << (8 * Int64(k)) }
        if size == 4 { v = Int64(Int32(truncatingIfNeeded: v)) }
        return v
    }
}
