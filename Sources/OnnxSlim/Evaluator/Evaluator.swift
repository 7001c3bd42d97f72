/// Runs a model's main graph on given inputs: the reference evaluator every data-aware feature
/// (verification, calibration) uses. Build it once per model; `run` can be called many times and
/// reuses decoded weights.
public final class Evaluator {
    public let model: Model
    let reader: ExternalDataReader
    let opset: Int
    private let plan: GraphPlan
    /// Called with every tensor a node of the main graph produces (calibration observes here).
    public var observe: ((_ name: String, _ value: NDArray) -> Void)?
    /// Called with every tensor a subgraph (If branch, Loop or Scan body) binds as an input,
    /// reads from an enclosing graph or its nodes produce, once per run of the subgraph, with the
    /// subgraph's path.
    public var observeSubgraphs: ((_ path: GraphPath, _ name: String, _ value: NDArray) -> Void)?

    public init(model: Model, reader: ExternalDataReader = ExternalDataReader()) throws {
        self.model = model
        self.reader = reader
        self.opset = Int(model.opsetVersion() ?? 1)
        self.plan = try GraphPlan(graph: model.mainGraph, reader: reader)
    }

    /// Graph inputs the caller has to supply (inputs with an initializer of the same name are optional).
    public var requiredInputs: [ValueInfo] {
        let weights = Set(model.mainGraph.initializers.map(\.name))
        return model.mainGraph.inputs.filter { !weights.contains($0.name) }
    }

    /// Operator types the evaluator implements (default ONNX domain).
    public static var supportedOperators: [String] { KernelRegistry.supportedOperators }

    /// Sets how many threads BLAS calls may use (the rest of the evaluator runs on the calling thread).
    public static func setThreads(_ n: Int) { BLAS.setThreads(n) }

    /// Runs the main graph. `feeds` maps input names to values; the result lists every graph
    /// output in order.
    public func run(_ feeds: [String: Value]) throws -> [(name: String, value: Value)] {
        let graph = plan.graph
        for info in requiredInputs where feeds[info.name] == nil {
            throw OnnxSlimError(.badInput, "no value for graph input '\(info.name)'")
        }
        let inputs = graph.inputs.map { feeds[$0.name] }
        let outputs = try run(plan, inputs: inputs, parent: nil)
        return zip(graph.outputs, outputs).map { ($0.name, $1) }
    }

    /// Runs one graph: binds `inputs` to its declared inputs (nil leaves an initializer's default),
    /// evaluates its nodes in order and returns its outputs.
    func run(_ plan: GraphPlan, inputs: [Value?], parent: Scope?) throws -> [Value] {
        let scope = Scope(plan: plan, parent: parent)
        for (k, info) in plan.graph.inputs.enumerated() where k < inputs.count {
            if let v = inputs[k] {
                scope.values[info.name] = v
                if parent != nil, let observeSubgraphs, case .tensor(let t) = v { observeSubgraphs(plan.path, info.name, t) }
            }
        }
        if let parent, let observeSubgraphs {
            for name in plan.outerReads { if case .tensor(let t)? = try parent.lookup(name) { observeSubgraphs(plan.path, name, t) } }
        }
        let isMain = parent == nil
        for step in plan.steps {
            let node = step.node
            if step.isConstant, let name = node.outputs.first, let cached = plan.cached(name) {
                scope.values[name] = .tensor(cached)
                continue
            }
            var args: [Value?] = []
            args.reserveCapacity(node.inputs.count)
            for name in node.inputs {
                if name.isEmpty { args.append(nil); continue }
                guard let v = try scope.lookup(name) else {
                    throw OnnxSlimError(.badInput, "node '\(node.name)' (\(node.opType)) reads '\(name)', which nothing produces")
                }
                args.append(v)
            }
            // Values read for the last time leave the scope now, so the kernel may own them; a node
            // with subgraphs keeps them until it ends, since its subgraphs look them up by name.
            let keepsScope = !step.subplans.isEmpty
            if !keepsScope { for name in step.release { scope.values[name] = nil } }
            let call = KernelCall(node: node, inputs: args, opset: opset, evaluator: self, scope: scope, subplans: step.subplans)
            args.removeAll()
            let results = try step.kernel(call)
            if keepsScope { for name in step.release { scope.values[name] = nil } }
            for (k, name) in node.outputs.enumerated() where !name.isEmpty {
                guard k < results.count else { throw call.failure("produced no value for output '\(name)'") }
                var v = results[k]
                if case .tensor(let t) = v {
                    let n = t.normalized()
                    v = .tensor(n)
                    if step.isConstant { plan.cache(name, n) }
                    if isMain, let observe { observe(name, n) }
                    if !isMain, let observeSubgraphs { observeSubgraphs(plan.path, name, n) }
                }
                scope.values[name] = v
            }
        }
        return try plan.graph.outputs.map { info in
            guard let v = try scope.lookup(info.name) else {
                throw OnnxSlimError(.badInput, "graph output '\(info.name)' is never produced")
            }
            return v
        }
    }

    /// Evaluates one node on given values outside any graph (shape inference folds small
    /// constants this way). The node must hold no subgraph.
    func evaluateAlone(_ node: Node, inputs: [Value?]) throws -> [Value] {
        guard let kernel = KernelRegistry.kernel(for: node) else {
            throw OnnxSlimError(.badInput, "unsupported operator '\(node.opType)'")
        }
        let call = KernelCall(node: node, inputs: inputs, opset: opset, evaluator: self,
                              scope: Scope(plan: plan, parent: nil), subplans: [:])
        return try kernel(call).map { v in
            if case .tensor(let t) = v { return .tensor(t.normalized()) }
            return v
        }
    }
}
