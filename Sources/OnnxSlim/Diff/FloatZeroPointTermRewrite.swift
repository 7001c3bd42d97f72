/// The offset term of int4 weights with float zero points (`FloatZeroPointTerms`): in B, a
/// region of added nodes and weights only — X·B block sums, their MatMul with the offsets, and
/// the Add after the layer's product — with nothing of A beside it. Recognised after
/// `QuantizedWeightRewrite`: the region is claimed and the weight's quantized change says
/// "float zero points", instead of the term's nodes being listed as unrelated additions.
enum FloatZeroPointTermRewrite {
    static let termOps: Set<String> = ["MatMul", "Add", "Cast"]

    static func apply(_ d: GraphDiffer) {
        for (r, region) in d.regions.enumerated() where !d.claimedRegions.contains(r) && region.a.isEmpty && !region.b.isEmpty {
            let nodes = d.computeNodes(d.b, region.b)
            guard !nodes.isEmpty, nodes.allSatisfy({ termOps.contains(d.b.vertices[$0].op) }) else { continue }
            let members = Set(region.b)
            // Each Add that joins a layer's product (outside the region) to the term's MatMul.
            var weights: [String] = []
            for v in nodes where d.b.vertices[v].op == "Add" {
                for source in d.b.vertices[v].inputs where source.vertex >= 0 && !members.contains(source.vertex) {
                    let product = d.b.vertices[source.vertex]
                    guard product.op == "MatMul" || product.op == "Gemm", product.inputs.count > 1,
                          product.inputs[1].vertex >= 0, d.b.vertices[product.inputs[1].vertex].op == "DequantizeLinear" else { continue }
                    weights.append(d.b.vertices[product.inputs[1].vertex].outputs.first ?? "")
                }
            }
            guard !weights.isEmpty else { continue }
            d.claim(region: r)
            for k in d.changes.indices where d.changes[k].kind == .quantized && weights.contains(where: { d.changes[k].a.contains($0) }) {
                d.changes[k].detail += ", float zero points (offsets added by a block-sum MatMul)"
                d.changes[k].fields.append(("float_zero_points", .bool(true)))
                d.changes[k].bVertices += region.b
            }
        }
    }
}
