/// `--quantize-method gptq` (and `--quantize` with `--repair`): the weights of MatMul, Gemm and
/// pointwise Conv layers rounded by `GPTQ` against their inputs' covariance on calibration samples, instead of
/// to nearest. The result is handed to the quantizer as preset scales and values already on
/// their grids, so every graph form (blocked 4-bit, per-channel 8-bit, dynamic, folded) is
/// written by the same code as rounding to nearest.
///
/// Left to rounding to nearest, with the reason in the report: k×k and grouped convs,
/// weights several layers share, asymmetric integer and fp8 grids, and per-tensor scales.
public struct GPTQWeights {
    public struct Options: Sendable {
        public var source: CalibrationSource?
        public var dims: [String: Int] = [:]
        public var seed: UInt64 = 0
        /// λ of H + λ·mean(diag H)·I (the paper's 1%).
        public var damping = 0.01
        public var clipSearch = true
        /// Rows rounded in decreasing input energy, the groups' scales chosen first (act-order).
        public var activationOrder = true
        /// Bytes of Float64 covariance held at once (more: more evaluator runs).
        public var covarianceBudget = 512 << 20
        public init() {}
    }

    /// A weight's GPTQ values (its stored layout) and scales (the layout's `scaleDims` order), and
    /// the offsets of float zero points in the scales' order.
    struct Preset {
        var values: [Float]
        var scales: [Float]
        var offsets: [Float]? = nil
    }

    struct Result {
        /// The quantized weights by decision index (packed: a float copy of every weight would
        /// double the peak memory of a large model).
        var quantized: [Int: QuantizedTensor] = [:]
        var lines: [String] = []
        var skipped: [String: Int] = [:]
        var source = ""
        /// Mean relative output error of the measured layers (embeddings aside).
        var error = 0.0, nearestError = 0.0
        var measured = 0
        /// Embedding tables rounded with the clipping search.
        var tables = 0
        /// Per decision, E[x]·(W − Ŵ): the mean output shift the rounding leaves, per output
        /// (`BiasCorrection` moves it into the layer's bias).
        var biasShifts: [Int: [Float]] = [:]
    }

    /// Samples generated when no calibration folder is given.
    static let generatedSamples = 8

    /// One layer GPTQ can round: decision `decision`, W read as in×out (`transposed`: stored out×in).
    private struct Layer {
        var decision: Int
        var label: String
        /// nil for an embedding table: its rows are looked up, not multiplied, so each value's
        /// error is its own (H = I: rounding with the clipping search, no compensation).
        var request: InputCovariances.Request?
        var transposed: Bool
        var grid: QuantGrid
        var group: Int
        /// The summed (GPTQ's row) dimension.
        var width: Int
    }

    static func reconstruct(_ decisions: [QuantizeWeightsPass.Decision], model: Model, quantizer: QuantizeWeightsPass.Options,
                            options: Options, reader: ExternalDataReader) throws -> Result {
        guard let graph = model.graph else { return Result() }
        let index = GraphIndex(graph)
        var result = Result()
        var layers: [Layer] = []
        for (k, d) in decisions.enumerated() {
            guard let layer = Self.layer(k, d, index: index, quantizer: quantizer, skipped: &result.skipped) else { continue }
            layers.append(layer)
        }
        guard !layers.isEmpty else { return result }
        var calibration = ActivationQDQPass.Calibration()
        calibration.source = options.source
        calibration.dims = options.dims
        calibration.seed = options.seed
        var measured = 0
        func keep(_ layer: Layer, _ preset: Preset) throws {
            result.quantized[layer.decision] = try QuantizedWeightWriter.quantize(decisions[layer.decision], options: quantizer,
                                                                                  reader: reader, preset: preset)
        }
        func round(_ layer: Layer, second: Matrix, mean: [Double]) throws {
            let d = decisions[layer.decision]
            let array = try NDArray(tensor: d.definition.tensor, reader: reader)
            // (A pointwise conv's [out, in, 1, 1] is its out×in matrix.)
            let stored = Matrix(rows: array.shape[0], cols: array.count / max(array.shape[0], 1), values: array.asFloats.map(Double.init))
            let w = layer.transposed ? stored.transposed : stored
            let gptq = try GPTQ(w, second: second, grid: layer.grid,
                                group: layer.group, damping: options.damping, clipSearch: options.clipSearch,
                                activationOrder: options.activationOrder)
            // Δb_o = Σ_i E[x_i] (W − Ŵ)_io.
            var shift = [Double](repeating: 0, count: w.cols)
            for i in 0..<w.rows where mean[i] != 0 {
                for o in 0..<w.cols { shift[o] += mean[i] * (w[i, o] - gptq.values[i, o]) }
            }
            result.biasShifts[layer.decision] = shift.map(Float.init)
            try keep(layer, preset(gptq, transposed: layer.transposed))
            result.lines.append("\(layer.label): output error \(String(format: "%.2e", gptq.nearestError)) → \(String(format: "%.2e", gptq.error))")
            result.error += gptq.error
            result.nearestError += gptq.nearestError
            measured += 1
        }
        for layer in layers where layer.request == nil {
            // An embedding table: each row's blocks on their own, in Float32 (a vocabulary-sized
            // table is the largest weight of a model).
            var values = try TensorValues.floats(decisions[layer.decision].definition.tensor, reader: reader)
            let (scales, nearest, clipped) = layer.grid.roundRows(&values, rowLength: layer.width, block: layer.group,
                                                                  clipSearch: options.clipSearch)
            try keep(layer, Preset(values: values, scales: scales))
            result.tables += 1
            result.lines.append("\(layer.label): weight error \(String(format: "%.2e", nearest)) → \(String(format: "%.2e", clipped))")
        }
        for chunk in InputCovariances.chunks(layers.compactMap(\.request), budget: options.covarianceBudget) {
            let keys = Set(chunk.map(\.key))
            let grams = try InputCovariances.collect(chunk, model, calibration, generated: generatedSamples, reader: reader,
                                                     source: &result.source)
            for layer in layers {
                guard let key = layer.request?.key, keys.contains(key) else { continue }
                guard let gram = grams[key], gram.rows > 0 else {
                    result.skipped["input not measured (not float)", default: 0] += 1
                    continue
                }
                try round(layer, second: gram.second, mean: gram.mean)
            }
        }
        result.measured = measured
        if measured > 0 { result.error /= Double(measured); result.nearestError /= Double(measured) }
        return result
    }

    /// The GPTQ values and scales in the stored layout: W as stored (out×in when transposed) and
    /// scales in `scaleDims` order ([groups, out] for in×out, [out, groups] for out×in).
    private static func preset(_ g: GPTQ, transposed: Bool) -> Preset {
        let w = transposed ? g.values.transposed : g.values
        let out = g.values.cols
        func stored(_ groupMajor: [Float]) -> [Float] {
            guard transposed && g.groups > 1 else { return groupMajor }
            var columnMajor = groupMajor
            for o in 0..<out { for k in 0..<g.groups { columnMajor[o * g.groups + k] = groupMajor[k * out + o] } }
            return columnMajor
        }
        return Preset(values: w.values.map(Float.init), scales: stored(g.scales), offsets: g.offsets.map(stored))
    }

    private static func layer(_ k: Int, _ d: QuantizeWeightsPass.Decision, index: GraphIndex, quantizer: QuantizeWeightsPass.Options,
                              skipped: inout [String: Int]) -> Layer? {
        func skip(_ reason: String) -> Layer? { skipped[reason, default: 0] += 1; return nil }
        guard let grid = QuantGrid(format: quantizer.format, symmetric: quantizer.symmetric, maxCode: d.maxCode,
                                   floatZeroPoints: d.floatZeroPoints) else {
            return skip("fp8 or asymmetric grid")
        }
        let uses = index.uses(of: d.key)
        let dims = d.definition.tensor.dims
        if !d.lookupUses.isEmpty {
            // A table read by lookups only, blocked along its rows: its values round on their own.
            guard uses.count == d.lookupUses.count, dims.count == 2, d.layout.axis == 1, let block = d.layout.blockSize else {
                return skip("embedding also read as a whole")
            }
            return Layer(decision: k, label: d.key.name, request: nil, transposed: true, grid: grid, group: block, width: Int(dims[1]))
        }
        guard uses.count == 1, let use = uses.first else { return skip("shared by several layers") }
        let node = use.consumer
        // A pointwise conv (1×1, group 1) is a MatMul over the channel axis, every pixel a sample.
        let pointwise = node.opType == "Conv" && dims.count >= 3 && dims[2...].allSatisfy { $0 == 1 } && node.attribute("group")?.i ?? 1 == 1
        guard use.input == 1, node.isDefaultDomain, node.opType == "MatMul" || node.opType == "Gemm" || pointwise,
              pointwise || dims.count == 2,
              index.weight(node.inputs[0], from: use.path) == nil else {
            return skip(node.opType == "Conv" ? "not a pointwise conv (k×k and grouped convs round to nearest)" : "not a MatMul/Gemm/Conv weight")
        }
        var transposed = pointwise
        if node.opType == "Gemm" {
            guard node.attribute("transA")?.i ?? 0 == 0 else { return skip("Gemm with transA") }
            transposed = node.attribute("transB")?.i ?? 0 != 0
        }
        let inputs = Int(transposed ? dims[1] : dims[0])
        // The layout's groups run along the summed axis (blocked) or span it (per channel). (The
        // dynamic form lays out a transB weight transposed, [in, out].)
        let reduction = transposed && !d.transposeForDynamic ? 1 : 0
        let group: Int
        switch (d.layout.axis, d.layout.blockSize) {
        case (reduction?, let block?): group = block
        case (1 - reduction, nil): group = inputs
        default: return skip("per-tensor scales")
        }
        let label = node.name.isEmpty ? node.outputs.first ?? d.key.name : node.name
        return Layer(decision: k, label: label,
                     request: InputCovariances.Request(key: GraphIndex.Key(path: use.path, name: node.inputs[0]), width: inputs,
                                                       axis: pointwise ? 1 : -1),
                     transposed: transposed, grid: grid, group: group, width: inputs)
    }
}
