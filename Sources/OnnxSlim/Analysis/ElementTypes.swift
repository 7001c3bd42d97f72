/// Element types of the values of a graph, propagated forward from graph inputs, initializers,
/// Constant nodes and value_info. A lightweight stand-in until full shape/type inference: it knows
/// the ops whose output type differs from their first input and assumes the rest preserve it.
/// Unknown values are absent, not guessed.
struct ElementTypes {
    private(set) var types: [String: DataType] = [:]
    private(set) var ranks: [String: Int] = [:]

    init(_ graph: Graph, outer: ElementTypes? = nil) {
        if let outer { types = outer.types; ranks = outer.ranks }
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
        case "Split", "LSTM", "GRU", "RNN": for o in node.outputs where !o.isEmpty { types[o] = first }
        case "If":
            // Outputs take the types the then-branch declares.
            if let branch = node.attribute("then_branch")?.g { declare(node.outputs, from: branch.outputs) }
        case "Loop":
            // Body outputs: condition, then the loop-carried values and scan outputs.
            if let body = node.attribute("body")?.g { declare(node.outputs, from: Array(body.outputs.dropFirst())) }
        case "Scan":
            if let body = node.attribute("body")?.g { declare(node.outputs, from: body.outputs) }
        default: break
        }
    }

    private mutating func declare(_ outputs: [String], from declared: [ValueInfo]) {
        for (o, v) in zip(outputs, declared) where !o.isEmpty {
            if let t = v.type?.tensorType, t.elemType != .undefined { types[o] = t.elemType }
        }
    }

    func type(of name: String) -> DataType? { types[name] }
    func rank(of name: String) -> Int? { ranks[name] }
}
