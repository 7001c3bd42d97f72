/// `--smoothing auto|off|α`, and `--int8-mode auto`'s choice of which MatMuls quantize their
/// activations: before int8 weights become integer MatMuls (the dynamic form), measure each
/// group of MatMuls reading one activation X on calibration rows, then
///
/// 1. move activation outliers into the weights, per input channel (SmoothQuant; math in
///    `SmoothingScales`):
///
///        before:  X ──────────────────────────→ MatMul(·, W)
///        after:   X → Mul(·, 1/s) → X_smoothed → MatMul(·, diag(s)·W)
///
///    exact in float; the weight quantizer then sees diag(s)·W. α is chosen per group by the
///    simulated integer-product error;
/// 2. with an error budget (`--int8-mode auto`), keep float activations for the groups whose
///    remaining error would overspend it (`IntegerErrorBudget`): their weights are stored folded
///    (`PassContext.floatActivationWeights`), and they are not smoothed.
///
/// Calibration rows come from `--calibration DIR`, else generated inputs whose symbolic dims
/// other than the first take `generatedLength`, since one-token sequences show nothing of
/// attention's statistics. When the model cannot be run on them, nothing changes and the report
/// says why: this pass never makes `--quantize` fail.
public struct ActivationSmoothingPass: ModelPass {
    public var name: String { "integer MatMul calibration" }
    public var summary: String { "Measures the integer MatMuls on calibration rows: smoothing scales per activation channel, and which MatMuls keep float activations under the error budget." }
    public func requiredOpset(_ model: Model) throws -> Int64 { 1 }

    /// The weight pass that will run next: its plan says which weights become integer MatMuls.
    public var quantizer: QuantizeWeightsPass
    public var smoothing: SmoothingStrength
    /// Σ relative error the integer MatMuls may add (`IntegerErrorBudget`); nil: every
    /// dynamic-form weight stays dynamic (`--int8-mode dynamic`).
    public var errorBudget: Double?
    public var calibration = ActivationQDQPass.Calibration()
    /// Generated samples: symbolic sequence dims take `generatedLength` (`fallbackLength` when
    /// the model cannot run on it), over as many samples as make `generatedRows` positions.
    /// Measured on SmolLM2-135M: the layers that need float activations on text show as such on
    /// 4 generated sequences of 128 tokens (perplexity +4% at the standard budget) but not on 16 of
    /// 16 (+8%).
    public static let generatedLength = 128
    public static let fallbackLength = 16
    public static let generatedRows = 512
    /// Generated samples of a model without sequence dims (images).
    public static let generatedSamples = 16
    /// Calibration rows kept per activation (bounded memory), spread over the samples.
    public static let rowBudget = 512
    /// Fewer calibration rows than this (a CNN's pooled features: one row per image) say too
    /// little about which channels are systematically large: such activations are left alone.
    /// Measured: Open-NSFW's classifier input smoothed from 16 generated images got worse on photos.
    public static let minimumRows = 128

    public init(quantizer: QuantizeWeightsPass, smoothing: SmoothingStrength = .search, errorBudget: Double? = nil) {
        self.quantizer = quantizer
        self.smoothing = smoothing
        self.errorBudget = errorBudget
    }

    /// One activation and the dynamic-form MatMuls reading it.
    struct Group {
        var activation: String
        var nodes: [Int]            // main-graph node indices
        var initializers: [Int]     // their weights' initializer indices
        /// How the weight pass will quantize them (the same for every dynamic-form weight).
        var layout: QuantLayout
        var maxCode: Int?
    }

    func groups(_ model: Model) throws -> (groups: [Group], skipped: [String: Int]) {
        let plan = try quantizer.plan(model)
        let graph = model.mainGraph
        let weights = Set(graph.initializers.map(\.name))
        var byActivation: [String: Group] = [:]
        var order: [String] = []
        var skipped: [String: Int] = [:]
        for d in plan.decisions where d.form == .dynamic {
            guard d.definition.path == .main, case .initializer(let index) = d.definition.origin,
                  d.definition.tensor.dataType == .float, d.definition.tensor.dims.count == 2,
                  d.dynamicUses.count == 1, d.lookupUses.isEmpty, !d.definition.isGraphInput,
                  let use = d.dynamicUses.first, use.consumer.opType == "MatMul", use.input == 1,
                  let x = use.consumer.inputs.first, !x.isEmpty, !weights.contains(x) else {
                skipped["weight shared, in a subgraph or not a MatMul's", default: 0] += 1
                continue
            }
            if byActivation[x] == nil {
                order.append(x)
                byActivation[x] = Group(activation: x, nodes: [], initializers: [], layout: d.layout, maxCode: d.maxCode)
            }
            byActivation[x]!.nodes.append(use.node)
            byActivation[x]!.initializers.append(index)
        }
        return (order.map { byActivation[$0]! }, skipped)
    }

    public func run(_ model: inout Model, _ context: PassContext) throws -> PassOutcome {
        let found = try groups(model)
        let groups = found.groups
        var skipped = found.skipped
        guard !groups.isEmpty else { return PassOutcome(name: name, changed: false, summary: []) }
        var graph = model.mainGraph

        // Calibration rows of every grouped activation. Generated samples try sequences of
        // `generatedLength` first, then `fallbackLength` for models that cannot take them.
        let watched = Set(groups.map(\.activation))
        var observed: (rows: [String: [[Float]]], channels: [String: Int])? = nil
        var source = ""
        var failure = ""
        let lengths: [Int?] = calibration.source == nil ? [Self.generatedLength, Self.fallbackLength] : [nil]
        for length in lengths where observed == nil {
            let samples: [ModelInputs]
            (samples, source) = try calibrationSamples(model, length: length)
            do {
                observed = try observe(watched, in: model, on: samples, context)
            } catch {
                failure = "the evaluator cannot run the model on \(source): \(error)"
            }
        }
        guard let (rows, channels) = observed else {
            return PassOutcome(name: name, changed: false, summary: [], skipped: [(failure, groups.count)])
        }

        // Measure every group (and choose its scales), then spend the error budget.
        // Only the choices are kept: holding every group's float weights until the rewrite would
        // add the whole model's float32 weights to the peak memory.
        struct Measured { var group: Group; var choice: SmoothingScales.Choice }
        var measured: [Measured] = []
        for g in groups {
            guard let k = channels[g.activation], let xs = rows[g.activation], !xs.isEmpty else {
                skipped["activation not observed", default: 0] += 1
                continue
            }
            let rowCount = xs.reduce(0) { $0 + $1.count } / k
            guard rowCount >= Self.minimumRows else {
                skipped["fewer than \(Self.minimumRows) calibration rows", default: 0] += 1
                continue
            }
            guard g.initializers.allSatisfy({ Int(graph.initializers[$0].dims[0]) == k }) else {
                skipped["weight rows differ from the activation's channels", default: 0] += 1
                continue
            }
            let ws = try g.initializers.map { try weightRows(graph.initializers[$0], context) }
            let search = SmoothingScales(samples: xs, channels: k, weights: ws) { roundTrip($0, $1, g) }
            measured.append(Measured(group: g, choice: search.choose(smoothing)))
        }
        let relativeErrors = measured.map(\.choice.relativeError)
        let floatGroups = Set(errorBudget.map { IntegerErrorBudget(budget: $0).floatGroups(relativeErrors) } ?? [])
        var summary: [String] = []
        if let budget = errorBudget, !measured.isEmpty {
            let kept = floatGroups.reduce(0) { $0 + measured[$1].group.nodes.count }
            let total = relativeErrors.reduce(0, +)
            let left = total - floatGroups.reduce(0) { $0 + relativeErrors[$1] }
            for i in floatGroups { for w in measured[i].group.initializers { context.floatActivationWeights.insert(graph.initializers[w].name) } }
            summary.append(kept == 0
                ? String(format: "every measured MatMul stays integer (simulated error %.4f, budget %g)", total, budget)
                : String(format: "%d MatMuls keep float activations (folded int8 weights): simulated error of the integer form %.4f → %.4f, budget %g", kept, total, max(left, 0), budget))
        }

        var allocator = NameAllocator(model)
        var inserted: [String: Node] = [:]
        var smoothed = 0, layers = 0
        var errorBefore = 0.0, errorAfter = 0.0
        var alphas: [Double] = []
        for (index, m) in measured.enumerated() where !floatGroups.contains(index) {
            let g = m.group, choice = m.choice
            errorBefore += choice.unsmoothedError
            errorAfter += choice.error
            guard let a = choice.alpha else { continue }
            alphas.append(a)
            let s = choice.scales
            let k = s.count
            for i in g.initializers {
                let w = try weightRows(graph.initializers[i], context)
                var scaled = w.values
                for r in 0..<k { for c in 0..<w.columns { scaled[r * w.columns + c] *= s[r] } }
                let t = graph.initializers[i]
                graph.initializers[i] = TensorValues.tensor(t.name, dims: t.dims, floats: scaled)
            }
            let inverse = allocator.fresh("\(g.activation)_smoothing")
            graph.initializers.append(TensorValues.tensor(inverse, dims: [Int64(k)], floats: s.map { 1 / $0 }))
            let output = allocator.fresh("\(g.activation)_smoothed")
            inserted[g.activation] = Node("Mul", inputs: [g.activation, inverse], outputs: [output],
                                          name: allocator.fresh("\(g.activation)_Smoothing"))
            for n in g.nodes { graph.nodes[n].inputs[0] = output }
            smoothed += 1
            layers += g.nodes.count
        }
        // Each Mul sits right after its activation's producer (graph inputs: first).
        var nodes: [Node] = graph.inputs.compactMap { inserted[$0.name] }
        for n in graph.nodes {
            nodes.append(n)
            for o in n.outputs { if let m = inserted[o] { nodes.append(m) } }
        }
        graph.nodes = nodes
        model.mainGraph = graph
        if smoothed > 0 {
            var alphaText = "α searched per activation, \(alphas.min()!)–\(alphas.max()!)"
            if case .fixed(let a) = smoothing { alphaText = "α \(a)" }
            let reduction = errorBefore > 0 ? String(format: "%.0f%%", 100 * (1 - errorAfter / errorBefore)) : "0%"
            summary.insert("\(smoothed) activations feeding \(layers) integer MatMuls smoothed (\(alphaText); simulated int8 product error −\(reduction))", at: 0)
        }
        if !summary.isEmpty { summary.append("calibrated on \(source)") }
        return PassOutcome(name: name, changed: smoothed > 0, summary: summary,
                           skipped: skipped.map { ($0.key, $0.value) }.sorted { $0.reason < $1.reason })
    }

    /// The samples of `--calibration DIR` / `--calibration-text` (length nil), else generated ones whose sequence
    /// dims take `length`, and how the report names them.
    private func calibrationSamples(_ model: Model, length: Int?) throws -> (samples: [ModelInputs], source: String) {
        guard let length else {
            let samples = try ModelInputs.samples(calibration.source, count: 0, model: model, dims: calibration.dims, seed: calibration.seed)
            return (samples, "\(samples.count) samples from \(calibration.source.map(\.description) ?? "")")
        }
        let dims = Self.generatedDims(model, given: calibration.dims, length: length)
        let sequences = dims.count > calibration.dims.count
        let count = sequences ? max(1, Self.generatedRows / length) : Self.generatedSamples
        let samples = try ModelInputs.samples(folder: nil, count: count, model: model, dims: dims, seed: calibration.seed)
        let shown = dims.isEmpty ? "" : " (" + dims.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + ")"
        return (samples, "\(samples.count) generated samples" + shown)
    }

    /// Up to `rowBudget` rows (spread over the samples) of each watched activation, and its
    /// channel count (the last dim).
    private func observe(_ watched: Set<String>, in model: Model, on samples: [ModelInputs],
                         _ context: PassContext) throws -> (rows: [String: [[Float]]], channels: [String: Int]) {
        let perSample = max(1, Self.rowBudget / max(samples.count, 1))
        var rows: [String: [[Float]]] = [:]
        var channels: [String: Int] = [:]
        func keep(_ name: String, _ value: NDArray) {
            guard watched.contains(name), case .float(let v) = value.storage, let k = value.shape.last, k > 0 else { return }
            if let known = channels[name], known != k { return }
            channels[name] = k
            let count = v.count / k
            let step = max(1, count / perSample)
            var kept: [Float] = []
            kept.reserveCapacity(min(count, perSample) * k)
            var r = 0
            while r < count && kept.count < perSample * k { kept += v[(r * k)..<((r + 1) * k)]; r += step }
            rows[name, default: []].append(kept)
        }
        let evaluator = try Evaluator(model: model, reader: context.reader)
        evaluator.observe = { name, value in keep(name, value) }
        for (index, s) in samples.enumerated() {
            _ = try evaluator.run(s.values)
            for info in model.mainGraph.inputs where watched.contains(info.name) {
                if case .tensor(let t)? = s.values[info.name] { keep(info.name, t) }
            }
            // After one sample the row counts are known: stop when no group can reach the minimum.
            if index == 0 && !rows.isEmpty && rows.allSatisfy({ name, r in
                (r.first.map { $0.count / max(channels[name] ?? 1, 1) } ?? 0) * samples.count < Self.minimumRows
            }) { break }
        }
        return (rows, channels)
    }

    /// A [K, N] weight's values, row-major, and N.
    private func weightRows(_ t: Tensor, _ context: PassContext) throws -> (values: [Float], columns: Int) {
        (try TensorValues.floats(t, reader: context.reader), Int(t.dims[1]))
    }

    /// Quantize-then-dequantize exactly as the weight pass will store the group's weights
    /// ([K, N], the plan's layout and codes).
    private func roundTrip(_ values: [Float], _ columns: Int, _ group: Group) -> [Float] {
        let q = values.withUnsafeBufferPointer {
            WeightQuantizer.quantize($0, dims: [values.count / columns, columns], format: quantizer.options.format,
                                     layout: group.layout, symmetric: quantizer.options.symmetric, maxCode: group.maxCode)
        }
        return WeightQuantizer.dequantize(q)
    }

    /// Dims for generated samples: the user's, else `length` for every symbolic dim that
    /// is not only ever a leading (batch) dim.
    static func generatedDims(_ model: Model, given: [String: Int], length: Int = generatedLength) -> [String: Int] {
        var dims = given
        var leadingOnly: [String: Bool] = [:]
        for info in model.mainGraph.inputs {
            for (i, d) in (info.type?.tensorType?.shape?.dims ?? []).enumerated() {
                if case .param(let p) = d.value { leadingOnly[p] = (leadingOnly[p] ?? true) && i == 0 }
            }
        }
        for (p, leading) in leadingOnly where dims[p] == nil && !leading { dims[p] = length }
        return dims
    }
}
