/// Shape and type inference over a whole model: every value's element type and dims (symbolic
/// where the model's inputs are), every node's cost, into subgraphs. Rules live beside each
/// operator's evaluation (Ops/…); this walks graphs, binds values, folds small constants through
/// the evaluator's kernels, and records what it could not infer and why. Weight bytes are read
/// only for small integer tensors (shapes, axes) and tiny float ones (Resize scales).
public enum ShapeInference {
    public struct Options: Sendable {
        /// Fixed shapes for graph inputs (`--input-shape name:1,3,224,224`).
        public var inputShapes: [String: [Int]] = [:]
        /// Values for symbolic dims (`--dim batch=1`).
        public var dims: [String: Int] = [:]
        /// Keep every graph's inferred values in `Result.graphValues` (for checking declared
        /// value_info); off for `info`, which needs only the records.
        public var keepGraphValues = false
        public init() {}
    }

    /// One node as inferred.
    public struct NodeRecord: Sendable {
        public var name: String
        public var opType: String
        public var domain: String
        /// 0 for the main graph, 1 inside an If branch or Loop body, …
        public var depth: Int
        public var outputNames: [String]
        public var outputs: [InferredValue]
        /// Nil when the rule could not run (the cost is unknown).
        public var macs: DimExpr?
        public var flops: DimExpr?
        /// Elements of the weights this node is the first to read.
        public var parameters: Int
        /// Why outputs are not (fully) known.
        public var gap: String?

        public var qualifiedOp: String { domain.isEmpty || domain == "ai.onnx" ? opType : "\(domain).\(opType)" }
    }

    public struct Result: Sendable {
        public var inputs: [(name: String, value: InferredValue)]
        public var outputs: [(name: String, value: InferredValue)]
        /// Nodes in evaluation order, subgraph nodes right after their owner's record.
        public var nodes: [NodeRecord]
        /// Weight elements no node reads.
        public var unreadParameters: Int
        public var peak: PeakActivation.Estimate?
        /// With `Options.keepGraphValues`: each graph's values (inputs, weights, node outputs) by
        /// graph path, one dictionary per time the graph was inferred (a Loop body may be
        /// inferred more than once).
        public var graphValues: [GraphPath: [[String: InferredValue]]] = [:]
        /// Values whose type or dims are not (fully) inferred, with the reason.
        public var gaps: [(value: String, reason: String)] {
            var out: [(String, String)] = []
            for r in nodes {
                for (name, v) in zip(r.outputNames, r.outputs) where !name.isEmpty && !v.isComplete {
                    out.append((name, v.reason ?? r.gap ?? "dims known only at run time"))
                }
            }
            return out
        }
    }

    public static func run(_ model: Model, reader: ExternalDataReader = ExternalDataReader(),
                           options: Options = Options()) throws -> Result {
        let context = Context(opset: Int(model.opsetVersion() ?? 1), reader: reader, options: options)
        let graph = model.mainGraph
        let initializerNames = Set(graph.initializers.map(\.name))
        var inputs: [InferredValue?] = []
        var declared: [(String, InferredValue)] = []
        for info in graph.inputs {
            if initializerNames.contains(info.name) { inputs.append(nil); continue }
            var v = InferredValue(declared: info.type, name: info.name)
            if let fixed = options.inputShapes[info.name] {
                if let rank = v.shape?.count, rank != fixed.count {
                    throw OnnxSlimError.usage("--input-shape \(info.name) gives \(fixed.count) dims; the model declares \(rank)")
                }
                v.shape = fixed.map { DimExpr($0) }
            }
            v.shape = v.shape?.map { $0.substituting(options.dims) }
            inputs.append(v)
            declared.append((info.name, v))
        }
        for name in options.inputShapes.keys where !graph.inputs.contains(where: { $0.name == name && !initializerNames.contains(name) }) {
            throw OnnxSlimError.usage("--input-shape names '\(name)', which is not a graph input")
        }
        let walk = try context.infer(graph, inputs: inputs, parent: nil, depth: 0, path: .main)
        var total = 0
        model.forEachTensor { t, _ in total += t.elementCount ?? 0 }
        let read = context.records.reduce(0) { $0 + $1.parameters }
        let peak = PeakActivation.estimate(walk, records: context.records, bindings: options.dims)
        return Result(inputs: declared, outputs: zip(graph.outputs.map(\.name), walk.outputs).map { ($0, $1) },
                      nodes: context.records, unreadParameters: max(0, total - read), peak: peak,
                      graphValues: context.graphValues)
    }

    /// Values visible in one graph, in front of those of enclosing graphs.
    final class Scope {
        var values: [String: InferredValue] = [:]
        /// Weights of this graph (initializers, Constant outputs) not yet attributed to a reader.
        var unreadWeights: [String: Int] = [:]
        let parent: Scope?
        init(parent: Scope?) { self.parent = parent }

        func lookup(_ name: String) -> InferredValue? { values[name] ?? parent?.lookup(name) }

        /// Removes and returns the element count of weight `name` on its first read.
        func takeWeight(_ name: String) -> Int {
            if let n = unreadWeights.removeValue(forKey: name) { return n }
            return values[name] == nil ? parent?.takeWeight(name) ?? 0 : 0
        }
    }

    /// What one graph walk produced (peak memory needs the order and the values).
    struct GraphWalk {
        var outputs: [InferredValue]
        /// Main-graph steps in order: the values each creates and the values it reads last
        /// (graph outputs are never released).
        var steps: [(record: Int, creates: [String], releases: [String])]
        var values: [String: InferredValue]
        var inputNames: [String]
    }

    /// State shared by the walk over a model and its subgraphs.
    final class Context {
        let opset: Int
        let reader: ExternalDataReader
        let options: Options
        var records: [NodeRecord] = []
        var graphValues: [GraphPath: [[String: InferredValue]]] = [:]
        private var unknownCount = 0
        private var scopes: [Scope] = []
        /// The path of each graph being walked, innermost last (parallel to `scopes`).
        private var paths: [GraphPath] = []
        /// Index, in its graph, of the node whose rule is running (a subgraph's path step).
        private var currentNode = 0
        private var depth = 0
        private lazy var folder = ConstantFolder(opset: opset)

        init(opset: Int, reader: ExternalDataReader, options: Options) {
            self.opset = opset
            self.reader = reader
            self.options = options
        }

        func freshUnknown() -> DimExpr {
            unknownCount += 1
            return .unknown(unknownCount)
        }

        /// A weight as an inferred value: type, dims, and contents when small.
        func weightValue(_ t: Tensor) -> InferredValue {
            var v = InferredValue.tensor(t.dataType, t.dims.map { DimExpr(Int($0)) })
            guard let count = t.elementCount, count <= ConstantFolder.maxIntegerElements else { return v }
            if let array = try? NDArray(tensor: t, reader: reader) { v.setContents(array) }
            return v
        }

        /// Infers subgraph attribute `attribute` of the node being inferred, in the current scope.
        func inferSubgraph(_ g: Graph, attribute: Int, inputs: [InferredValue]) throws -> [InferredValue] {
            let path = (paths.last ?? .main).appending(node: currentNode, attribute: attribute, graph: -1)
            return try infer(g, inputs: inputs.map { Optional($0) }, parent: scopes.last, depth: depth + 1, path: path).outputs
        }

        func infer(_ graph: Graph, inputs: [InferredValue?], parent: Scope?, depth: Int, path: GraphPath) throws -> GraphWalk {
            let scope = Scope(parent: parent)
            let initializerNames = Set(graph.initializers.map(\.name))
            for t in graph.initializers {
                scope.values[t.name] = weightValue(t)
                scope.unreadWeights[t.name] = t.elementCount ?? 0
            }
            for (k, info) in graph.inputs.enumerated() {
                if k < inputs.count, let v = inputs[k] { scope.values[info.name] = v }
                else if scope.values[info.name] == nil { scope.values[info.name] = InferredValue(declared: info.type, name: info.name) }
            }
            let schedule = try GraphSchedule(graph)

            scopes.append(scope)
            paths.append(path)
            let savedDepth = self.depth
            self.depth = depth
            defer { scopes.removeLast(); paths.removeLast(); self.depth = savedDepth }
            var steps: [(Int, [String], [String])] = []
            for (position, k) in schedule.order.enumerated() {
                let record = inferNode(graph.nodes[k], index: k, scope: scope, depth: depth)
                steps.append((record, graph.nodes[k].outputs.filter { !$0.isEmpty }, schedule.releases[position]))
            }
            let outputs = graph.outputs.map { info -> InferredValue in
                scope.lookup(info.name) ?? .unknown("graph output '\(info.name)' is never produced")
            }
            if options.keepGraphValues { graphValues[path, default: []].append(scope.values) }
            return GraphWalk(outputs: outputs, steps: steps, values: scope.values,
                             inputNames: graph.inputs.map(\.name).filter { !initializerNames.contains($0) })
        }

        /// Infers one node into `scope`; returns the index of its record.
        private func inferNode(_ node: Node, index position: Int, scope: Scope, depth: Int) -> Int {
            let savedNode = currentNode
            currentNode = position
            defer { currentNode = savedNode }
            var parameters = 0
            let inputs: [InferredValue?] = node.inputs.map { name in
                if name.isEmpty { return nil }
                parameters += scope.takeWeight(name)
                return scope.lookup(name) ?? .unknown("'\(name)' is never produced")
            }
            let index = records.count
            records.append(NodeRecord(name: node.name, opType: node.opType, domain: node.domain, depth: depth,
                                      outputNames: node.outputs, outputs: [], macs: nil, flops: nil,
                                      parameters: parameters, gap: nil))
            let call = ShapeCall(node: node, inputs: inputs, opset: opset, context: self)
            var outputs: [InferredValue]
            var gap: String?
            if let rule = ShapeRuleRegistry.rule(for: node) {
                do {
                    outputs = try rule(call)
                    records[index].macs = call.macs
                    records[index].flops = call.flops
                } catch let g as ShapeGap {
                    gap = g.reason
                    outputs = []
                } catch {
                    gap = "\(error)"
                    outputs = []
                }
            } else {
                gap = node.isDefaultDomain ? "no shape rule for \(node.opType)" : "operator \(node.domain).\(node.opType) is not known"
                outputs = []
            }
            if let folded = folder.fold(node, inputs: inputs, inferred: outputs) {
                outputs = folded
                if gap != nil { gap = nil; records[index].macs = 0; records[index].flops = 0 }
            }
            for (k, name) in node.outputs.enumerated() where !name.isEmpty {
                var v = k < outputs.count ? outputs[k] : .unknown(gap ?? "the rule gives no output \(k)")
                if v.kind == .unknown, v.reason == nil { v.reason = gap }
                scope.values[name] = v
                if k < outputs.count, node.isConstant, let n = v.elementCount?.constant { scope.unreadWeights[name] = n }
            }
            records[index].outputs = node.outputs.map { scope.values[$0] ?? .unknown(gap ?? "") }
            records[index].gap = gap
            return index
        }
    }
}

extension InferredValue {
    /// Keeps an evaluated array's contents when small enough to matter for shapes.
    mutating func setContents(_ a: NDArray) {
        switch a.storage {
        case .int(let v) where v.count <= ConstantFolder.maxIntegerElements:
            values = v.map { DimExpr(Int($0)) }
        case .bool(let v) where v.count <= ConstantFolder.maxIntegerElements:
            values = v.map { DimExpr($0 ? 1 : 0) }
        case .float(let v) where v.count <= ConstantFolder.maxFloatElements:
            floats = v.map { Double($0) }
        default: break
        }
    }
}
