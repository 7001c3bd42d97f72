/// Static int8: calibrates activation ranges by running the float model on samples, then puts a
/// QuantizeLinear → DequantizeLinear pair (uint8, per-tensor, asymmetric) on every activation that
/// feeds MatMul, Gemm or Conv in the main graph. Together with per-channel weight
/// DequantizeLinear (QuantizeWeightsPass, weight-only) this is the QDQ form onnxruntime turns into
/// integer kernels.
///
/// Sensitive spots stay float unless `quantizeSensitive`: Softmax outputs (attention probabilities
/// are mostly tiny with a few large values). A MatMul of two activations is quantized on both
/// sides or not at all, since a one-sided pair only adds error.
public struct ActivationQDQPass: ModelPass {
    public var name: String { "quantize activations (static)" }
    public var summary: String { "Calibrates activation ranges on samples and puts a QuantizeLinear/DequantizeLinear pair on every activation feeding MatMul, Gemm or Conv." }
    public func requiredOpset(_ model: Model) throws -> Int64 { 13 }

    /// Where calibration samples come from.
    public struct Calibration {
        /// Samples (as `ModelInputs.samples`); nil generates `count` samples.
        public var source: CalibrationSource?
        public var count: Int = 32
        public var seed: UInt64 = 0
        public var dims: [String: Int] = [:]
        public var method: ActivationRanges.Method = .minmax
        public init() {}
    }

    public var calibration: Calibration
    public var quantizeSensitive = false
    /// Nodes the user excluded from quantization.
    public var isExcluded: (Node) -> Bool = { _ in false }

    public init(calibration: Calibration) { self.calibration = calibration }

    static let targetOps: Set<String> = ["MatMul", "Gemm", "Conv"]
    static let sensitiveProducers: Set<String> = ["Softmax"]

    /// Operators that pass values through unchanged (or select among them), looked through when
    /// finding where an activation comes from. Where covers exporters' NaN guard after Softmax,
    /// `Where(IsNaN(p), 0, p)`.
    static let passThrough: Set<String> = ["Identity", "Cast", "Dropout", "Reshape", "Transpose", "Squeeze",
                                           "Unsqueeze", "Flatten", "Where"]

    /// Whether `value` is a sensitive producer's output, possibly through pass-through operators.
    static func isSensitive(_ value: String, in index: GraphIndex.Scope, depth: Int = 0) -> Bool {
        guard depth < 8, let p = index.producer(of: value), p.isDefaultDomain else { return false }
        if sensitiveProducers.contains(p.opType) { return true }
        guard passThrough.contains(p.opType) else { return false }
        let data = p.opType == "Where" ? Array(p.inputs.dropFirst()) : Array(p.inputs.prefix(1))
        return data.contains { isSensitive($0, in: index, depth: depth + 1) }
    }

    /// Activation names to quantize, and how many inputs were left float for each reason.
    func targets(_ graph: Graph) -> (names: [String], skipped: [String: Int]) {
        var constant = Set(graph.initializers.map(\.name))
        let index = GraphIndex(graph, weights: false).main
        for n in graph.nodes {
            if n.opType == "Constant" || (n.opType == "DequantizeLinear" && n.inputs.first.map(constant.contains) == true) {
                constant.formUnion(n.outputs)
            }
        }
        var names: [String] = []
        var seen: Set<String> = []
        var skipped: [String: Int] = [:]
        for n in graph.nodes where n.isDefaultDomain && Self.targetOps.contains(n.opType) {
            if isExcluded(n) { skipped["excluded", default: 0] += 1; continue }
            let candidates = n.opType == "Conv" ? [0] : [0, 1]
            let activations = candidates.filter { $0 < n.inputs.count && !n.inputs[$0].isEmpty && !constant.contains(n.inputs[$0]) }
            if activations.isEmpty { continue }
            let sensitive = activations.contains { Self.isSensitive(n.inputs[$0], in: index) }
            if sensitive && !quantizeSensitive {
                skipped["\(n.opType) input from Softmax", default: 0] += activations.count
                continue
            }
            for k in activations where seen.insert(n.inputs[k]).inserted { names.append(n.inputs[k]) }
        }
        return (names, skipped)
    }

    public func run(_ model: inout Model, _ context: PassContext) throws -> PassOutcome {
        guard (model.opsetVersion() ?? 1) >= 13 else {
            throw OnnxSlimError(.badInput, "static quantization needs opset 13 or later (add --opset 13)")
        }
        var graph = model.mainGraph
        var (names, skipped) = targets(graph)
        guard !names.isEmpty else {
            return PassOutcome(name: name, changed: false, summary: [], skipped: skipped.map { ($0.key, $0.value) })
        }
        // Calibrate: run the float model, observing only the tensors to quantize.
        let ranges = ActivationRanges(method: calibration.method, watched: Set(names))
        let evaluator = try Evaluator(model: model, reader: context.reader)
        var types: [String: DataType] = [:]
        evaluator.observe = { name, value in
            ranges.observe(name, value)
            if types[name] == nil, names.contains(name) { types[name] = value.dataType }
        }
        let samples = try ModelInputs.samples(calibration.source, count: calibration.count, model: model,
                                              dims: calibration.dims, seed: calibration.seed)
        for s in samples { _ = try s.explainingFailures(hint: "--calibration DIR") { try evaluator.run(s.values) } }
        // Graph inputs are observed too (the evaluator reports node outputs only).
        for info in graph.inputs where names.contains(info.name) {
            for s in samples { if case .tensor(let t)? = s.values[info.name] { ranges.observe(info.name, t); types[info.name] = t.dataType } }
        }
        let opset = model.opsetVersion() ?? 13

        var allocator = NameAllocator(model)
        var replacement: [String: String] = [:]
        var inserted: [String: [Node]] = [:]   // producer output → Q/DQ nodes to place after it
        var quantized = 0
        for activation in names {
            guard let (lower, upper) = ranges.range(activation), let type = types[activation] else { continue }
            // QuantizeLinear's input and scale share one float type; float16/bfloat16 need opset 19.
            guard type == .float || ((type == .float16 || type == .bfloat16) && opset >= 19) else {
                skipped[type == .float16 || type == .bfloat16 ? "\(type) activation (needs opset 19)" : "\(type) activation", default: 0] += 1
                continue
            }
            let smallest: Float = type == .float16 ? 6.103515625e-05 : Float.leastNormalMagnitude  // normal floor
            let scale = max((upper - lower) / 255, smallest)
            let zeroPoint = Int64(min(max((-lower / scale).rounded(.toNearestOrEven), 0), 255))
            let scaleName = allocator.fresh("\(activation)_scale")
            let zeroName = allocator.fresh("\(activation)_zero_point")
            let q = allocator.fresh("\(activation)_quantized"), dq = allocator.fresh("\(activation)_dequantized")
            graph.initializers.append(TensorValues.tensor(scaleName, dims: [], floats: [scale], as: type))
            graph.initializers.append(TensorValues.tensor(zeroName, dims: [], type: .uint8, bytes: [UInt8(zeroPoint)]))
            inserted[activation] = [
                Node("QuantizeLinear", inputs: [activation, scaleName, zeroName], outputs: [q], name: allocator.fresh("\(activation)_QuantizeLinear")),
                Node("DequantizeLinear", inputs: [q, scaleName, zeroName], outputs: [dq], name: allocator.fresh("\(activation)_DequantizeLinear")),
            ]
            replacement[activation] = dq
            quantized += 1
        }
        // Target operators read the dequantized value; each pair sits right after its producer.
        var nodes: [Node] = []
        for (name, pair) in inserted where graph.inputs.contains(where: { $0.name == name }) { nodes += pair }
        let graphInputs = Set(graph.inputs.map(\.name))
        for var n in graph.nodes {
            if n.isDefaultDomain && Self.targetOps.contains(n.opType) && !isExcluded(n) {
                n.inputs = n.inputs.map { replacement[$0] ?? $0 }
            }
            nodes.append(n)
            for o in n.outputs where !graphInputs.contains(o) { if let pair = inserted[o] { nodes += pair } }
        }
        graph.nodes = nodes
        model.mainGraph = graph
        let source = calibration.source.map { "\(samples.count) samples from \($0)" }
            ?? "\(samples.count) generated samples (seed \(calibration.seed); random inputs, not real data: ranges may not match deployment)"
        return PassOutcome(name: name, changed: quantized > 0,
                           summary: ["\(quantized) activations → uint8 QDQ (\(calibration.method.rawValue), \(source))"],
                           skipped: skipped.map { ($0.key, $0.value) }.sorted { $0.reason < $1.reason })
    }
}
