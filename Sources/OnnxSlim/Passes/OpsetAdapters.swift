/// The adapters `OpsetUpgradePass` applies: for each operator, the opset version that changed its
/// signature or meaning, and how to rewrite a node written for the older version. Adapters of one
/// node run in version order (Upsample becomes Resize at 10, which the Resize adapter at 11 then
/// continues).
struct OpsetAdapters {
    let from: Int64
    let to: Int64
    var names: NameAllocator
    /// Nodes adapted, by operator.
    private(set) var adapted: [String: Int] = [:]

    init(from: Int64, to: Int64, names: NameAllocator) {
        self.from = from
        self.to = to
        self.names = names
    }

    typealias Adapter = (inout OpsetAdapters, Node, inout Scope) throws -> [Node]

    /// What an adapter may consult and add while rewriting one graph.
    struct Scope {
        var types: ElementTypes
        var newInitializers: [Tensor] = []
        /// Names read anywhere in this graph or its subgraphs, plus the graph outputs.
        var used: Set<String>
        var path: String
    }

    /// (operator, version that changed it, adapter), in version order; "*" applies to every operator.
    static let table: [(op: String, version: Int64, adapt: Adapter)] = (baseTable + reductionsTable + broadcastTable)
        .sorted { $0.version < $1.version }

    /// Opset 7 replaced the legacy `broadcast`/`axis` attributes with NumPy-style broadcasting.
    static let broadcastTable: [(op: String, version: Int64, adapt: Adapter)] =
        ["Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less"].map { op in
            (op, Int64(7), { a, n, s in try a.legacyBroadcast(n, &s) } as Adapter)
        }

    static let reductionsTable: [(op: String, version: Int64, adapt: Adapter)] =
        ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
         "ReduceLogSumExp", "ReduceSumSquare"].map { op in
            (op, Int64(18), { a, n, s in try a.attributesToInputs(n, [("axes", 1)], &s) } as Adapter)
        }

    static let baseTable: [(op: String, version: Int64, adapt: Adapter)] = [
        ("Pad", 2, { a, n, s in [a.renameAttribute(n, "paddings", to: "pads")] }),
        ("Concat", 4, { a, n, s in
            n.attribute("axis") == nil ? [a.withAttribute(n, .int("axis", 1))] : [n] }),   // default was 1
        ("Reshape", 5, { a, n, s in try a.attributesToInputs(n, [("shape", 1)], &s, asVector: true) }),
        ("*", 6, { a, n, s in [a.dropAttributes(n, ["consumed_inputs"])] }),
        ("Gemm", 7, { a, n, s in [a.dropAttributes(n, ["broadcast"])] }),
        ("LSTM", 7, { a, n, s in [a.dropAttributes(n, ["output_sequence"])] }),
        ("GRU", 7, { a, n, s in [a.dropAttributes(n, ["output_sequence"])] }),
        ("RNN", 7, { a, n, s in [a.dropAttributes(n, ["output_sequence"])] }),
        ("BatchNormalization", 7, { a, n, s in [a.dropAttributes(n, ["is_test", "consumed_inputs"])] }),
        ("BatchNormalization", 9, { a, n, s in [a.dropAttributes(n, ["spatial"])] }),
        ("BatchNormalization", 14, { a, n, s in try a.batchNormTrainingOutputs(n, &s) }),
        ("Dropout", 7, { a, n, s in [a.dropAttributes(n, ["is_test"])] }),
        ("Dropout", 12, { a, n, s in try a.dropout(n, &s) }),
        ("Upsample", 9, { a, n, s in try a.upsampleScalesToInput(n, &s) }),
        ("Upsample", 10, { a, n, s in try a.upsampleToResize(n, &s) }),
        ("Resize", 11, { a, n, s in try a.resize11(n, &s) }),
        ("Resize", 13, { a, n, s in try a.resize13(n, &s) }),
        ("Slice", 10, { a, n, s in try a.attributesToInputs(n, [("starts", 1), ("ends", 2), ("axes", 3)], &s) }),
        ("TopK", 10, { a, n, s in try a.attributesToInputs(n, [("k", 1)], &s, asVector: true) }),
        ("Pad", 11, { a, n, s in try a.pad11(n, &s) }),
        ("Clip", 11, { a, n, s in try a.clip11(n, &s) }),
        ("Scatter", 11, { a, n, s in var m = n; m.opType = "ScatterElements"; return [m] }),
        ("Squeeze", 13, { a, n, s in try a.attributesToInputs(n, [("axes", 1)], &s) }),
        ("Unsqueeze", 13, { a, n, s in try a.attributesToInputs(n, [("axes", 1)], &s) }),
        ("Split", 13, { a, n, s in try a.attributesToInputs(n, [("split", 1)], &s) }),
        ("ReduceSum", 13, { a, n, s in try a.attributesToInputs(n, [("axes", 1)], &s) }),
        ("Softmax", 13, { a, n, s in try a.softmax13(n, &s) }),
        ("LogSoftmax", 13, { a, n, s in try a.softmax13(n, &s) }),
        ("Hardmax", 13, { a, n, s in try a.softmax13(n, &s) }),
        // RoiAlign-16 added coordinate_transformation_mode with a new default; keep the old meaning.
        ("RoiAlign", 16, { a, n, s in
            n.attribute("coordinate_transformation_mode") == nil
                ? [a.withAttribute(n, .string("coordinate_transformation_mode", "output_half_pixel"))] : [n] }),
        // Split-18 wants num_outputs when no split sizes are given.
        ("Split", 18, { a, n, s in
            n.inputs.count > 1 && !n.inputs[1].isEmpty ? [n] : [a.withAttribute(n, .int("num_outputs", Int64(n.outputs.count)))] }),
        ("DFT", 20, { a, n, s in try a.dft20(n, &s) }),
        ("GridSample", 20, { a, n, s in [a.gridSample20(n)] }),
        ("GroupNormalization", 21, { a, n, s in throw a.cannot(n, s, "its scale and bias changed meaning in opset 21") }),
        ("Scan", 9, { a, n, s in throw a.cannot(n, s, "Scan-8's batch axis has no opset-9 equivalent here") }),
    ]

    /// Experimental operators ONNX removed; no adapter can keep them.
    static let removedOperators: Set<String> = [
        "ATen", "Affine", "ConstantFill", "Crop", "DynamicSlice", "GRUUnit", "GivenTensorFill",
        "ImageScaler", "ParametricSoftplus", "Scale", "ScaledTanh",
    ]

    // MARK: - Driving

    mutating func upgrade(_ graph: inout Graph, outer: ElementTypes?) throws {
        let types = ElementTypes(graph, outer: outer)
        var used = Set(graph.outputs.map(\.name))
        graph.forEachGraph { g, _ in for n in g.nodes { used.formUnion(n.inputs) }; used.formUnion(g.outputs.map(\.name)) }
        var scope = Scope(types: types, used: used, path: graph.name.isEmpty ? "graph" : "graph '\(graph.name)'")
        var rewritten: [Node] = []
        rewritten.reserveCapacity(graph.nodes.count)
        for var node in graph.nodes {
            for a in node.attributes.indices {
                try node.attributes[a].mutateSubgraphs { try upgrade(&$0, outer: types) }
            }
            guard node.isDefaultDomain else { rewritten.append(node); continue }
            if Self.removedOperators.contains(node.opType) {
                throw cannot(node, scope, "it is an experimental operator ONNX removed")
            }
            var current = [node]
            for entry in Self.table where entry.version > from && entry.version <= to {
                current = try current.flatMap { n -> [Node] in
                    guard entry.op == "*" || n.opType == entry.op, n.isDefaultDomain else { return [n] }
                    let result = try entry.adapt(&self, n, &scope)
                    if result != [n] { adapted[n.opType, default: 0] += 1 }
                    return result
                }
            }
            rewritten.append(contentsOf: current)
        }
        graph.nodes = rewritten
        graph.initializers += scope.newInitializers
    }

    func cannot(_ node: Node, _ scope: Scope, _ why: String) -> OnnxSlimError {
        let label = node.name.isEmpty ? node.opType : "\(node.opType) '\(node.name)'"
        return OnnxSlimError(.badInput, "cannot upgrade \(label) in \(scope.path) from opset \(from) to \(to): \(why)")
    }

    // MARK: - Helpers

    func withAttribute(_ node: Node, _ attribute: Attribute) -> Node {
        var n = node
        n.attributes.removeAll { $0.name == attribute.name }
        n.attributes.append(attribute)
        return n
    }

    func renameAttribute(_ node: Node, _ old: String, to new: String) -> Node {
        var n = node
        for k in n.attributes.indices where n.attributes[k].name == old { n.attributes[k].name = new }
        return n
    }

    func dropAttributes(_ node: Node, _ names: Set<String>) -> Node {
        var n = node
        n.attributes.removeAll { names.contains($0.name) }
        return n
    }

    /// An initializer holding `tensor` under a fresh name derived from the node.
    mutating func constant(_ tensor: Tensor, for node: Node, _ what: String, _ scope: inout Scope) -> String {
        var t = tensor
        t.name = names.fresh("\(node.name.isEmpty ? node.opType : node.name)_\(what)")
        scope.newInitializers.append(t)
        return t.name
    }

    /// Moves int attributes to inputs at the given positions (missing attributes become "" when
    /// a later input is present; trailing ones are left out).
    mutating func attributesToInputs(_ node: Node, _ moves: [(name: String, input: Int)], _ scope: inout Scope,
                                     asVector: Bool = false) throws -> [Node] {
        var n = node
        var inputs = n.inputs
        for (name, position) in moves {
            guard let a = n.attribute(name) else { continue }
            let isScalar = a.type == .int
            let values = isScalar ? [a.i] : a.ints
            let dims: [Int64] = isScalar && !asVector ? [] : [Int64(values.count)]
            let input = constant(TensorValues.tensor("", dims: dims, int64s: values), for: node, name, &scope)
            while inputs.count < position { inputs.append("") }
            if inputs.count == position { inputs.append(input) } else { inputs[position] = input }
            n.attributes.removeAll { $0.name == name }
        }
        n.inputs = inputs
        return [n]
    }

    /// A scalar of the element type of `value` (for Pad's constant_value, Clip's bounds).
    func scalar(_ x: Double, like value: String, _ node: Node, _ scope: Scope) throws -> Tensor {
        guard let type = scope.types.type(of: value) else {
            throw cannot(node, scope, "the element type of '\(value)' is unknown")
        }
        switch type {
        case .float, .float16, .bfloat16: return TensorValues.tensor("", dims: [], floats: [Float(x)], as: type)
        case .double: return Tensor(name: "", dataType: .double, dims: [], raw: ByteView(copying: withUnsafeBytes(of: x) { Array($0) }))
        case .int64: return TensorValues.tensor("", dims: [], int64s: [Int64(x)])
        case .int32: return Tensor(name: "", dataType: .int32, dims: [], raw: ByteView(copying: withUnsafeBytes(of: Int32(x)) { Array($0) }))
        case .int8: return Tensor(name: "", dataType: .int8, dims: [], raw: ByteView(copying: [UInt8(bitPattern: Int8(x))]))
        case .uint8: return Tensor(name: "", dataType: .uint8, dims: [], raw: ByteView(copying: [UInt8(x)]))
        default: throw cannot(node, scope, "a \(type) bound is not supported")
        }
    }

    // MARK: - Adapters

    mutating func pad11(_ node: Node, _ scope: inout Scope) throws -> [Node] {
        var n = node
        guard let pads = n.attribute("pads") ?? n.attribute("paddings") else { throw cannot(node, scope, "it has no pads") }
        var inputs = [n.inputs[0], constant(TensorValues.tensor("", dims: [Int64(pads.ints.count)], int64s: pads.ints), for: node, "pads", &scope)]
        if let value = n.attribute("value"), value.f != 0 {
            inputs.append(constant(try scalar(Double(value.f), like: n.inputs[0], node, scope), for: node, "constant_value", &scope))
        }
        n.inputs = inputs
        n.attributes.removeAll { ["pads", "paddings", "value"].contains($0.name) }
        return [n]
    }

    mutating func clip11(_ node: Node, _ scope: inout Scope) throws -> [Node] {
        var n = node
        var inputs = [n.inputs[0]]
        let lo = n.attribute("min"), hi = n.attribute("max")
        if let lo { inputs.append(constant(try scalar(Double(lo.f), like: n.inputs[0], node, scope), for: node, "min", &scope)) }
        if let hi {
            if lo == nil { inputs.append("") }
            inputs.append(constant(try scalar(Double(hi.f), like: n.inputs[0], node, scope), for: node, "max", &scope))
        }
        n.inputs = inputs
        n.attributes.removeAll { $0.name == "min" || $0.name == "max" }
        return [n]
    }

    /// Inference-time Dropout is the identity; a kept mask output moves the ratio to an input.
    mutating func dropout(_ node: Node, _ scope: inout Scope) throws -> [Node] {
        let maskUsed = node.outputs.count > 1 && !node.outputs[1].isEmpty && scope.used.contains(node.outputs[1])
        if !maskUsed {
            var identity = Node("Identity", inputs: [node.inputs[0]], outputs: [node.outputs[0]], name: node.name)
            identity.docString = node.docString
            return [identity]
        }
        var n = dropAttributes(node, ["ratio", "is_test"])
        let ratio = node.attribute("ratio")?.f ?? 0.5
        n.inputs = [node.inputs[0], constant(TensorValues.tensor("", dims: [], floats: [ratio]), for: node, "ratio", &scope)]
        return [n]
    }

    /// BatchNormalization-14 has only Y in inference; older training outputs must be unused.
    mutating func batchNormTrainingOutputs(_ node: Node, _ scope: inout Scope) throws -> [Node] {
        guard node.outputs.count > 1 else { return [node] }
        if node.outputs.dropFirst().contains(where: { !$0.isEmpty && scope.used.contains($0) }) {
            throw cannot(node, scope, "its training outputs are used")
        }
        var n = node
        n.outputs = [node.outputs[0]]
        return [n]
    }

    /// Before opset 7, `broadcast = 1` with `axis` aligned B's dimensions with A's starting at
    /// `axis`; NumPy-style broadcasting aligns trailing dimensions, so B gets trailing 1s.
    mutating func legacyBroadcast(_ node: Node, _ scope: inout Scope) throws -> [Node] {
        var n = dropAttributes(node, ["broadcast", "axis"])
        guard node.attribute("broadcast")?.i == 1, let axis = node.attribute("axis")?.i, node.inputs.count > 1 else { return [n] }
        guard let rankA = scope.types.rank(of: node.inputs[0]), let rankB = scope.types.rank(of: node.inputs[1]) else {
            throw cannot(node, scope, "legacy broadcasting along axis \(axis) needs the ranks of its inputs")
        }
        let a = axis < 0 ? Int64(rankA) + axis : axis
        let trailing = Int64(rankA) - a - Int64(rankB)
        guard trailing > 0 else { return [n] }
        let expanded = names.fresh("\(node.inputs[1])_aligned")
        let unsqueeze = Node("Unsqueeze", inputs: [node.inputs[1]], outputs: [expanded],
                             name: names.fresh("\(node.name.isEmpty ? node.opType : node.name)/align"),
                             attributes: [.ints("axes", Array(Int64(rankB)..<(Int64(rankB) + trailing)))])
        n.inputs[1] = expanded
        return [unsqueeze, n]
    }

    /// Upsample-9 takes its scales as an input.
    mutating func upsampleScalesToInput(_ node: Node, _ scope: inout Scope) throws -> [Node] {
        guard let scales = node.attribute("scales") else { return [node] }
        var n = node
        n.inputs = [node.inputs[0], constant(TensorValues.tensor("", dims: [Int64(scales.floats.count)], floats: scales.floats), for: node, "scales", &scope)]
        n.attributes.removeAll { $0.name == "scales" }
        return [n]
    }

    /// DFT-20 takes the axis as an input (same meaning, the default moved from 1 to -2).
    mutating func dft20(_ node: Node, _ scope: inout Scope) throws -> [Node] {
        var n = dropAttributes(node, ["axis"])
        let axis = node.attribute("axis")?.i ?? 1
        var inputs = node.inputs
        while inputs.count < 2 { inputs.append("") }
        inputs = Array(inputs.prefix(2)) + [constant(TensorValues.tensor("", dims: [], int64s: [axis]), for: node, "axis", &scope)]
        n.inputs = inputs
        return [n]
    }

    /// GridSample-20 renamed its modes (bilinear → linear, bicubic → cubic).
    func gridSample20(_ node: Node) -> Node {
        guard let mode = node.attribute("mode")?.stringValue else { return node }
        let renamed = ["bilinear": "linear", "bicubic": "cubic"][mode] ?? mode
        return withAttribute(node, .string("mode", renamed))
    }

    /// Upsample (opset 7–9) is Resize-10 with the same meaning; opset 7–8 kept scales in an attribute.
    mutating func upsampleToResize(_ node: Node, _ scope: inout Scope) throws -> [Node] {
        guard node.attribute("scales") != nil || node.inputs.count > 1 else {
            throw cannot(node, scope, "it is the experimental Upsample without scales")
        }
        var n = node
        n.opType = "Resize"
        if let scales = n.attribute("scales") {
            n.inputs = [n.inputs[0], constant(TensorValues.tensor("", dims: [Int64(scales.floats.count)], floats: scales.floats), for: node, "scales", &scope)]
            n.attributes.removeAll { $0.name == "scales" }
        }
        return [n]
    }

    /// Resize-11 adds roi and coordinate modes; Resize-10's meaning is the asymmetric transform
    /// with floor rounding for nearest.
    mutating func resize11(_ node: Node, _ scope: inout Scope) throws -> [Node] {
        var n = node
        let roi = to >= 13 ? "" : constant(TensorValues.tensor("", dims: [0], floats: []), for: node, "roi", &scope)
        n.inputs = [n.inputs[0], roi] + n.inputs.dropFirst()
        n.attributes.removeAll { $0.name == "coordinate_transformation_mode" || $0.name == "nearest_mode" }
        n.attributes.append(.string("coordinate_transformation_mode", "asymmetric"))
        let mode = n.attribute("mode")?.stringValue ?? "nearest"
        if mode == "nearest" { n.attributes.append(.string("nearest_mode", "floor")) }
        return [n]
    }

    mutating func resize13(_ node: Node, _ scope: inout Scope) throws -> [Node] {
        if node.attribute("coordinate_transformation_mode")?.stringValue == "tf_half_pixel_for_nn" {
            throw cannot(node, scope, "coordinate_transformation_mode tf_half_pixel_for_nn was removed in opset 13")
        }
        return [node]
    }

    /// Before 13, Softmax flattened its input to 2-D at `axis` (default 1); from 13 it works on
    /// one axis (default -1). Same meaning when the axis is the last; otherwise flatten, apply on
    /// the last axis and reshape back.
    mutating func softmax13(_ node: Node, _ scope: inout Scope) throws -> [Node] {
        let axis = node.attribute("axis")?.i ?? 1
        let rank = scope.types.rank(of: node.inputs[0])
        var n = node
        n.attributes.removeAll { $0.name == "axis" }
        if axis == -1 || rank.map({ axis == Int64($0 - 1) }) == true {
            n.attributes.append(.int("axis", -1))
            return [n]
        }
        let x = node.inputs[0], y = node.outputs[0]
        let base = node.name.isEmpty ? node.opType : node.name
        let shape = names.fresh("\(y)_input_shape"), flat = names.fresh("\(y)_flat"), flatOut = names.fresh("\(y)_flat_out")
        n.inputs = [flat]
        n.outputs = [flatOut]
        n.attributes.append(.int("axis", -1))
        return [
            Node("Shape", inputs: [x], outputs: [shape], name: names.fresh("\(base)/Shape")),
            Node("Flatten", inputs: [x], outputs: [flat], name: names.fresh("\(base)/Flatten"), attributes: [.int("axis", axis)]),
            n,
            Node("Reshape", inputs: [flatOut, shape], outputs: [y], name: names.fresh("\(base)/Reshape")),
        ]
    }
}
