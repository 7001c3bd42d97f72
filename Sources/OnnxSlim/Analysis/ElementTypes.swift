/// Element types of the values of a graph, propagated forward from graph inputs, initializers,
/// Constant nodes and value_info. A lightweight stand-in until full shape/type inference: it knows
/// the ops whose output type differs from their first input and assumes the rest preserve it.
/// Unknown values are absent, not guessed. If/Loop/Scan outputs are typed from their bodies,
/// walked with the outer scope known: exporters often declare body outputs without a type.
struct ElementTypes {
    private(set) var types: [String: DataType] = [:]
    private(set) var ranks: [String: Int] = [:]

    /// `inputTypes` types the graph's inputs by position where they are declared without one
    /// (a Loop body's iteration count and carried values, a Scan body's slices).
    init(_ graph: Graph, outer: ElementTypes? = nil, inputTypes: [DataType?] = []) {
        if let outer { types = outer.types; ranks = outer.ranks }
        for (k, v) in graph.inputs.enumerated() {
            if k < inputTypes.count, let t = inputTypes[k] { types[v.name] = t }
        }
        for v in graph.inputs + graph.valueInfo + graph.outputs { record(v) }
        for t in graph.initializers {
            types[t.name] = t.dataType
            ranks[t.name] = t.dims.count
        }
        for node in graph.nodes { infer(node) }
    }

    private mutating func record(_ v: ValueInfo) {
        guard let t = v.type?.tensorType else { return }
        if t.elemType != .undefined { types[v.name] = t.elemType }
        if let shape = t.shape { ranks[v.name] = shape.dims.count }
    }

    private mutating func infer(_ node: Node) {
        guard let out = node.outputs.first, !out.isEmpty, types[out] == nil else { return }
        if node.opType == "Constant", let t = node.attribute("value")?.t { ranks[out] = t.dims.count }
        let first = node.inputs.first.flatMap { types[$0] }
        let result: DataType?
        switch node.opType {
        case "Constant":
            result = node.attribute("value")?.t?.dataType
                ?? (node.attribute("value_float") != nil || node.attribute("value_floats") != nil ? .float : .int64)
        case "Cast": result = node.attribute("to").map { DataType(Int32(truncatingIfNeeded: $0.i)) }
        case "CastLike": result = node.inputs.count > 1 ? types[node.inputs[1]] : nil
        case "Shape", "Size", "NonZero", "ArgMax", "ArgMin": result = .int64
        case "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Not", "And", "Or", "Xor",
             "IsNaN", "IsInf": result = .bool
        case "DequantizeLinear": result = node.inputs.count > 1 ? types[node.inputs[1]] : .float
        case "QuantizeLinear": result = node.inputs.count > 2 ? types[node.inputs[2]] : .uint8
        case "DynamicQuantizeLinear": result = .uint8
        case "MatMulInteger", "ConvInteger": result = .int32
        case "MatMulIntegerToFloat", "DynamicQuantizeMatMul": result = .float
        case "ConstantOfShape": result = node.attribute("value")?.t?.dataType ?? .float
        case "RandomNormal", "RandomUniform", "EyeLike", "RandomNormalLike", "RandomUniformLike":
            result = node.attribute("dtype").map { DataType(Int32(truncatingIfNeeded: $0.i)) } ?? first ?? .float
        case "Where": result = node.inputs.count > 1 ? types[node.inputs[1]] : nil
        case "OneHot": result = node.inputs.count > 2 ? types[node.inputs[2]] : nil
        case "If", "Loop", "Scan": result = nil
        default: result = first
        }
        if let result { types[out] = result }
        switch node.opType {
        case "TopK": if node.outputs.count > 1 { types[node.outputs[1]] = .int64 }
        case "Split", "LSTM", "GRU", "RNN", "DynamicQuantizeLSTM":
            for o in node.outputs where !o.isEmpty { types[o] = first }
        case "DynamicQuantizeLinear":
            // y (uint8), y_scale (float32), y_zero_point (uint8).
            for (o, t) in zip(node.outputs, [DataType.uint8, .float, .uint8]) where !o.isEmpty { types[o] = t }
        case "If":
            // Either branch may be the one that types an output.
            for name in ["then_branch", "else_branch"] {
                if let branch = node.attribute(name)?.g { declare(node.outputs, from: branch, outputs: branch.outputs.map(\.name)) }
            }
        case "Loop":
            // Body inputs: iteration count, condition, carried values; outputs: condition, then
            // the carried values and scan outputs.
            if let body = node.attribute("body")?.g {
                let carried = node.inputs.dropFirst(2).map { types[$0] }
                declare(node.outputs, from: body, outputs: body.outputs.dropFirst().map(\.name),
                        inputTypes: [.int64, .bool] + carried)
            }
        case "Scan":
            // Body inputs: the state values, then one slice of each scanned input (same type);
            // opset 8 puts sequence_lens first, which the body has no input for.
            if let body = node.attribute("body")?.g {
                let inputs = node.inputs.dropFirst(max(0, node.inputs.count - body.inputs.count)).map { types[$0] }
                declare(node.outputs, from: body, outputs: body.outputs.map(\.name), inputTypes: inputs)
            }
        default: break
        }
    }

    /// Types `outputs` from the body's values named `bodyOutputs`, inferred inside the body.
    private mutating func declare(_ outputs: [String], from body: Graph, outputs bodyOutputs: [String],
                                  inputTypes: [DataType?] = []) {
        let inner = ElementTypes(body, outer: self, inputTypes: inputTypes)
        for (o, v) in zip(outputs, bodyOutputs) where !o.isEmpty && types[o] == nil {
            if let t = inner.types[v] { types[o] = t }
        }
    }

    func type(of name: String) -> DataType? { types[name] }
    func rank(of name: String) -> Int? { ranks[name] }
}
