import Foundation

/// `--low-rank R` / `--low-rank-energy E`: dense layers factored into two MatMuls,
/// MatMul(x, W) → MatMul(MatMul(x, A), B), by activation-aware (whitened) SVD.
///
/// 1. Layers: `DenseLayers` (MatMul, Gemm and pointwise Conv with a float32 weight of their
///    own, in the main graph and in subgraphs).
/// 2. Statistics: E[x xᵀ] of each layer's input on calibration samples (`--calibration DIR`,
///    else generated), in Float64, collected in as many evaluator runs as the memory bound
///    needs (`gramBudget`). `--low-rank-data none` skips them: plain SVD of W.
/// 3. Spectra: `WhitenedSVD` of each layer; σ_i² is the output energy component i carries.
/// 4. Ranks: `RankAllocation` under one budget across layers (R of the layers' parameters), or
///    per layer the smallest rank keeping E of the output energy; multiples of `--round-to`, and
///    only ranks that save parameters.
/// 5. One `GraphPatch`: W becomes B (same name, so `diff` pairs the layer), A is a new
///    initializer read by a MatMul inserted before the layer.
public struct LowRankPass: LayerCompressingPass {
    public enum DataSource: String, Sendable, CaseIterable { case activations, none }

    public struct Options {
        /// Fraction of the factorable layers' parameters kept.
        public var keep: Double?
        /// Per layer, the share of its output energy kept.
        public var energy: Double?
        public var data: DataSource = .activations
        public var roundTo = 8
        public var ops: Set<String> = ["MatMul", "Gemm", "Conv"]
        public var exclude: NSRegularExpression?
        /// λ of the damped input covariance G + λ·mean(diag G)·I.
        public var damping = 0.01
        public var calibration = ActivationQDQPass.Calibration()
        /// Bytes of Float64 covariance held at once (more layers: more evaluator runs; SmolLM2's
        /// 120 layer inputs need 405 MB, its model 540 MB).
        public var gramBudget = 512 << 20
        public init() {}
    }

    public var options: Options
    public init(_ options: Options) { self.options = options }

    public var name: String { "low-rank" }
    public var summary: String { "Factors dense layers into two low-rank MatMuls by whitened SVD, with ranks chosen across layers under one budget." }
    public func requiredOpset(_ model: Model) throws -> Int64 { 1 }

    /// Samples generated when no calibration folder is given.
    public static let generatedSamples = 8

    public func run(_ model: inout Model, _ context: PassContext) throws -> PassOutcome {
        guard let graph = model.graph else { return PassOutcome(name: name, changed: false, summary: []) }
        let index = GraphIndex(graph)
        let (layers, skippedCounts) = DenseLayers.find(index, ops: options.ops, exclude: options.exclude)
        let skipped = skippedCounts.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }
        let worthIt = layers.filter { RankAllocation.maxRank(inputs: $0.inputs, outputs: $0.outputs, roundTo: options.roundTo) > 0 }
        guard !worthIt.isEmpty else {
            return PassOutcome(name: name, changed: false, summary: [layers.isEmpty ? "no layer to factor" : "no layer is large enough to factor"],
                               skipped: skipped)
        }
        func matrix(_ l: DenseLayer) throws -> Matrix { try l.weightMatrix(index, context.reader) }
        let requests = Dictionary(worthIt.map { ($0.inputKey, $0.covariance) }, uniquingKeysWith: { a, _ in a })
        func collect(_ keys: Set<GraphIndex.Key>, source: inout String) throws -> [GraphIndex.Key: ActivationStatistics.Gram] {
            try InputCovariances.collect(keys.compactMap { requests[$0] }, model, options.calibration, generated: Self.generatedSamples,
                                         reader: context.reader, source: &source)
        }

        // Spectra (and, when every covariance fits at once, the covariances for step 5).
        var spectra: [[Double]] = []
        var kept: [GraphIndex.Key: ActivationStatistics.Gram] = [:]
        var source = "weights only (plain SVD, --low-rank-data none)"
        let inputs = Self.chunks(worthIt, budget: options.gramBudget)
        if options.data == .activations {
            var byLayer: [Int: [Double]] = [:]
            for chunk in inputs {
                let seconds = try collect(chunk, source: &source)
                for (k, l) in worthIt.enumerated() where chunk.contains(l.inputKey) {
                    byLayer[k] = try WhitenedSVD(try matrix(l), second: seconds[l.inputKey]?.second, damping: options.damping).spectrum()
                }
                if inputs.count == 1 { kept = seconds }
            }
            spectra = worthIt.indices.map { byLayer[$0] ?? [] }
        } else {
            spectra = try worthIt.map { try WhitenedSVD(try matrix($0), second: nil, damping: 0).spectrum() }
        }

        let allocation = worthIt.indices.map { RankAllocation.Layer(inputs: worthIt[$0].inputs, outputs: worthIt[$0].outputs, spectrum: spectra[$0]) }
        let ranks = options.energy.map { RankAllocation.byEnergy(allocation, energy: $0, roundTo: options.roundTo) }
            ?? RankAllocation.underBudget(allocation, keep: options.keep ?? 1, roundTo: options.roundTo)
        let chosen = worthIt.indices.filter { ranks[$0] != nil }
        guard !chosen.isEmpty else {
            return PassOutcome(name: name, changed: false, summary: ["every layer stays dense at this budget"], skipped: skipped)
        }

        // Factors of the chosen layers, their covariances collected again if they were dropped.
        var patch = GraphPatch("low-rank")
        var names = NameAllocator(model)
        var before = 0, after = 0, unmeasured = 0
        let pending = Set(chosen.map { worthIt[$0].inputKey })
        let collected = !kept.isEmpty
        // Each covariance is released after the last layer reading its input is factored.
        var seconds = kept.filter { pending.contains($0.key) }
        kept = [:]
        var lastUse: [GraphIndex.Key: Int] = [:]
        for k in chosen { lastUse[worthIt[k].inputKey] = k }
        for chunk in (options.data == .none || collected ? [pending] : Self.chunks(chosen.map { worthIt[$0] }, budget: options.gramBudget)) {
            if options.data == .activations && !collected { seconds = try collect(chunk, source: &source) }
            for k in chosen where chunk.contains(worthIt[k].inputKey) {
                let l = worthIt[k], r = ranks[k]!
                let second = options.data == .none ? nil : seconds[l.inputKey]?.second
                if options.data == .activations && second == nil { unmeasured += 1 }
                if lastUse[l.inputKey] == k { seconds[l.inputKey] = nil }
                let svd = try WhitenedSVD(try matrix(l), second: second, damping: options.damping)
                let (a, b) = try svd.factors(rank: r)
                rewrite(l, a: a, b: b, node: index[l.path]!.nodes[l.node], patch: &patch, names: &names)
                let dense = l.inputs * l.outputs, factored = r * (l.inputs + l.outputs)
                before += dense
                after += factored
                // (The spectrum is step 3's: the second whitening is only for the factors.)
                let energy = 1 - allocation[k].loss(rank: r) / max(allocation[k].total, .leastNormalMagnitude)
                patch.note("\(l.path == .main ? "" : "[\(graph.describe(l.path))] ")\(l.label): \(l.inputs)×\(l.outputs) → rank \(r), parameters \(dense) → \(factored), "
                           + "\(options.data == .none ? "weight" : "output") energy kept \(String(format: "%.4f", energy))")
            }
        }
        model = try patch.applied(to: model)
        let total = worthIt.reduce(0) { $0 + $1.inputs * $1.outputs }
        var summary = ["\(chosen.count) of \(worthIt.count) layers factored, their parameters \(before) → \(after)",
                       "factorable layers' parameters \(total) → \(total - before + after) (\(String(format: "%.3f", Double(total - before + after) / Double(total))))"]
        summary.append(options.data == .none ? "plain SVD of the weights (--low-rank-data none)" : "whitened by input covariance on \(source)")
        // An input the calibration never produced as float32 (a float16 activation) has no covariance.
        if unmeasured > 0 { summary.append("\(unmeasured) layers' inputs were not measured: plain SVD for them") }
        return PassOutcome(name: name, changed: true, summary: summary, skipped: skipped, details: patch.record.lines)
    }

    /// x → layer(x, W) becomes x → MatMul(x, A) → layer(·, B): W's name now holds B (in W's
    /// layout: transposed for Gemm transB; [out, r, 1…] for Conv, the first Conv taking the
    /// strides and pads, the second pointwise with none).
    func rewrite(_ l: DenseLayer, a: Matrix, b: Matrix, node: Node, patch: inout GraphPatch,
                 names: inout NameAllocator) {
        let aName = names.fresh(l.weight + "_low_rank_a"), hidden = names.fresh(l.label + "_low_rank")
        var first = Node("MatMul", inputs: [node.inputs[0], aName], outputs: [hidden], name: hidden)
        var aTensor = a.ndarray(type: l.dataType).tensor(name: aName)
        var bTensor = (l.transposed ? b.transposed : b).ndarray(type: l.dataType).tensor(name: l.weight)
        if l.isConv {
            let kernel = [Int64](repeating: 1, count: l.spatial)
            aTensor = a.transposed.ndarray(type: l.dataType).tensor(name: aName)
            aTensor.dims = [Int64(a.cols), Int64(a.rows)] + kernel
            bTensor.dims = [Int64(b.cols), Int64(b.rows)] + kernel
            first = Node("Conv", inputs: [node.inputs[0], aName], outputs: [hidden], name: hidden, attributes: node.attributes)
            patch.add(.setAttribute(l.path, node: l.node, .ints("strides", [Int64](repeating: 1, count: l.spatial))))
            patch.add(.setAttribute(l.path, node: l.node, .ints("pads", [Int64](repeating: 0, count: 2 * l.spatial))))
            if node.attribute("auto_pad") != nil { patch.add(.setAttribute(l.path, node: l.node, .string("auto_pad", "NOTSET"))) }
        }
        patch.add(.addInitializer(l.path, aTensor))
        patch.add(.insertNodes(l.path, [first], before: l.node))
        patch.add(.rewire(l.path, node: l.node, input: 0, to: hidden))
        patch.add(.replaceWeight(l.weightKey, bTensor))
    }

    /// The layers' distinct inputs in groups whose covariances fit `budget`.
    static func chunks(_ layers: [DenseLayer], budget: Int) -> [Set<GraphIndex.Key>] {
        InputCovariances.chunks(layers.map(\.covariance), budget: budget).map { Set($0.map(\.key)) }
    }
}

extension DenseLayer {
    var covariance: InputCovariances.Request { InputCovariances.Request(key: inputKey, width: inputs, axis: featureAxis) }
}
