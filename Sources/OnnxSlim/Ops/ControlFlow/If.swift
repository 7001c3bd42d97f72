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
