/// A float weight of A stored quantized in B: read through DequantizeLinear, an integer MatMul or
/// Conv (dynamic), a Cast·Mul (folded), or gathered as rows — whatever form the quantizer chose.
///
/// Recognised on a region (see GraphDiffer): A's side holds float weights (and the nodes that read
/// them), B's side holds weights of a quantized type (int8, uint8, int4, uint4, fp8, …, or 4-bit
/// codes packed in uint8) with the same number of elements, plus scales, zero points and the
/// nodes that dequantize. One change per quantized weight, with dtype, granularity (per-tensor,
/// per-channel with axis, blocks with size) and form.
enum QuantizedWeightRewrite {
    static let quantizedTypes: Set<DataType> = [.int8, .uint8, .int4, .uint4, .int2, .uint2, .int16, .uint16,
                                                .float8e4m3fn, .float8e4m3fnuz, .float8e5m2, .float8e5m2fnuz, .float4e2m1]

    static func apply(_ d: GraphDiffer) {
        for (r, region) in d.regions.enumerated() where !d.claimedRegions.contains(r) {
            let aFloat = d.tensors(d.a, region.a).filter { d.a.isFloatWeight($0) }
            let bQuant = d.tensors(d.b, region.b).filter { quantizedTypes.contains(d.b.vertices[$0].tensor!.dataType) }
            guard !aFloat.isEmpty, !bQuant.isEmpty else { continue }
            let packed = region.b.contains { ["BitwiseAnd", "BitShift"].contains(d.b.vertices[$0].op) }
            var free = bQuant
            var pairs: [(Int, Int)] = []
            for x in aFloat.sorted(by: { (d.a.vertices[$0].tensor!.elementCount ?? 0) > (d.a.vertices[$1].tensor!.elementCount ?? 0) }) {
                let ta = d.a.vertices[x].tensor!
                guard let n = ta.elementCount, n > 0 else { continue }
                func logical(_ y: Int) -> Int {
                    let t = d.b.vertices[y].tensor!
                    let c = t.elementCount ?? 0
                    return packed && t.dataType == .uint8 ? 2 * c : c
                }
                let candidates = free.filter { logical($0) == n }
                guard !candidates.isEmpty else { continue }
                let name = d.a.vertices[x].name
                let best = candidates.first { d.b.vertices[$0].tensor!.dims == ta.dims && d.b.vertices[$0].name.hasPrefix(name) }
                    ?? candidates.first { d.b.vertices[$0].name.hasPrefix(name) && !name.isEmpty }
                    ?? candidates.first { d.b.vertices[$0].tensor!.dims == ta.dims }
                    ?? candidates[0]
                free.removeAll { $0 == best }
                pairs.append((x, best))
            }
            guard !pairs.isEmpty else { continue }
            d.claim(region: r)
            let paired = Set(pairs.map(\.0))
            for (x, y) in pairs {
                d.add(describe(d, region: region, a: x, b: y, packed: packed))
            }
            // Float weights of A that no quantized weight stands for (beyond tiny constants) are
            // reported on their own: the quantizer does not drop weights.
            for x in aFloat where !paired.contains(x) && (d.a.vertices[x].tensor!.elementCount ?? 0) >= 16 {
                var c = ModelDiff.Change(.weightRemoved, a: [d.a.vertices[x].name], "\(d.a.label(x)) \(GraphText.tensorType(d.a.vertices[x].tensor!))")
                c.aVertices = [x]
                d.add(c)
            }
            // Zero points, nibble masks and the like stay with the rewrite; a quantized weight as
            // large as a paired one that stands for nothing in A is reported.
            let largest = pairs.map { d.b.vertices[$0.1].tensor!.elementCount ?? 0 }.max() ?? 0
            for y in free where 2 * (d.b.vertices[y].tensor!.elementCount ?? 0) >= largest {
                var c = ModelDiff.Change(.weightAdded, b: [d.b.vertices[y].name], "\(d.b.label(y)) \(GraphText.tensorType(d.b.vertices[y].tensor!))")
                c.bVertices = [y]
                d.add(c)
            }
        }
    }

    static func describe(_ d: GraphDiffer, region: GraphDiffer.Region, a x: Int, b y: Int, packed: Bool) -> ModelDiff.Change {
        let ta = d.a.vertices[x].tensor!, tb = d.b.vertices[y].tensor!
        let members = Set(region.b)
        // Walk forward from the quantized weight through the region: the form and, when there is
        // one, the DequantizeLinear that says the granularity.
        var seen: Set<Int> = [y]
        var frontier = [y]
        var ops: [String] = []
        var dql: Int? = nil
        for _ in 0..<8 where !frontier.isEmpty {
            var next: [Int] = []
            for v in frontier {
                for outs in d.b.consumers[v] {
                    for c in outs where members.contains(c.vertex) && seen.insert(c.vertex).inserted {
                        let op = d.b.vertices[c.vertex].op
                        ops.append(op)
                        if op == "DequantizeLinear" && dql == nil { dql = c.vertex }
                        if op != "DequantizeLinear" { next.append(c.vertex) }
                    }
                }
            }
            frontier = next
        }
        let form: String
        if ops.contains("MatMulInteger") { form = "integer MatMul (dynamic activations)" }
        else if ops.contains("ConvInteger") { form = "ConvInteger (dynamic activations)" }
        else if ops.contains("MatMulNBits") { form = "MatMulNBits" }
        else if ops.first == "Gather" { form = dql != nil ? "gathered rows, DequantizeLinear" : "gathered rows, Cast·Mul" }
        else if dql != nil { form = "DequantizeLinear" }
        else if ops.contains("Cast") && ops.contains("Mul") { form = "Cast·Mul (folded at load)" }
        else { form = ops.first ?? "stored" }

        var granularity = "per-tensor"
        var fields: [(String, JSONValue)] = []
        var scaleCount: Int? = nil
        var scaleDims: [Int64] = []
        var asymmetric = false
        var blockSize = 0
        var axis: Int? = nil
        if let q = dql {
            let node = d.b.graph.nodes[d.b.vertices[q].index]
            blockSize = Int(node.attribute("block_size")?.i ?? 0)
            if let s = d.b.vertices[q].inputs.dropFirst().first, let sv = d.b.resolveThroughViews(s), let st = d.b.vertices[sv].tensor {
                scaleCount = st.elementCount
                scaleDims = st.dims
            }
            asymmetric = d.b.vertices[q].inputs.count > 2 && d.b.vertices[q].inputs[2].vertex >= 0
            if scaleCount != 1 { axis = Int(node.attribute("axis")?.i ?? 1) }
        }
        if scaleCount == nil, let (s, dims, zp) = nearestScale(d, from: y, members: members, logical: ta.elementCount ?? 0) {
            scaleCount = s
            scaleDims = dims
            asymmetric = zp
        }
        let n = ta.elementCount ?? 0
        if let s = scaleCount, s > 1 {
            if blockSize > 0 || (!ta.dims.contains(Int64(s)) && n % s == 0 && !ta.dims.isEmpty && s != n) {
                if blockSize == 0 { blockSize = n / s }
                granularity = "blocks of \(blockSize)"
            } else {
                if axis == nil, scaleDims.count == ta.dims.count, let k = scaleDims.indices.first(where: { scaleDims[$0] == Int64(s) && ta.dims[$0] == Int64(s) }) { axis = k }
                if axis == nil, let k = ta.dims.lastIndex(of: Int64(s)) { axis = k }
                granularity = "per-channel" + (axis.map { " (axis \($0))" } ?? "")
            }
        }
        let dtype = packed && tb.dataType == .uint8 ? "4-bit (packed in uint8)" : tb.dataType.description
        let consumerA = d.a.consumers[x].first?.first.map { d.a.label($0.vertex) }
        var detail = "\(d.a.vertices[x].name) \(GraphText.tensorType(ta)) → \(dtype)"
        detail += ", \(granularity)\(asymmetric ? ", asymmetric" : ""), \(form)"
        fields = [("dtype", .string(packed && tb.dataType == .uint8 ? "4-bit" : tb.dataType.description)),
                  ("granularity", .string(granularity.hasPrefix("blocks") ? "block" : granularity.hasPrefix("per-channel") ? "per-channel" : "per-tensor")),
                  ("axis", axis.map { .int($0) } ?? .null),
                  ("block_size", blockSize > 0 ? .int(blockSize) : .null),
                  ("asymmetric", .bool(asymmetric)),
                  ("form", .string(form)),
                  ("shape", .array(ta.dims.map { .int(Int($0)) })),
                  ("bytes_a", .int(ta.dataByteCount)), ("bytes_b", .int(tb.dataByteCount))]
        if let consumerA { fields.append(("node", .string(consumerA))) }
        var c = ModelDiff.Change(.quantized, a: [d.a.vertices[x].name], b: [d.b.vertices[y].name], detail, fields: fields)
        c.aVertices = region.a
        c.bVertices = region.b
        return c
    }

    /// The scale nearest to a quantized weight inside its region (undirected, not through
    /// DynamicQuantizeLinear, which several weights share): its element count, and whether an
    /// integer zero point of that count sits beside it.
    static func nearestScale(_ d: GraphDiffer, from y: Int, members: Set<Int>, logical: Int) -> (Int, [Int64], Bool)? {
        var seen: Set<Int> = [y]
        var frontier = [y]
        let g = d.b
        for _ in 0..<10 where !frontier.isEmpty {
            var next: [Int] = []
            var found: (Int, [Int64])? = nil
            var zp = false
            for v in frontier {
                var around: [Int] = g.vertices[v].inputs.filter { $0.vertex >= 0 }.map(\.vertex)
                for outs in g.consumers[v] { around += outs.map(\.vertex) }
                for w in around where members.contains(w) && seen.insert(w).inserted {
                    let vx = g.vertices[w]
                    if let t = vx.tensor, w != y {
                        if TensorValues.floatTypes.contains(t.dataType), let c = t.elementCount, c < logical, found == nil { found = (c, t.dims) }
                        if !TensorValues.floatTypes.contains(t.dataType), quantizedTypes.contains(t.dataType), let c = t.elementCount, c < logical / 2 { zp = true }
                        continue
                    }
                    if vx.op == "DynamicQuantizeLinear" { continue }
                    next.append(w)
                }
            }
            if let found { return (found.0, found.1, zp) }
            frontier = next
        }
        return nil
    }
}
