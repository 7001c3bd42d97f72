/// Evaluates one node: reads `call`'s inputs and attributes, returns one value per node output
/// (trailing optional outputs may be left off).
public typealias Kernel = (KernelCall) throws -> [Value]

/// What a kernel sees of the node it evaluates: input values (nil where an optional input is
/// omitted), attributes with defaults, the opset, and its subgraphs ready to run.
public final class KernelCall: AttributeReading {
    public let node: Node
    /// Input values by position; nil for omitted ("") inputs. `take` moves one out.
    public var inputs: [Value?]
    /// The default-domain opset the model imports (kernels branch on it where semantics changed).
    public let opset: Int
    let evaluator: Evaluator
    let scope: Scope
    let subplans: [String: GraphPlan]

    init(node: Node, inputs: [Value?], opset: Int, evaluator: Evaluator, scope: Scope, subplans: [String: GraphPlan]) {
        self.node = node
        self.inputs = inputs
        self.opset = opset
        self.evaluator = evaluator
        self.scope = scope
        self.subplans = subplans
    }

    public var inputCount: Int { inputs.count }
    public var outputCount: Int { node.outputs.count }
    /// True when output `k` exists and is used (not "").
    public func wantsOutput(_ k: Int) -> Bool { k < node.outputs.count && !node.outputs[k].isEmpty }
    public func has(_ k: Int) -> Bool { k < inputs.count && inputs[k] != nil }

    /// Input `k` as a tensor; throws when it is missing or not a tensor.
    public func tensor(_ k: Int) throws -> NDArray {
        guard let v = k < inputs.count ? inputs[k] : nil else { throw failure("input \(k) is required") }
        guard case .tensor(let t) = v else { throw failure("input \(k) is a \(v.kindName), not a tensor") }
        return t
    }

    /// Input `k` as a tensor, or nil when omitted.
    public func optionalTensor(_ k: Int) throws -> NDArray? { has(k) ? try tensor(k) : nil }

    /// Input `k`, moved out of the call so the kernel holds the only reference and can write in place.
    public func take(_ k: Int) throws -> NDArray {
        let t = try tensor(k)
        inputs[k] = nil
        return t
    }

    public func value(_ k: Int) throws -> Value {
        guard let v = k < inputs.count ? inputs[k] : nil else { throw failure("input \(k) is required") }
        return v
    }

    // MARK: attributes

    /// A TENSOR attribute decoded.
    public func tensorAttribute(_ name: String) throws -> NDArray? {
        guard let t = node.attribute(name)?.t else { return nil }
        return try NDArray(tensor: t, reader: evaluator.reader)
    }

    // MARK: subgraphs

    /// Runs the subgraph held by attribute `name` with `inputs` bound to its graph inputs; values
    /// of enclosing graphs are visible to it.
    public func runSubgraph(_ name: String, _ inputs: [Value]) throws -> [Value] {
        guard let plan = subplans[name] else { throw failure("attribute '\(name)' holds no graph") }
        return try evaluator.run(plan, inputs: inputs, parent: scope)
    }

    /// The declared graph inputs and outputs of subgraph `name`.
    public func subgraph(_ name: String) -> Graph? { subplans[name]?.graph }

    // MARK: errors

    /// A bad-input error naming the node.
    public func failure(_ message: String) -> OnnxSlimError {
        OnnxSlimError(.badInput, "\(node.opType) node '\(node.name)': \(message)")
    }

    public func attributeError(_ message: String) -> any Error { failure(message) }

    /// An error for a case the evaluator does not implement (counted as unsupported, not wrong).
    public func unsupported(_ message: String) -> OnnxSlimError {
        OnnxSlimError(.badInput, "unsupported: \(node.opType) node '\(node.name)': \(message)")
    }
}
