/// What `info` prints and the convert report compares: the model's signature, operators and
/// weights, computed from the graph alone (weight bytes are never read).
public struct ModelSummary: Sendable {
    public struct IOValue: Sendable {
        public var name: String
        public var type: String
    }
    public struct WeightBucket: Sendable {
        public var tensors = 0
        public var elements = 0
        public var bytes = 0
    }

    public var fileSize: Int
    public var compressed: Bool
    public var irVersion: Int64
    public var opsets: [(domain: String, version: Int64)]
    public var producer: String
    public var graphName: String
    public var inputs: [IOValue]
    public var outputs: [IOValue]
    /// Node count by op type over the main graph and all subgraphs (domain-qualified outside ai.onnx).
    public var opCounts: [(op: String, count: Int)]
    public var nodes = 0
    public var subgraphNodes = 0
    public var subgraphs = 0
    public var functions = 0
    public var parameters = 0
    public var weightBytes = 0
    /// Weights by element type.
    public var byDataType: [(dtype: String, bucket: WeightBucket)]
    /// Weights by where they live: initializers, Constant nodes, subgraphs, external files, …
    public var byLocation: [(location: String, bucket: WeightBucket)]
    public var externalFiles: [String]

    public init(_ loaded: LoadedModel) {
        self.init(loaded.model, fileSize: loaded.fileSize, compressed: loaded.wasCompressed)
    }

    public init(_ model: Model, fileSize: Int, compressed: Bool) {
        self.fileSize = fileSize
        self.compressed = compressed
        irVersion = model.irVersion
        opsets = model.opsetImports.map { ($0.domain.isEmpty ? "ai.onnx" : $0.domain, $0.version) }
        producer = [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        let graph = model.graph ?? Graph()
        graphName = graph.name
        let initializerNames = Set(graph.initializers.map(\.name))
        inputs = graph.inputs.filter { !initializerNames.contains($0.name) }.map {
            IOValue(name: $0.name, type: ModelSummary.describe($0.type))
        }
        outputs = graph.outputs.map { IOValue(name: $0.name, type: ModelSummary.describe($0.type)) }

        var ops: [String: Int] = [:]
        var nodes = 0, subNodes = 0, subgraphs = 0
        graph.forEachGraph { g, path in
            if path.depth == 0 { nodes += g.nodes.count } else { subNodes += g.nodes.count; subgraphs += 1 }
            for n in g.nodes { ops[n.isDefaultDomain ? n.opType : "\(n.domain).\(n.opType)", default: 0] += 1 }
        }
        for f in model.functions {
            for n in f.nodes { ops[n.isDefaultDomain ? n.opType : "\(n.domain).\(n.opType)", default: 0] += 1 }
        }
        self.nodes = nodes
        subgraphNodes = subNodes
        self.subgraphs = subgraphs
        functions = model.functions.count
        opCounts = ops.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }

        var byType: [String: WeightBucket] = [:]
        var byLocation: [String: WeightBucket] = [:]
        var files = Set<String>()
        var parameters = 0, bytes = 0
        model.forEachTensor { t, site in
            let elements = t.elementCount ?? 0
            let size = t.dataByteCount
            parameters += elements
            bytes += size
            byType[t.dataType.description, default: WeightBucket()].add(elements, size)
            let location: String
            if t.isExternal {
                location = "external files"
                if let l = t.externalData[key: "location"] { files.insert(l) }
            } else if site.inFunction {
                location = "functions"
            } else if site.depth > 0 {
                location = "subgraphs"
            } else {
                switch site.kind {
                case .initializer: location = "initializers"
                case .sparseInitializer: location = "sparse initializers"
                case .constantNode: location = "Constant nodes"
                case .attribute: location = "node attributes"
                }
            }
            byLocation[location, default: WeightBucket()].add(elements, size)
        }
        self.parameters = parameters
        weightBytes = bytes
        byDataType = byType.sorted { $0.value.bytes > $1.value.bytes }.map { ($0.key, $0.value) }
        self.byLocation = byLocation.sorted { $0.value.bytes > $1.value.bytes }.map { ($0.key, $0.value) }
        externalFiles = files.sorted()
    }

    /// "float32[batch,3,224,224]", "seq(float32[?])", "map(int64,float32)".
    public static func describe(_ type: TypeProto?) -> String {
        guard let type else { return "?" }
        switch type.value {
        case .none: return "?"
        case .tensor(let t), .sparseTensor(let t):
            let prefix: String
            if case .sparseTensor = type.value { prefix = "sparse " } else { prefix = "" }
            guard let shape = t.shape else { return "\(prefix)\(t.elemType)" }
            return "\(prefix)\(t.elemType)[\(shape.dims.map(\.description).joined(separator: ","))]"
        case .sequence(let c): return "seq(\(describe(c.elemType)))"
        case .optional(let c): return "optional(\(describe(c.elemType)))"
        case .map(let m): return "map(\(m.keyType),\(describe(m.valueType)))"
        case .opaque(let o): return "opaque(\(o.domain).\(o.name))"
        }
    }

    public var text: String {
        var lines: [String] = []
        lines.append("file        \(Formatting.bytes(fileSize))\(compressed ? " (zstd)" : "")")
        lines.append("ir_version  \(irVersion)")
        lines.append("opsets      " + opsets.map { "\($0.domain) \($0.version)" }.joined(separator: ", "))
        if !producer.isEmpty { lines.append("producer    \(producer)") }
        if !graphName.isEmpty { lines.append("graph       \(graphName)") }
        lines.append("inputs")
        lines.append(Formatting.table(inputs.map { [$0.name, $0.type] }))
        lines.append("outputs")
        lines.append(Formatting.table(outputs.map { [$0.name, $0.type] }))
        var nodeLine = "nodes       \(nodes + subgraphNodes)"
        if subgraphs > 0 { nodeLine += " (\(nodes) in the main graph, \(subgraphNodes) in \(subgraphs) subgraph\(subgraphs == 1 ? "" : "s"), counted below)" }
        if functions > 0 { nodeLine += ", \(functions) function\(functions == 1 ? "" : "s")" }
        lines.append(nodeLine)
        lines.append(Formatting.table(opCounts.map { [$0.op, String($0.count)] }))
        lines.append("parameters  \(Formatting.count(parameters)) (\(parameters)), \(Formatting.bytes(weightBytes))")
        if !byDataType.isEmpty {
            lines.append("by dtype")
            lines.append(Formatting.table(byDataType.map {
                [$0.dtype, Formatting.plural($0.bucket.tensors, "tensor"), Formatting.count($0.bucket.elements), Formatting.bytes($0.bucket.bytes)]
            }))
            lines.append("weights in")
            lines.append(Formatting.table(byLocation.map {
                [$0.location, Formatting.plural($0.bucket.tensors, "tensor"), Formatting.count($0.bucket.elements), Formatting.bytes($0.bucket.bytes)]
            }))
        }
        if !externalFiles.isEmpty { lines.append("external    " + externalFiles.joined(separator: ", ")) }
        return lines.joined(separator: "\n")
    }

    public var json: JSONValue {
        func bucket(_ b: WeightBucket) -> JSONValue {
            .object([("tensors", .int(b.tensors)), ("parameters", .int(b.elements)), ("bytes", .int(b.bytes))])
        }
        return .object([
            ("file_size", .int(fileSize)),
            ("compressed", .bool(compressed)),
            ("ir_version", .int(Int(irVersion))),
            ("opsets", .object(opsets.map { ($0.domain, .int(Int($0.version))) })),
            ("producer", .string(producer)),
            ("graph_name", .string(graphName)),
            ("inputs", .array(inputs.map { .object([("name", .string($0.name)), ("type", .string($0.type))]) })),
            ("outputs", .array(outputs.map { .object([("name", .string($0.name)), ("type", .string($0.type))]) })),
            ("nodes", .int(nodes + subgraphNodes)),
            ("main_graph_nodes", .int(nodes)),
            ("subgraph_nodes", .int(subgraphNodes)),
            ("subgraphs", .int(subgraphs)),
            ("functions", .int(functions)),
            ("op_counts", .object(opCounts.map { ($0.op, .int($0.count)) })),
            ("parameters", .int(parameters)),
            ("weight_bytes", .int(weightBytes)),
            ("by_dtype", .object(byDataType.map { ($0.dtype, bucket($0.bucket)) })),
            ("by_location", .object(byLocation.map { ($0.location, bucket($0.bucket)) })),
            ("external_files", .array(externalFiles.map { .string($0) })),
        ])
    }
}

extension ModelSummary.WeightBucket {
    mutating func add(_ elements: Int, _ bytes: Int) {
        tensors += 1
        self.elements += elements
        self.bytes += bytes
    }
}
