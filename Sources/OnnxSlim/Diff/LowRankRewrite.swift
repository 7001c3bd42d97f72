/// A dense layer factored into two: A's MatMul/Gemm reads W (m×n), B computes the same output
/// with two MatMul/Gemm reading U (m×r) and V (r×n). Recognised either on a region (both B
/// layers new) or on a matched layer whose weight shrank to U or V with the other factor's layer
/// added beside it. One change per factored weight, with the rank.
enum LowRankRewrite {
    static let denseOps: Set<String> = ["MatMul", "Gemm"]

    /// The rank r when `u` and `v` (2-D) are factors of `w` (2-D, either orientation).
    static func rank(_ w: [Int64], _ u: [Int64], _ v: [Int64]) -> Int64? {
        guard w.count == 2, u.count == 2, v.count == 2 else { return nil }
        let (m, n) = (w[0], w[1])
        for (p, q) in [(u, v), (v, u)] {
            // p = [m, r], q = [r, n]  or transposed forms p = [r, m], q = [n, r].
            if p[0] == m, q[1] == n, p[1] == q[0], p[1] < min(m, n) { return p[1] }
            if p[1] == m, q[0] == n, p[0] == q[1], p[0] < min(m, n) { return p[0] }
        }
        return nil
    }

    static func apply(_ d: GraphDiffer) {
        // (i) regions: A layer(s) with W, B layers with U and V.
        for (r, region) in d.regions.enumerated() where !d.claimedRegions.contains(r) {
            let aw = d.tensors(d.a, region.a).filter { d.a.isFloatWeight($0) && d.a.vertices[$0].tensor!.dims.count == 2 }
            var bw = d.tensors(d.b, region.b).filter { d.b.isFloatWeight($0) && d.b.vertices[$0].tensor!.dims.count == 2 }
            guard !aw.isEmpty, bw.count >= 2,
                  region.a.contains(where: { denseOps.contains(d.a.vertices[$0].op) }),
                  region.b.contains(where: { denseOps.contains(d.b.vertices[$0].op) }) else { continue }
            var found: [(Int, Int, Int, Int64)] = []
            for x in aw {
                let w = d.a.vertices[x].tensor!.dims
                outer: for (i, u) in bw.enumerated() {
                    for v in bw[(i + 1)...] {
                        if let k = rank(w, d.b.vertices[u].tensor!.dims, d.b.vertices[v].tensor!.dims) {
                            found.append((x, u, v, k))
                            bw.removeAll { $0 == u || $0 == v }
                            break outer
                        }
                    }
                }
            }
            guard !found.isEmpty, found.count == aw.count else { continue }
            d.claim(region: r)
            for (x, u, v, k) in found {
                d.add(change(d, x, u, v, k, aVertices: region.a, bVertices: region.b))
            }
        }
        // (ii) a matched layer whose weight became one factor, the other factor's layer added.
        for (k, wc) in d.weightChanges.enumerated() where !d.claimedWeights.contains(k) {
            guard wc.ta.dims.count == 2, wc.tb.dims.count == 2, wc.shapeChanged,
                  TensorValues.floatTypes.contains(wc.tb.dataType) else { continue }
            let layersB = d.b.consumers[wc.b].first?.map(\.vertex).filter { denseOps.contains(d.b.vertices[$0].op) } ?? []
            guard let lb = layersB.first, let la = d.m.partner(ofB: lb) else { continue }
            for (r, region) in d.regions.enumerated() where !d.claimedRegions.contains(r) {
                let adjacent = region.consumers.contains { $0.1 == lb || $0.0 == la }
                    || region.b.contains { v in d.b.vertices[v].inputs.contains { $0.vertex == lb } }
                guard adjacent, region.b.contains(where: { denseOps.contains(d.b.vertices[$0].op) }) else { continue }
                let others = d.tensors(d.b, region.b).filter { d.b.isFloatWeight($0) && d.b.vertices[$0].tensor!.dims.count == 2 }
                guard let z = others.first(where: { rank(wc.ta.dims, wc.tb.dims, d.b.vertices[$0].tensor!.dims) != nil }) else { continue }
                let rk = rank(wc.ta.dims, wc.tb.dims, d.b.vertices[z].tensor!.dims)!
                d.claim(region: r)
                d.claimedWeights.insert(k)
                d.add(change(d, wc.a, wc.b, z, rk, aVertices: [wc.a, la] + region.a, bVertices: [wc.b, lb] + region.b))
                break
            }
        }
    }

    static func change(_ d: GraphDiffer, _ x: Int, _ u: Int, _ v: Int, _ k: Int64, aVertices: [Int], bVertices: [Int]) -> ModelDiff.Change {
        let tw = d.a.vertices[x].tensor!, tu = d.b.vertices[u].tensor!, tv = d.b.vertices[v].tensor!
        let before = (tw.elementCount ?? 0), after = (tu.elementCount ?? 0) + (tv.elementCount ?? 0)
        let layer = d.a.consumers[x].first?.first.map { d.a.label($0.vertex) } ?? d.a.weightName(x)
        var c = ModelDiff.Change(.lowRank, a: [d.a.weightName(x)], b: [d.b.weightName(u), d.b.weightName(v)],
                                 "\(layer): \(GraphText.tensorType(tw)) factored into \(GraphText.tensorType(tu)) · \(GraphText.tensorType(tv)), rank \(k) (\(Formatting.count(before)) → \(Formatting.count(after)) parameters)",
                                 fields: [("rank", .int(Int(k))), ("node", .string(layer)),
                                          ("shape", .array(tw.dims.map { .int(Int($0)) })),
                                          ("parameters_a", .int(before)), ("parameters_b", .int(after))])
        c.aVertices = aVertices
        c.bVertices = bVertices
        return c
    }
}
