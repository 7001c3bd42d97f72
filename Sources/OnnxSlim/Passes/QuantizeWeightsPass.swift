/// `--quantize int8|uint8|int4|uint4|fp8`: weight-only quantization in QDQ form.
///
/// Every constant weight of MatMul, Gemm, Conv, ConvTranspose and Gather (embeddings) — an
/// initializer or a Constant node, in the main graph or a subgraph, shared or not — becomes
/// quantized initializers and a DequantizeLinear whose output keeps the weight's name:
///
///     before:  W (float32 [768, 3072]) ─────────────────────────────→ MatMul
///     after:   W_quantized (int8), W_scale (float32 [3072]) → DequantizeLinear(axis 1) → W → MatMul
///
/// so every consumer, in any subgraph, keeps working unchanged, and the float weight is gone.
/// Embedding lookups are rewritten so only the gathered rows are dequantized:
///
///     Gather(table, ids)  →  DequantizeLinear(Gather(table_quantized, ids), Gather(table_scale, ids),
///                                            axis -1, block_size)
///
/// Scales: per output channel for 8-bit and fp8 (`--per-tensor` for one scale), blocks of
/// `--block-size` along the summed axis for 4-bit. Symmetric by default (x = q · scale).
/// The pass states the opset it needs; `OpsetUpgrade` raises the model's before it runs.
public struct QuantizeWeightsPass: ModelPass {
    public struct Options: Sendable {
        public var format: QuantFormat
        public var perTensor = false
        public var symmetric = true
        public var blockSize = 32
        /// Consumers whose name matches are left alone (and so are weights they share).
        public var excludeNodes: String? = nil
        public var excludeOps: Set<String> = []
        /// Weights with fewer elements stay float.
        public var minElements = 16
        /// The graph form of 8-bit weights.
        public var int8Mode = Int8Mode.auto
        /// Weights in DequantizeLinear form will meet quantized activations (static QDQ), which
        /// onnxruntime fuses into integer kernels: they get the narrowed codes as the dynamic form.
        public var dequantizedFeedIntegerKernels = false
        /// int8 weights of integer-kernel forms use all of −127…127 instead of −64…64: exact only
        /// on CPUs with VNNI (or ARM); x86 CPUs without it saturate (`QuantFormat.integerKernelMaxCode`).
        public var fullRangeIntegerKernels = false
        /// int4 MatMul/Gemm weights on grids with a float zero point per block (`FloatZeroPointTerms`).
        public var floatZeroPoints = false
        /// MatMul and Gemm weights rounded by GPTQ on calibration inputs (nil: to nearest).
        public var gptq: GPTQWeights.Options? = nil
        /// Which weights this pass takes: all, only embedding tables (weights every reader of
        /// which is a lookup), or all but those (`--embedding-format` runs one pass of each).
        public var tables: Tables = .all

        public enum Tables: Sendable { case all, embeddingsOnly, allButEmbeddings }

        /// Narrow weights: fewer than `below` values per output channel along the summed axes
        /// (a depthwise conv's 9, a 3-channel stem's 27), where 4-bit would spend one scale on a
        /// handful of values. `--narrow-format` quantizes them in a pass of their own: this pass
        /// takes them all, leaves them out, or takes only them.
        public enum Narrow: Sendable, Equatable { case include, exclude(below: Int), only(below: Int) }
        public var narrow = Narrow.include

        public init(format: QuantFormat) { self.format = format }
    }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    public var name: String { "quantize \(options.format)" }
    public var summary: String { "Quantizes the constant weights of MatMul, Gemm, Conv, ConvTranspose and Gather in QDQ form (or as integer MatMuls)." }

    /// True for nodes the options exclude (by op type or name). An invalid pattern excludes no
    /// node here; `plan` reports it as a usage error first.
    public var isExcluded: @Sendable (Node) -> Bool {
        let ops = options.excludeOps
        let regex = options.excludeNodes.flatMap { try? Regex($0) }
        return { n in ops.contains(n.opType) || (regex.map { n.name.contains($0) } ?? false) }
    }

    /// How 8-bit weights appear in the graph (`--int8-mode`).
    public enum Int8Mode: String, CaseIterable, Sendable {
        /// Per operator, the form measured fastest in onnxruntime on CPU at equal accuracy:
        /// dynamic for MatMul/Gemm, folded for Conv/ConvTranspose (see README, "int8 forms").
        case auto
        /// int8 initializer → DequantizeLinear → operator (QDQ).
        case weightOnly = "weight-only"
        /// Activations quantized at run time: DynamicQuantizeLinear → MatMulInteger → scale
        /// (onnxruntime fuses it into its integer kernel). MatMul and Gemm; Conv falls back to folded.
        case dynamic
        /// int8 initializer → Cast → Mul(scale): runtimes fold it into a float weight at load, so
        /// the model runs at float speed from a 4x smaller file.
        case folded
    }

    /// The graph form a weight takes.
    enum WeightForm: Equatable { case dequantize, folded, dynamic }

    /// One weight to quantize and how.
    struct Decision {
        var key: GraphIndex.Key
        /// The float weight and where it is defined.
        var definition: GraphIndex.Definition
        var layout: QuantLayout
        var form: WeightForm
        var lookupUses: [GraphIndex.Use]
        /// Uses rewritten to integer MatMul (dynamic form).
        var dynamicUses: [GraphIndex.Use] = []
        var needsFullDequantize: Bool
        var opset: Int64
        var primaryOp: String
        /// For Gemm with transB = 1 in dynamic form: the weight is stored transposed ([K, N]).
        var transposeForDynamic = false
        /// Narrowed integer codes (int8 weights that integer kernels multiply), else nil.
        var maxCode: Int? = nil
        /// int4 codes with float zero points (`FloatZeroPoint`).
        var floatZeroPoints = false
        /// The uses that add their offset term (`FloatZeroPointTerms`); empty in the folded form,
        /// whose constant chain adds the offsets to the weight itself.
        var offsetUses: [GraphIndex.Use] = []
    }

    struct Plan {
        var decisions: [Decision] = []
        var skipped: [String: Int] = [:]
        /// Weights written in another form than asked, and why.
        var notes: [String: Int] = [:]
        var requiredOpset: Int64 = 0
    }

    /// The opset the pass needs on `model` (0 when nothing would be quantized).
    public func requiredOpset(_ model: Model) throws -> Int64 {
        try plan(model).requiredOpset
    }

    /// `floatActivations`: main-graph weights to keep out of the dynamic form (folded instead).
    func plan(_ model: Model, floatActivations: Set<String> = []) throws -> Plan {
        guard let graph = model.graph else { return Plan() }
        if let pattern = options.excludeNodes, (try? Regex(pattern)) == nil {
            throw OnnxSlimError.usage("--exclude-nodes: invalid regular expression '\(pattern)'")
        }
        let isExcluded = self.isExcluded
        let opset = model.opsetVersion() ?? 1
        let catalog = GraphIndex(graph)
        var plan = Plan()
        var consideredUses = Set<String>()   // "path|node|input" of weight uses seen through definitions
        var typesByGraph: [GraphPath: ElementTypes] = [:]

        for key in catalog.weightOrder {
            guard let def = catalog.definition(key) else { continue }
            let uses = catalog.uses(of: key)
            let rank = def.tensor.dims.count
            var quantizable: [(GraphIndex.Use, WeightUse)] = []
            var excluded = false
            var parameterTable = false
            var floatZeroPointTerm = false
            for use in uses {
                // Readers through Transpose/Reshape/… count for exclusion (a tied LM head).
                if catalog.indirectReaders(of: use).contains(where: { Operators.knowledge($0) != nil && isExcluded($0) }) {
                    excluded = true
                }
                guard let op = Operators.knowledge(use.consumer), let wu = op.weightUse(use.consumer, weightRank: rank),
                      wu.input == use.input else { continue }
                consideredUses.insert("\(use.path)|\(use.node)|\(use.input)")
                if isExcluded(use.consumer) {
                    excluded = true
                    continue
                }
                if wu.kind == .lookup && catalog.feedsQuantizationParameters(use) {
                    parameterTable = true
                    continue
                }
                if catalog.isFloatZeroPointTerm(use) {
                    floatZeroPointTerm = true
                    continue
                }
                quantizable.append((use, wu))
            }
            let embeddingTable = !quantizable.isEmpty && quantizable.allSatisfy { $0.1.kind == .lookup }
            if options.tables == .embeddingsOnly && !embeddingTable || options.tables == .allButEmbeddings && embeddingTable { continue }
            if parameterTable && quantizable.isEmpty {
                plan.skipped["Gather: table holds quantization parameters", default: 0] += 1
                continue
            }
            if floatZeroPointTerm && quantizable.isEmpty {
                plan.skipped["MatMul: float zero points' offsets (already quantized)", default: 0] += 1
                continue
            }
            guard let (primary, primaryUse) = quantizable.first else {
                if excluded { plan.skipped["excluded", default: 0] += 1 }
                continue
            }
            let op = primary.consumer.opType
            if excluded { plan.skipped["\(op): shared with an excluded node", default: 0] += 1; continue }
            guard TensorValues.floatTypes.contains(def.tensor.dataType) else {
                plan.skipped["\(op): weight is \(def.tensor.dataType)", default: 0] += 1
                continue
            }
            guard let count = def.tensor.elementCount, count >= max(options.minElements, 1) else {
                plan.skipped["\(op): fewer than \(options.minElements) elements", default: 0] += 1
                continue
            }
            // (After the skips above, which the main pass reports for narrow weights too.)
            if !embeddingTable, let taken = takesNarrow(def.tensor.dims, primaryUse), !taken { continue }
            var layout = chooseLayout(primaryUse, dims: def.tensor.dims,
                                      convolution: op == ConvOp.opType || op == ConvTransposeOp.opType)
            // Gather cannot read float8 data, and packed 4-bit rows need an even row length.
            let lookupsPossible = options.format != .fp8 && (!options.format.isSubByte || def.tensor.dims[1] % 2 == 0)
            let lookups = lookupsPossible
                ? quantizable.filter { $0.1.kind == .lookup && gatheredForm(layout) != nil }.map(\.0) : []
            let isOutput = catalog.graphOutputs.contains(key.name)
            var form = chooseForm(primaryUse, op: op, dataType: def.tensor.dataType)
            var dynamicUses: [GraphIndex.Use] = []
            var transposed = false
            if form == .dynamic && key.path == .main && floatActivations.contains(key.name) {
                form = .folded
                plan.notes["\(op): folded, float activations (the integer form measured too lossy)", default: 0] += 1
            }
            if form == .dynamic {
                let nonLookup = uses.filter { u in !lookups.contains { $0.path == u.path && $0.node == u.node } }
                let eligible = nonLookup.allSatisfy { dynamicEligible($0, rank: rank, graph: graph, types: &typesByGraph) }
                let transB = nonLookup.map { $0.consumer.opType == GemmOp.opType && $0.consumer.intAttribute("transB", default: 0) != 0 }
                if eligible && !isOutput && !nonLookup.isEmpty && Set(transB).count == 1 {
                    dynamicUses = nonLookup
                    transposed = transB[0]
                    layout = options.perTensor ? .perTensor : .perChannel(1)   // per column of the stored [K, N]
                } else {
                    form = .folded
                }
            }
            // Folded blocks view the summed axis as whole blocks; 8-bit folding is per channel.
            if form == .folded, let block = layout.blockSize, let axis = layout.axis,
               !options.format.isSubByte || def.tensor.dims[axis] % Int64(block) != 0 {
                form = .dequantize
            }
            // Packed nibbles unpack into whole bytes: an even number of codes.
            if form == .folded && options.format.isSubByte && count % 2 != 0 { form = .dequantize }
            if options.int8Mode == .dynamic && form != .dynamic {
                plan.notes["\(op): \(form == .folded ? "folded" : "dequantized") (the dynamic form is for 2-D MatMul/Gemm weights)", default: 0] += 1
            }
            let needsFull = form != .dynamic && (uses.count > lookups.count || isOutput)
            // DequantizeLinear needs its format's and layout's opset; DynamicQuantizeLinear needs 11;
            // the folded form is Cast and a broadcasting Mul (opset 7).
            var required: Int64
            switch form {
            case .dequantize: required = max(options.format.minimumOpset, needsFull ? layout.minimumOpset : 10)
            case .dynamic: required = 11
            case .folded: required = options.format.isSubByte ? 18 : 7   // BitwiseAnd for packed nibbles
            }
            if def.tensor.dataType != .float { required = max(required, 19) }   // float16/bfloat16 scales
            if !lookups.isEmpty { required = max(required, lookupOpset(layout, current: opset)) }
            let integerKernel = form == .dynamic || (form == .dequantize && options.dequantizedFeedIntegerKernels)
            let maxCode = integerKernel && options.format == .int8 && !options.fullRangeIntegerKernels
                ? QuantFormat.integerKernelMaxCode : nil
            var offsetUses: [GraphIndex.Use] = []
            var floatZeroPoints = false
            if options.floatZeroPoints {
                if let reason = floatZeroPointBlocker(uses: uses, quantizable: quantizable.count, lookups: lookups.count, rank: rank,
                                                      form: form, layout: layout, primary: primaryUse, isOutput: isOutput) {
                    plan.notes["\(op): symmetric int4 (\(reason))", default: 0] += 1
                } else {
                    floatZeroPoints = true
                    offsetUses = form == .folded ? [] : uses
                }
            }
            plan.decisions.append(Decision(key: key, definition: def, layout: layout, form: form, lookupUses: lookups, dynamicUses: dynamicUses,
                                           needsFullDequantize: needsFull, opset: required, primaryOp: op,
                                           transposeForDynamic: transposed, maxCode: maxCode, floatZeroPoints: floatZeroPoints,
                                           offsetUses: offsetUses))
            plan.requiredOpset = max(plan.requiredOpset, required)
        }

        // Weight inputs that are not constants: computed values, or already quantized. (A pass
        // that takes only narrow weights runs after the main one, whose weights it would list.)
        if case .only = options.narrow {
            plan.skipped = [:]
            return plan
        }
        graph.forEachGraph { g, path in
            for (k, n) in g.nodes.enumerated() {
                guard let op = Operators.knowledge(n) else { continue }
                for (i, name) in n.inputs.enumerated() where !name.isEmpty {
                    guard op.weightUse(n, weightRank: 2)?.input == i || op.weightUse(n, weightRank: 4)?.input == i,
                          !consideredUses.contains("\(path)|\(k)|\(i)"), !catalog.isWeight(name, from: path) else { continue }
                    let producer = catalog.producer(of: name, from: path)?.opType
                    // A DequantizeLinear of a stored tensor is a quantized weight; of a computed
                    // one (static QDQ on an activation) the input is an activation like any other.
                    let dequantizesWeight = producer == "DequantizeLinear"
                        && catalog.producerNode(of: name, in: path).flatMap(\.inputs.first).map { catalog.isWeight($0, from: path) } ?? true
                    if dequantizesWeight {
                        plan.skipped["\(n.opType): already quantized", default: 0] += 1
                    } else if n.opType != GatherOp.opType {
                        // A lookup into a computed tensor (shape arithmetic) is no weight: not worth a line.
                        plan.skipped["\(n.opType): input \(i) is computed, not a weight", default: 0] += 1
                    }
                }
            }
        }
        return plan
    }

    /// Whether `options.narrow` lets this pass take a weight (nil: no narrow selection).
    private func takesNarrow(_ dims: [Int64], _ use: WeightUse) -> Bool? {
        let isNarrow = { (below: Int) -> Bool in
            guard use.channelAxis < dims.count, dims[use.channelAxis] > 0 else { return false }
            return dims.reduce(1, *) / dims[use.channelAxis] < Int64(below)
        }
        switch options.narrow {
        case .include: return nil
        case let .exclude(below): return !isNarrow(below)
        case let .only(below): return isNarrow(below)
        }
    }

    /// The form for a weight whose first quantizable use is `use` (see `Int8Mode`).
    private func chooseForm(_ use: WeightUse, op: String, dataType: DataType) -> WeightForm {
        // onnxruntime dequantizes 4-bit weights before a Conv on every inference; packed bytes
        // unpacked by constant ops are folded once at load instead (see NibbleUnpacking).
        let convolution = op == ConvOp.opType || op == ConvTransposeOp.opType
        if options.format.isSubByte && convolution && options.int8Mode != .weightOnly { return .folded }
        guard options.format == .int8 || options.format == .uint8 else { return .dequantize }
        let dense = op == MatMulOp.opType || op == GemmOp.opType
        switch options.int8Mode {
        case .weightOnly: return .dequantize
        case .folded: return .folded
        case .dynamic, .auto: return dense && dataType == .float ? .dynamic : .folded
        }
    }

    /// Why a weight cannot take float zero points (nil: it can). The folded form (4-bit Conv)
    /// adds the offsets in its constant chain, so any weight there can. Otherwise the offset term
    /// is added after each reader's product, so every reader must be a MatMul or plain Gemm
    /// multiplying by the whole weight, blocked along the summed axis.
    private func floatZeroPointBlocker(uses: [GraphIndex.Use], quantizable: Int, lookups: Int, rank: Int, form: WeightForm,
                                       layout: QuantLayout, primary: WeightUse, isOutput: Bool) -> String? {
        guard options.format == .int4 else { return "float zero points are an int4 form" }
        if lookups > 0 || primary.kind == .lookup { return "an embedding lookup reads it" }
        if form == .folded { return nil }
        guard rank == 2, form == .dequantize, layout.blockSize != nil, layout.axis == primary.reductionAxis else {
            return "not blocked along the summed axis"
        }
        if isOutput || quantizable != uses.count { return "read by more than MatMul/Gemm" }
        for use in uses {
            let n = use.consumer
            guard use.input == 1, n.isDefaultDomain, n.inputs.count >= 2, n.outputs.count == 1 else { return "read by more than MatMul/Gemm" }
            if n.opType == GemmOp.opType {
                guard n.intAttribute("transA", default: 0) == 0, (n.attribute("alpha")?.f ?? 1) == 1 else { return "Gemm with transA or alpha" }
            } else if n.opType != MatMulOp.opType {
                return "read by \(n.opType)"
            }
        }
        return nil
    }

    /// DynamicQuantizeLinear takes float32 activations; MatMulInteger multiplies 2-D weights; a
    /// Gemm must be a plain A·B (+ C).
    private func dynamicEligible(_ use: GraphIndex.Use, rank: Int, graph: Graph,
                                 types: inout [GraphPath: ElementTypes]) -> Bool {
        let n = use.consumer
        guard rank == 2, use.input == 1 else { return false }
        if n.opType == GemmOp.opType {
            guard n.intAttribute("transA", default: 0) == 0, (n.attribute("alpha")?.f ?? 1) == 1,
                  (n.attribute("beta")?.f ?? 1) == 1 else { return false }
        } else if n.opType != MatMulOp.opType {
            return false
        }
        if types[use.path] == nil { types[use.path] = elementTypes(graph, at: use.path) }
        return types[use.path]!.type(of: n.inputs[0]) == .float
    }

    /// Element types seen from the graph at `path` (types flow from enclosing graphs inward).
    private func elementTypes(_ graph: Graph, at path: GraphPath) -> ElementTypes {
        var types = ElementTypes(graph)
        var g = graph
        for step in path.steps {
            let a = g.nodes[step.node].attributes[step.attribute]
            g = step.graph < 0 ? a.g! : a.graphs[step.graph]
            types = ElementTypes(g, outer: types)
        }
        return types
    }

    private func chooseLayout(_ use: WeightUse, dims: [Int64], convolution: Bool) -> QuantLayout {
        if options.perTensor { return .perTensor }
        switch options.format {
        case .int4, .uint4:
            // Blocks need enough elements along the summed axis to pay for their scales
            // (a depthwise or 3-channel Conv has a handful): per channel otherwise.
            let length = dims[use.reductionAxis]
            if length < Int64(options.blockSize) { return .perChannel(use.channelAxis) }
            if convolution, length % Int64(options.blockSize) != 0 {
                // Folding at load views the channels as whole blocks: the largest power of two
                // that divides them (down to 8), else one scale per output channel.
                var block = options.blockSize
                while block > 8 && length % Int64(block) != 0 { block /= 2 }
                return length % Int64(block) == 0 ? .blocked(use.reductionAxis, block) : .perChannel(use.channelAxis)
            }
            return .blocked(use.reductionAxis, options.blockSize)
        default: return .perChannel(use.channelAxis)
        }
    }

    /// How a lookup of this layout dequantizes gathered rows; nil when it cannot (then the
    /// Gather reads the fully dequantized table).
    enum GatheredForm { case perTensor, rowScale, blocked }
    private func gatheredForm(_ layout: QuantLayout) -> GatheredForm? {
        if layout.axis == nil { return .perTensor }
        if layout.axis == 0 && layout.blockSize == nil { return .rowScale }
        if layout.axis == 1 && layout.blockSize != nil { return .blocked }
        return nil
    }

    /// Row scales use DequantizeLinear with a block of a whole row (opset 21) when the model is
    /// there anyway, else Cast and Mul (any opset).
    private func lookupOpset(_ layout: QuantLayout, current: Int64) -> Int64 {
        switch gatheredForm(layout) {
        case .blocked: return 21
        case .perTensor: return 10
        default: return current >= 21 ? 21 : 7   // below 21: Gather, Cast and a broadcasting Mul
        }
    }

    public func run(_ model: inout Model, _ context: PassContext) throws -> PassOutcome {
        let plan = try plan(model, floatActivations: context.floatActivationWeights)
        let opset = model.opsetVersion() ?? 1
        guard opset >= plan.requiredOpset else {
            throw OnnxSlimError.usage("\(name) needs opset \(plan.requiredOpset); the model has \(opset) (run the opset upgrade first)")
        }
        var names = NameAllocator(model)
        var rewriter = QuantizedWeightWriter(options: options, opset: opset, reader: context.reader)
        // Quantize every weight first, in parallel (reads and arithmetic only), then edit the graph.
        // In parallel when there is enough work to pay for a second weight in memory at once.
        let weightBytes = plan.decisions.reduce(0) { $0 + $1.definition.tensor.dataByteCount }
        var reconstruction: GPTQWeights.Result?
        if let gptq = options.gptq {
            reconstruction = try GPTQWeights.reconstruct(plan.decisions, model: model, quantizer: options, options: gptq, reader: context.reader)
        }
        var reconstructed = reconstruction?.quantized ?? [:]
        reconstruction?.quantized = [:]
        let pending = plan.decisions.indices.filter { reconstructed[$0] == nil }
        let quantize = { (k: Int) in
            try QuantizedWeightWriter.quantize(plan.decisions[k], options: self.options, reader: context.reader)
        }
        let rounded = weightBytes > 8 << 20 ? try Parallel.map(pending, quantize) : try pending.map(quantize)
        for (k, q) in zip(pending, rounded) { reconstructed[k] = q }
        var quantized: [QuantizedTensor?] = plan.decisions.indices.map { reconstructed.removeValue(forKey: $0) }
        var graph = model.mainGraph
        for (k, decision) in plan.decisions.enumerated() {
            let q = quantized[k]!
            quantized[k] = nil   // the graph takes its own copy: hold each weight once
            try rewriter.apply(decision, q, to: &graph, names: &names)
        }
        rewriter.commit(into: &graph)
        context.quantizationParameters.formUnion(rewriter.parameterTensors)
        var biasCorrected = 0
        if let shifts = reconstruction?.biasShifts, !shifts.isEmpty {
            let byWeight = Dictionary(shifts.compactMap { k, v in plan.decisions[k].key.path == .main ? (plan.decisions[k].key.name, v) : nil },
                                      uniquingKeysWith: { a, _ in a })
            biasCorrected = try BiasCorrection.apply(byWeight, to: &graph, parameters: context.quantizationParameters,
                                                  reader: context.reader, names: &names)
        }
        model.mainGraph = graph
        if !plan.decisions.isEmpty { model.irVersion = max(model.irVersion, 4) }

        var summary: [String] = []
        if !plan.decisions.isEmpty {
            let byOp = Dictionary(grouping: plan.decisions, by: \.primaryOp).mapValues(\.count)
                .sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            summary.append("\(plan.decisions.count) weights (\(byOp)), \(Formatting.bytes(rewriter.bytesBefore)) → \(Formatting.bytes(rewriter.bytesAfter))")
            if rewriter.lookups > 0 { summary.append("\(rewriter.lookups) embedding lookups dequantize only gathered rows") }
            let narrowed = plan.decisions.filter { $0.maxCode != nil }.count
            if narrowed > 0 {
                summary.append("\(narrowed) weights feeding integer kernels use codes −\(QuantFormat.integerKernelMaxCode)…\(QuantFormat.integerKernelMaxCode) (exact on x86 CPUs without VNNI; --int8-full-range for all 8 bits)")
            }
            summary += plan.notes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        }
        if let r = reconstruction { summary += Self.describe(r) }
        if biasCorrected > 0 { summary.append("bias correction on \(biasCorrected) layers (E[x]·(W − Ŵ) moved into their biases)") }
        let skipped = plan.skipped.sorted { $0.value > $1.value }.map { (reason: $0.key, count: $0.value) }
        return PassOutcome(name: name, changed: !plan.decisions.isEmpty, summary: summary, skipped: skipped,
                           details: reconstruction?.lines ?? [])
    }

    /// The report's GPTQ lines: how many weights, on what, the mean output error against
    /// rounding to nearest, and what was left to it.
    static func describe(_ r: GPTQWeights.Result) -> [String] {
        var lines: [String] = []
        if r.measured > 0 {
            lines.append("GPTQ on \(r.measured) weights (\(r.source)): mean relative output error "
                         + "\(String(format: "%.2e", r.nearestError)) rounded to nearest → \(String(format: "%.2e", r.error))")
        }
        if r.tables > 0 { lines.append("\(r.tables) embedding tables rounded with a clipping search") }
        let left = r.skipped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        if !left.isEmpty { lines.append("rounded to nearest: " + left.joined(separator: ", ")) }
        return lines
    }
}
