/// `--quantize fp16|bf16`: runs the float computation in float16 (or bfloat16).
///
/// Every float32 value gets a new type: outputs of converted nodes and weights read only by them
/// become the target type; graph inputs and outputs stay float32 with `keepIOTypes`; operators
/// that need float32 for precision or by signature keep it (Range, random ops, NonMaxSuppression,
/// CumSum, Q/DQ, control flow whose subgraphs read outer values, non-ONNX domains), and so do
/// inputs that must be float32 (Resize/Upsample scales and roi, BatchNormalization statistics).
/// Where a consumer's type differs from its producer's, one Cast per (value, type) is inserted.
///
///     x (float32) → Cast(to fp16) → MatMul(W fp16) → Add → Relu → Cast(to float32) → y (float32)
public struct FloatPrecisionPass: ModelPass {
    public let target: DataType
    public let keepIOTypes: Bool

    public init(target: DataType, keepIOTypes: Bool = true) {
        precondition(target == .float16 || target == .bfloat16)
        self.target = target
        self.keepIOTypes = keepIOTypes
    }

    public var name: String { "convert to \(target)" }

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
        var names = NameAllocator(model)
        var graph = model.mainGraph
        var converter = FloatPrecisionRewriter(target: target, keepIOTypes: keepIOTypes, opset: model.opsetVersion() ?? 1)
        try converter.convert(&graph, names: &names, reader: context.reader)
        model.mainGraph = graph
        var summary = ["\(converter.convertedNodes) nodes in \(target), \(converter.convertedWeights) weights converted, \(converter.casts) Casts inserted"]
        if converter.keptNodes > 0 { summary.append("\(converter.keptNodes) nodes kept in float32") }
        return PassOutcome(name: name, changed: converter.convertedNodes > 0 || converter.convertedWeights > 0, summary: summary)
    }
}

/// The rewrite behind `FloatPrecisionPass`, for one graph.
struct FloatPrecisionRewriter {
    let target: DataType
    let keepIOTypes: Bool
    let opset: Int64
    private(set) var convertedNodes = 0
    private(set) var keptNodes = 0
    private(set) var convertedWeights = 0
    private(set) var casts = 0

    init(target: DataType, keepIOTypes: Bool, opset: Int64) {
        self.target = target
        self.keepIOTypes = keepIOTypes
        self.opset = opset
    }

    mutating func convert(_ graph: inout Graph, names: inout NameAllocator, reader: ExternalDataReader) throws {
        let types = ElementTypes(graph)
        func isFloat32(_ v: String) -> Bool { !v.isEmpty && types.type(of: v) == .float }

        // Which nodes compute in the target type.
        var converted = [Bool](repeating: false, count: graph.nodes.count)
        for (k, n) in graph.nodes.enumerated() {
            let touchesFloat = n.inputs.contains(where: isFloat32) || n.outputs.contains(where: isFloat32)
            guard touchesFloat else { continue }
            if n.isDefaultDomain && !FloatPrecisionPass.keepFloat32.contains(n.opType) && !n.isConstant {
                converted[k] = true
                convertedNodes += 1
            } else if !n.isConstant {
                keptNodes += 1
            }
        }

        // Each float32 value's type after conversion, and what each consumer needs.
        var newType: [String: DataType] = [:]
        var wants: [String: Set<DataType>] = [:]
        // Outer values subgraphs read: they stay float32 under their names (subgraphs are not converted).
        var readBySubgraphs = Set<String>()
        for (k, n) in graph.nodes.enumerated() {
            let pinned = converted[k] ? FloatPrecisionPass.float32Inputs(n, opset: opset) : []
            for (i, v) in n.inputs.enumerated() where isFloat32(v) {
                wants[v, default: []].insert(converted[k] && !pinned.contains(i) ? target : .float)
            }
            for sub in n.subgraphs {
                for v in ModelValidator(fileName: "").freeNames(of: sub) where isFloat32(v) {
                    wants[v, default: []].insert(.float)
                    readBySubgraphs.insert(v)
                }
            }
            for o in n.outputs where isFloat32(o) { newType[o] = converted[k] ? target : .float }
        }
        for o in graph.outputs where isFloat32(o.name) { wants[o.name, default: []].insert(keepIOTypes ? .float : target) }
        // Inputs read by subgraphs stay float32: the subgraphs are not converted.
        let initializerNames = Set(graph.initializers.map(\.name))
        for v in graph.inputs where isFloat32(v.name) && !initializerNames.contains(v.name) {
            newType[v.name] = keepIOTypes || wants[v.name]?.contains(.float) == true ? .float : target
        }

        // Weights (initializers, Constant nodes) take the type their consumers want; when they
        // disagree, float32 stays and the others read a cast.
        var weightNames = Set<String>()
        for k in graph.initializers.indices where graph.initializers[k].dataType == .float {
            let name = graph.initializers[k].name
            weightNames.insert(name)
            if wants[name] == [target] && newType[name] == nil {
                graph.initializers[k] = try convertTensor(graph.initializers[k], reader)
                newType[name] = target
            } else if newType[name] == nil {
                newType[name] = .float
            }
        }
        for k in graph.nodes.indices where graph.nodes[k].isConstant {
            guard let o = graph.nodes[k].outputs.first, isFloat32(o), let t = graph.nodes[k].attribute("value")?.t else { continue }
            weightNames.insert(o)
            if wants[o] == [target] {
                graph.nodes[k].attributes = [.tensor("value", try convertTensor(t, reader))]
                newType[o] = target
            } else {
                newType[o] = .float
            }
        }

        // Values that must keep their name as float32 (graph outputs, names subgraphs read) but
        // come from a converted node: the node writes a renamed value, a Cast restores the name.
        var renamed: [String: String] = [:]
        let graphInputs = Set(graph.inputs.map(\.name)).subtracting(initializerNames)
        let graphOutputs = Set(graph.outputs.map(\.name))
        for (v, w) in wants where w.contains(.float) && newType[v] == target && !weightNames.contains(v) && !graphInputs.contains(v) {
            if graphOutputs.contains(v) || readBySubgraphs.contains(v) { renamed[v] = names.fresh("\(v)_\(target)") }
        }

        // Rebuild the node list with casts.
        var out: [Node] = []
        out.reserveCapacity(graph.nodes.count * 2)
        var castCache: [String: String] = [:]   // "value|type" → cast output
        func value(_ v: String, as type: DataType) -> String {
            let actual = renamed[v].map { _ in target } ?? newType[v] ?? .float
            let source = renamed[v] ?? v
            if actual == type { return source }
            // The renamed value's float32 form is the original name itself.
            if renamed[v] != nil && type == .float { return v }
            let key = "\(v)|\(type.rawValue)"
            if let c = castCache[key] { return c }
            let c = names.fresh("\(v)_\(type)")
            out.append(Node("Cast", inputs: [source], outputs: [c], name: names.fresh("\(v)/Cast_\(type)"),
                            attributes: [.int("to", Int64(type.rawValue))]))
            casts += 1
            castCache[key] = c
            return c
        }
        for (k, original) in graph.nodes.enumerated() {
            var n = original
            let pinned = converted[k] ? FloatPrecisionPass.float32Inputs(n, opset: opset) : []
            for (i, v) in n.inputs.enumerated() where isFloat32(v) {
                n.inputs[i] = value(v, as: converted[k] && !pinned.contains(i) ? target : .float)
            }
            if converted[k] { adaptAttributes(&n) }
            var restores: [Node] = []
            for (i, o) in n.outputs.enumerated() {
                guard let r = renamed[o] else { continue }
                n.outputs[i] = r
                restores.append(Node("Cast", inputs: [r], outputs: [o], name: names.fresh("\(o)/Cast_float"),
                                     attributes: [.int("to", Int64(DataType.float.rawValue))]))
                casts += 1
            }
            out.append(n)
            out += restores
        }
        graph.nodes = out

        // Declared types follow.
        for k in graph.valueInfo.indices {
            let v = graph.valueInfo[k].name
            if newType[v] == target && renamed[v] == nil { setElemType(&graph.valueInfo[k], target) }
        }
        for k in graph.inputs.indices where initializerNames.contains(graph.inputs[k].name) && newType[graph.inputs[k].name] == target {
            setElemType(&graph.inputs[k], target)   // a converted weight that is also declared as an input (IR 3)
        }
        if !keepIOTypes {
            for k in graph.inputs.indices where newType[graph.inputs[k].name] == target { setElemType(&graph.inputs[k], target) }
            // Outputs of nodes kept in float32 stay float32.
            for k in graph.outputs.indices where newType[graph.outputs[k].name] == target { setElemType(&graph.outputs[k], target) }
        }
    }

    /// Attributes that name the float type the node produces.
    private func adaptAttributes(_ n: inout Node) {
        // ConstantOfShape without `value` fills float32 zeros (torch's LSTM initial states).
        if n.opType == "ConstantOfShape" && n.attribute("value") == nil {
            n.attributes.append(.tensor("value", TensorValues.tensor("", dims: [1], floats: [0], as: target)))
        }
        for a in n.attributes.indices {
            switch (n.opType, n.attributes[a].name) {
            case ("Cast", "to") where n.attributes[a].i == Int64(DataType.float.rawValue):
                n.attributes[a].i = Int64(target.rawValue)
            case ("ConstantOfShape", "value"):
                if let t = n.attributes[a].t, t.dataType == .float, let v = try? TensorValues.floats(t, reader: ExternalDataReader()) {
                    n.attributes[a].t = TensorValues.tensor(t.name, dims: t.dims, floats: v, as: target)
                }
            case ("EyeLike", "dtype") where n.attributes[a].i == Int64(DataType.float.rawValue):
                n.attributes[a].i = Int64(target.rawValue)
            default: break
            }
        }
    }

    private mutating func convertTensor(_ t: Tensor, _ reader: ExternalDataReader) throws -> Tensor {
        let values = try TensorValues.floats(t, reader: reader)
        convertedWeights += 1
        var c = TensorValues.tensor(t.name, dims: t.dims, floats: values, as: target)
        c.docString = t.docString
        c.metadata = t.metadata
        return c
    }

    private func setElemType(_ v: inout ValueInfo, _ type: DataType) {
        guard var t = v.type, case .tensor(var tt) = t.value else { return }
        tt.elemType = type
        t.value = .tensor(tt)
        v.type = t
    }
}
