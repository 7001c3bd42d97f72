/// Why a node that computes on float32 values stays float32.
enum Float32Reason: String, CaseIterable, Sendable {
    case operatorNeedsFloat32 = "operator needs float32"
    case integerQuantized = "integer-quantized op or its scales"
    case unknownInputType = "an input's type is unknown"
    case beyondHalfRange = "values beyond float16 range"
    case halfOverflow = "float16 result overflows"
}

/// The rewrite behind `FloatPrecisionPass`, for one graph (subgraphs are not converted).
struct FloatPrecisionRewriter {
    let target: DataType
    let keepIOTypes: Bool
    let opset: Int64
    /// Nodes (by index in the graph) kept float32 by the caller, with the reason.
    var keep: [Int: Float32Reason] = [:]
    private(set) var convertedNodes = 0
    private(set) var kept: [Float32Reason: Int] = [:]
    private(set) var convertedWeights = 0
    private(set) var casts = 0
    /// For each node of the rewritten graph, the index of the node it came from (nil for a Cast
    /// this rewrite inserted).
    private(set) var origins: [Int?] = []

    init(target: DataType, keepIOTypes: Bool, opset: Int64) {
        self.target = target
        self.keepIOTypes = keepIOTypes
        self.opset = opset
    }

    var keptNodes: Int { kept.values.reduce(0, +) }

    mutating func convert(_ graph: inout Graph, names: inout NameAllocator, reader: ExternalDataReader) throws {
        let types = ElementTypes(graph)
        func isFloat32(_ v: String) -> Bool { !v.isEmpty && types.type(of: v) == .float }
        var keep = self.keep
        for k in IntegerQuantizedRegion.nodes(graph) where keep[k] == nil { keep[k] = .integerQuantized }

        // Which nodes compute in the target type.
        var converted = [Bool](repeating: false, count: graph.nodes.count)
        for (k, n) in graph.nodes.enumerated() {
            let touchesFloat = n.inputs.contains(where: isFloat32) || n.outputs.contains(where: isFloat32)
            guard touchesFloat, !n.isConstant else { continue }
            if let reason = keep[k] {
                kept[reason, default: 0] += 1
            } else if !n.isDefaultDomain || FloatPrecisionPass.keepFloat32.contains(n.opType) {
                kept[.operatorNeedsFloat32, default: 0] += 1
            } else if n.inputs.contains(where: { !$0.isEmpty && types.type(of: $0) == nil }) {
                // It may be float32: a converted node would read it beside float16 values.
                kept[.unknownInputType, default: 0] += 1
            } else {
                converted[k] = true
                convertedNodes += 1
            }
        }

        // Each float32 value's type after conversion, and what each consumer needs.
        var newType: [String: DataType] = [:]
        var wants: [String: Set<DataType>] = [:]
        // Outer values subgraphs read: they stay float32 under their names (subgraphs are not converted).
        var readBySubgraphs = Set<String>()
        let index = GraphIndex(graph, weights: false).main
        for (k, n) in graph.nodes.enumerated() {
            let pinned = converted[k] ? FloatPrecisionPass.float32Inputs(n, opset: opset) : []
            for (i, v) in n.inputs.enumerated() where isFloat32(v) {
                wants[v, default: []].insert(converted[k] && !pinned.contains(i) ? target : .float)
            }
            for v in index.subgraphReads[k] where isFloat32(v) {
                wants[v, default: []].insert(.float)
                readBySubgraphs.insert(v)
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
        origins = []
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
            origins.append(nil)
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
            origins.append(k)
            out += restores
            origins += restores.map { _ in nil }
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
