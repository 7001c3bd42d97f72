/// `--quantize fp16|bf16`: runs the float computation in float16 (or bfloat16).
///
/// Every float32 value gets a new type: outputs of converted nodes and weights read only by them
/// become the target type; graph inputs and outputs stay float32 with `keepIOTypes`; operators
/// that need float32 for precision or by signature keep it (Range, random ops, NonMaxSuppression,
/// CumSum, Q/DQ, control flow whose subgraphs read outer values, non-ONNX domains), and so do
/// inputs that must be float32 (Resize/Upsample scales and roi, BatchNormalization statistics).
/// Where a consumer's type differs from its producer's, one Cast per (value, type) is inserted.
/// Nodes reading integer-quantized ops' results stay float32 (`IntegerQuantizedRegion`), and
/// for float16 so do the nodes whose values leave float16's range on sample inputs
/// (`HalfPrecisionNumerics`). If/Loop/Scan bodies compute in float32 (their outputs are typed
/// from the bodies, so readers get a Cast); their weights are stored as float16 behind a Cast.
///
///     x (float32) → Cast(to fp16) → MatMul(W fp16) → Add → Relu → Cast(to float32) → y (float32)
public struct FloatPrecisionPass: ModelPass {
    public let target: DataType
    public let keepIOTypes: Bool
    /// Where the float16 numerics check takes its samples; nil skips the check.
    public var numerics: Numerics? = Numerics()

    /// Samples for the numerics check, as `ModelInputs.samples` takes them.
    public struct Numerics: Sendable {
        public var source: CalibrationSource?
        public var count = 2
        public var dims: [String: Int] = [:]
        public var seed: UInt64 = 0
        public init() {}
    }

    /// Conversions tried before the overflow check gives up (each keeps more nodes float32).
    static let overflowRounds = 8

    public init(target: DataType, keepIOTypes: Bool = true) {
        precondition(target == .float16 || target == .bfloat16)
        self.target = target
        self.keepIOTypes = keepIOTypes
    }

    public var name: String { "convert to \(target)" }
    public var summary: String { "Runs the float computation in float16 or bfloat16, keeping float32 where the numerics need it." }
    public func requiredOpset(_ model: Model) throws -> Int64 { target == .bfloat16 ? 13 : 7 }

    /// Operators left in float32.
    static let keepFloat32: Set<String> = [
        // Precision: index arithmetic, sampling, suppression thresholds, long sums.
        "Range", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
        "Bernoulli", "NonMaxSuppression", "RoiAlign", "CumSum", "STFT", "DFT",
        // Signatures: scales of quantized ops are float32; these take no float16 (or have no
        // float16 kernel in onnxruntime).
        "DequantizeLinear", "QuantizeLinear", "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul",
        "EyeLike", "Celu", "IsInf",
        // A function whose expansion adds a float32 epsilon (and a normalization: precision).
        "MeanVarianceNormalization",
        // Subgraphs read outer values by name; sequences and optionals carry types not tracked here.
        "If", "Loop", "Scan", "SequenceConstruct", "SequenceInsert", "SequenceAt", "SequenceErase",
        "SequenceLength", "SequenceMap", "ConcatFromSequence", "SplitToSequence", "SequenceEmpty",
        "Optional", "OptionalGetElement", "OptionalHasElement",
    ]

    /// Inputs that must stay float32 (by signature or for precision), by operator.
    static func float32Inputs(_ node: Node, opset: Int64) -> Set<Int> {
        switch node.opType {
        case "Resize": return [1, 2]
        case "Upsample": return [1]
        case "BatchNormalization": return opset >= 15 ? [1, 2, 3, 4] : []
        default: return []
        }
    }

    public func run(_ model: inout Model, _ context: PassContext) throws -> PassOutcome {
        if target == .bfloat16 && (model.opsetVersion() ?? 1) < 13 {
            throw OnnxSlimError.usage("bf16 needs opset 13 (run with --opset 13)")
        }
        let original = model
        var keep: [Int: Float32Reason] = [:]
        var notes: [String] = []
        var check: (numerics: HalfPrecisionNumerics, float32: HalfPrecisionNumerics.Float32Run)?
        if target == .float16, let numerics {
            do {
                let samples = try ModelInputs.samples(numerics.source, count: numerics.count, model: original,
                                                      dims: numerics.dims, seed: numerics.seed)
                let n = HalfPrecisionNumerics(samples: samples, reader: context.reader)
                let run = try n.float32Run(original)
                for k in HalfPrecisionNumerics.nodesTouching(run.beyondRange, in: original.mainGraph) { keep[k] = .beyondHalfRange }
                check = (n, run)
                notes.append("float16 range checked on \(samples.count) " + (numerics.source.map { "samples from \($0)" } ?? "generated samples (seed \(numerics.seed))"))
            } catch {
                // The structural rules alone still give a valid model; say the numerics are unchecked.
                notes.append("float16 range not checked (\(error))")
            }
        }
        var (converted, rewriter) = try convert(original, keep: keep, context)
        if let check {
            var rounds = 0
            while true {
                let found: Set<Int>
                do {
                    found = try check.numerics.overflowOrigins(converted: converted, origins: rewriter.origins,
                                                               original: original.mainGraph, float32: check.float32,
                                                               kept: Set(keep.keys))
                } catch {
                    notes.append("float16 overflow not checked (\(error))")
                    break
                }
                if found.isEmpty { break }
                rounds += 1
                if rounds > Self.overflowRounds {
                    notes.append("float16 run still overflows after \(Self.overflowRounds) rounds")
                    break
                }
                for k in found { keep[k] = .halfOverflow }
                (converted, rewriter) = try convert(original, keep: keep, context)
            }
        }
        let bodies = try storeBodyWeights(&converted, context)
        model = converted

        var summary = ["\(rewriter.convertedNodes) nodes in \(target), \(rewriter.convertedWeights) weights converted, \(rewriter.casts) Casts inserted"]
        if rewriter.keptNodes > 0 {
            let why = Float32Reason.allCases.compactMap { r in rewriter.kept[r].map { "\($0) \(r.rawValue)" } }
            summary.append("\(rewriter.keptNodes) nodes kept in float32 (" + why.joined(separator: ", ") + ")")
        }
        if bodies.tensors > 0 {
            summary.append("\(bodies.tensors) If/Loop/Scan body weights stored as float16 (bodies compute in float32), \(Formatting.bytes(bodies.bytesBefore)) → \(Formatting.bytes(bodies.bytesAfter))")
        }
        summary += notes
        let changed = rewriter.convertedNodes > 0 || rewriter.convertedWeights > 0 || bodies.tensors > 0
        return PassOutcome(name: name, changed: changed, summary: summary)
    }

    /// One conversion of `model` with the nodes in `keep` left float32.
    private func convert(_ model: Model, keep: [Int: Float32Reason], _ context: PassContext) throws -> (Model, FloatPrecisionRewriter) {
        var model = model
        var names = NameAllocator(model)
        var graph = model.mainGraph
        var rewriter = FloatPrecisionRewriter(target: target, keepIOTypes: keepIOTypes, opset: model.opsetVersion() ?? 1)
        rewriter.keep = keep
        try rewriter.convert(&graph, names: &names, reader: context.reader)
        model.mainGraph = graph
        return (model, rewriter)
    }

    /// Stores the float32 weights of If/Loop/Scan bodies in the target type behind a Cast back:
    /// bodies are not converted (their values cross the boundary by name), but their weights
    /// need not take float32's bytes. Tensors that do not fit stay (`HalfStoragePass.narrow`).
    private func storeBodyWeights(_ model: inout Model, _ context: PassContext) throws -> NarrowStorage.Totals {
        guard target == .float16 else { return NarrowStorage.Totals() }
        var names = NameAllocator(model)
        var graph = model.mainGraph
        var totals = NarrowStorage.Totals()
        for n in graph.nodes.indices {
            for a in graph.nodes[n].attributes.indices {
                try graph.nodes[n].attributes[a].mutateSubgraphs { body in
                    let t = try NarrowStorage.rewrite(&body, to: target, names: &names) { t, name, inputs in
                        guard !inputs.contains(name) else { return nil }
                        return try HalfStoragePass.narrow(t, minElements: 16, reader: context.reader)
                    }
                    totals.tensors += t.tensors
                    totals.bytesBefore += t.bytesBefore
                    totals.bytesAfter += t.bytesAfter
                }
            }
        }
        model.mainGraph = graph
        return totals
    }
}
