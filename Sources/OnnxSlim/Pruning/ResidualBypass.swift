/// `--prune-empty-layers`: a layer that loses every unit becomes its residual path plus a constant.
///
///     y = r + (x·W + b)   →   y = r + c,   c = b + μ·W   (μ = E[x] under compensation, else 0)
///
/// x carries only the group's units (the attention context of all heads, the FFN's hidden
/// neurons), so with none left the block adds its mean output: FLAP's compensation of every
/// unit. The residual Add reads `c` instead of the block, and everything only the block read
/// (its projections, Softmax, activation, shape arithmetic) goes with the patch's orphans.
struct ResidualBypass {
    /// The residual Add and its input that read the block.
    var add: Int
    var input: Int
    var constant: NDArray

    struct Failure: Error { var reason: String }

    /// The bypass of `g`'s one reduction layer (a MatMul with its bias Add, or a Gemm with C)
    /// into the residual Add after it; `mean` is E[x] of the layer input, nil for no compensation.
    static func find(_ g: ChannelGroup, index: GraphIndex.Scope, values: [String: InferredValue], mean: [Double]?,
                     weight: (String) throws -> NDArray) -> Result<ResidualBypass, Failure> {
        guard g.reductions.count == 1, let r = g.reductions.first else {
            return .failure(Failure(reason: "more than one layer reads the units"))
        }
        let node = index.nodes[r.node]
        let isGemm = node.opType == "Gemm" && node.attribute("transA")?.i ?? 0 == 0
        guard node.isDefaultDomain, node.opType == "MatMul" || isGemm, node.inputs.count > 1, node.inputs[1] == r.weight,
              let w = try? weight(r.weight), w.rank == 2 else {
            return .failure(Failure(reason: "the layer reading the units is not a MatMul or Gemm"))
        }
        let outputAxis = isGemm && node.attribute("transB")?.i ?? 0 != 0 ? 0 : 1
        let width = w.shape[outputAxis]
        var c = mean.map { w.contraction($0, along: r.weightAxis, outputAxis: outputAxis) } ?? [Double](repeating: 0, count: width)
        func addBias(_ name: String) -> Bool {
            guard let b = try? weight(name), b.count == width, b.kind == .float else { return false }
            for (i, v) in b.asFloats.enumerated() { c[i] += Double(v) }
            return true
        }
        /// The one reader of `value` (nil when several, or a graph output).
        func onlyReader(_ value: String) -> (node: Int, slot: Int)? {
            guard !index.graphOutputs.contains(value), let readers = index.readers[value], readers.count == 1 else { return nil }
            return (readers[0].node, readers[0].slot)
        }
        if isGemm, node.inputs.count > 2, !node.inputs[2].isEmpty, !addBias(node.inputs[2]) {
            return .failure(Failure(reason: "the Gemm's bias is not one per output"))
        }
        var value = node.outputs[0]
        let shared = Failure(reason: "the layer's output is read by more than the residual path")
        guard var next = onlyReader(value) else { return .failure(shared) }
        // MatMul's bias Add.
        let first = index.nodes[next.node]
        if first.opType == "Add", first.isDefaultDomain, addBias(first.inputs[1 - next.slot]) {
            value = first.outputs[0]
            guard let after = onlyReader(value) else { return .failure(shared) }
            next = after
        }
        let add = index.nodes[next.node]
        let residual = add.inputs[1 - next.slot]
        guard add.opType == "Add", add.isDefaultDomain, (try? weight(residual)) == nil,
              let shape = values[residual]?.shape, shape == values[add.outputs[0]]?.shape else {
            return .failure(Failure(reason: "no residual Add after the layer (onnxruntime's SkipLayerNormalization is not one)"))
        }
        return .success(ResidualBypass(add: next.node, input: next.slot,
                                       constant: NDArray(floats: c.map { Float($0) }, shape: [width], type: w.dataType)))
    }
}
