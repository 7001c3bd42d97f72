/// `--prune-empty-layers`: a layer that loses every unit becomes its residual path plus a constant.
///
///     z = r + (x·W + b)   →   z = r + c,   c = b + μ·W   (μ = E[x] under compensation, else 0)
///
/// x carries only the group's units (the attention context of all heads, the FFN's hidden
/// neurons), so with none left the block adds its mean output: FLAP's compensation of every
/// unit. The residual Add (`ResidualStream`) reads `c` instead of the block, and everything only
/// the block read (its projections, Softmax, activation, shape arithmetic) goes with the
/// patch's orphans.
struct ResidualBypass {
    /// The residual Add and its input that read the block.
    var add: Int
    var input: Int
    var constant: NDArray

    /// The bypass of `g`'s one reduction layer; `mean` is E[x] of the layer input, nil for no
    /// compensation.
    static func find(_ g: ChannelGroup, index: GraphIndex.Scope, values: [String: InferredValue], mean: [Double]?,
                     weight: (String) throws -> NDArray) -> Result<ResidualBypass, ResidualStream.Failure> {
        let stream: ResidualStream
        switch ResidualStream.find(g, index: index, values: values, weight: weight) {
        case .success(let s): stream = s
        case .failure(let f): return .failure(f)
        }
        guard !stream.fused else { return .failure(.init(reason: "onnxruntime's SkipLayerNormalization has no residual Add to bypass into")) }
        guard let r = g.reductions.first, let w = try? weight(r.weight) else { return .failure(.init(reason: "the layer has no weight")) }
        var c = mean.map { w.contraction($0, along: r.weightAxis, outputAxis: stream.outputAxis) }
            ?? [Double](repeating: 0, count: stream.width)
        for b in stream.biases { if let v = try? weight(b).asFloats { for i in c.indices { c[i] += Double(v[i]) } } }
        return .success(ResidualBypass(add: stream.merge, input: stream.slot,
                                       constant: NDArray(floats: c.map { Float($0) }, shape: [stream.width], type: w.dataType)))
    }
}
