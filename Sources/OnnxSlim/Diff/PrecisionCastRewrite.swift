/// Float16 / bfloat16 conversion: float32 weights stored as float16 (or bfloat16) in B, with Cast
/// nodes at the boundaries (graph inputs and outputs, around operators kept in float32), Casts
/// and constants retyped, and float32 tensors stored as float16 and widened by a Cast at load.
/// One change for the whole conversion, with counts; the Casts are not listed as added nodes.
enum PrecisionCastRewrite {
    static let halfTypes: Set<DataType> = [.float16, .bfloat16]

    static func isFloatType(_ to: Int64) -> Bool { [1, 10, 11, 16].contains(to) }

    static func apply(_ d: GraphDiffer) {
        var converted: [Int] = []          // weight changes float32 → half, same shape
        var target: [String: Int] = [:]
        for (k, wc) in d.weightChanges.enumerated() where !d.claimedWeights.contains(k) {
            guard wc.dtypeChanged, !wc.shapeChanged, TensorValues.floatTypes.contains(wc.ta.dataType),
                  TensorValues.floatTypes.contains(wc.tb.dataType) else { continue }
            converted.append(k)
            target[wc.tb.dataType.description, default: 0] += 1
        }
        // float32 tensors stored as half and widened by a Cast: region A = {W}, B = {Cast, W16}.
        var widened: [Int] = []
        for (r, region) in d.regions.enumerated() where !d.claimedRegions.contains(r) {
            guard region.a.count == 1, let ta = d.a.vertices[region.a[0]].tensor, ta.dataType == .float,
                  region.b.count == 2 else { continue }
            let casts = region.b.filter { d.b.vertices[$0].op == "Cast" }
            let halves = region.b.filter { d.b.vertices[$0].tensor.map { halfTypes.contains($0.dataType) && $0.dims == ta.dims } ?? false }
            if casts.count == 1, halves.count == 1 {
                widened.append(r)
                target[d.b.vertices[halves[0]].tensor!.dataType.description, default: 0] += 1
            }
        }
        guard !converted.isEmpty || !widened.isEmpty else { return }
        // Casts added or removed on their own (boundaries), and Casts/constants retyped.
        var casts: [Int] = []
        for (r, region) in d.regions.enumerated() where !d.claimedRegions.contains(r) && !widened.contains(r) {
            let all = region.a.map { (d.a, $0) } + region.b.map { (d.b, $0) }
            if !all.isEmpty && all.allSatisfy({ g, v in g.vertices[v].op == "Cast" }) { casts.append(r) }
        }
        var retyped: [Int] = []
        if !converted.isEmpty {
            for (k, nc) in d.nodeChanges.enumerated() where !d.claimedNodes.contains(k) && nc.inputs.isEmpty {
                let ok = nc.attributes.allSatisfy { attr in
                    let na = d.a.graph.nodes[d.a.vertices[nc.a].index], nb = d.b.graph.nodes[d.b.vertices[nc.b].index]
                    guard let x = na.attribute(attr.name), let y = nb.attribute(attr.name) else { return false }
                    if x.type == .int, attr.name == "to" || attr.name == "dtype" { return isFloatType(x.i) && isFloatType(y.i) }
                    if x.type == .tensor, let t = x.t, let u = y.t { return t.dims == u.dims && TensorValues.floatTypes.contains(t.dataType) && TensorValues.floatTypes.contains(u.dataType) }
                    return false
                }
                if ok { retyped.append(k) }
            }
        }
        let name = target.sorted { $0.value > $1.value }.first?.key ?? "float16"
        let castCount = casts.reduce(0) { $0 + d.regions[$1].b.count }
        let removedCasts = casts.reduce(0) { $0 + d.regions[$1].a.count }
        var parts: [String] = []
        if !converted.isEmpty { parts.append("\(converted.count) weight\(converted.count == 1 ? "" : "s") converted") }
        if !widened.isEmpty { parts.append("\(widened.count) weight\(widened.count == 1 ? "" : "s") stored as \(name) and widened by a Cast") }
        if castCount > 0 { parts.append("\(castCount) Cast\(castCount == 1 ? "" : "s") inserted") }
        if removedCasts > 0 { parts.append("\(removedCasts) Cast\(removedCasts == 1 ? "" : "s") removed") }
        if !retyped.isEmpty { parts.append("\(retyped.count) node\(retyped.count == 1 ? "" : "s") retyped") }
        let bytesA = converted.reduce(0) { $0 + d.weightChanges[$1].ta.dataByteCount } + widened.reduce(0) { $0 + (d.a.vertices[d.regions[$1].a[0]].tensor?.dataByteCount ?? 0) }
        let bytesB = converted.reduce(0) { $0 + d.weightChanges[$1].tb.dataByteCount } + widened.reduce(0) { r, k in r + d.regions[k].b.reduce(0) { $0 + (d.b.vertices[$1].tensor?.dataByteCount ?? 0) } }
        let widenedA = widened.map { d.a.vertices[d.regions[$0].a[0]].name }
        let widenedB = widened.compactMap { r in d.regions[r].b.first { d.b.holdsTensor($0) }.map { d.b.vertices[$0].name } }
        var c = ModelDiff.Change(.precision, a: converted.map { d.a.vertices[d.weightChanges[$0].a].name } + widenedA,
                                 b: converted.map { d.b.vertices[d.weightChanges[$0].b].name } + widenedB,
                                 "float32 → \(name): " + parts.joined(separator: ", "),
                                 fields: [("dtype", .string(name)), ("weights", .int(converted.count)), ("widened", .int(widened.count)),
                                          ("casts_inserted", .int(castCount)), ("casts_removed", .int(removedCasts)),
                                          ("nodes_retyped", .int(retyped.count)), ("bytes_a", .int(bytesA)), ("bytes_b", .int(bytesB))])
        for k in converted { d.claimedWeights.insert(k); c.aVertices.append(d.weightChanges[k].a); c.bVertices.append(d.weightChanges[k].b) }
        for r in widened + casts { d.claim(region: r); c.aVertices += d.regions[r].a; c.bVertices += d.regions[r].b }
        for k in retyped { d.claimedNodes.insert(k); c.aVertices.append(d.nodeChanges[k].a); c.bVertices.append(d.nodeChanges[k].b) }
        d.add(c)
    }
}
