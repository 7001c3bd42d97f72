/// If: runs one of two branch graphs; their outputs (tensors, sequences or optionals) are the node's.
enum IfOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let cond = try call.tensor(0)
        guard let taken = FlowValues.truth(cond) else {
            throw call.failure("cond must hold a single element, got shape \(cond.shape)")
        }
        let branch = taken ? "then_branch" : "else_branch"
        let outputs = try call.runSubgraph(branch, [])
        guard outputs.count >= call.outputCount else {
            throw call.failure("\(branch) gives \(outputs.count) outputs for \(call.outputCount) node outputs")
        }
        return outputs
    }
}

extension IfOp {
    /// Both branches are inferred; where the condition is known, its branch gives the outputs,
    /// else each output keeps what the branches agree on (a dim that differs is a run-time dim).
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let thenOut = try call.inferSubgraph("then_branch", [])
        let elseOut = try call.inferSubgraph("else_branch", [])
        if let c = call.constantInts(0)?.first { return c != 0 ? thenOut : elseOut }
        guard thenOut.count == elseOut.count else { throw call.gap("the branches give different output counts") }
        return zip(thenOut, elseOut).map { $0.merged(with: $1, call) }
    }
}

extension InferredValue {
    /// What two possible values of one output have in common.
    func merged(with other: InferredValue, _ call: ShapeCall) -> InferredValue {
        guard kind == other.kind, kind != .unknown else { return .unknown("the branches give different kinds of value") }
        var out = InferredValue(kind: kind, elemType: elemType == other.elemType ? elemType : .undefined, shape: nil)
        if let a = shape, let b = other.shape, a.count == b.count {
            out.shape = zip(a, b).map { $0 == $1 ? $0 : call.runtimeDim() }
        }
        if values == other.values { out.values = values }
        return out
    }
}
