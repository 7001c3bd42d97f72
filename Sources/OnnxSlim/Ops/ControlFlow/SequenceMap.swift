/// SequenceMap: runs `body` once per element of the input sequence. Additional inputs that are
/// sequences are walked in step with it (same length), tensors are passed whole every time. Each
/// body output becomes a sequence of the per-element results.
enum SequenceMapOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        guard let body = call.subgraph("body") else { throw call.failure("no body graph") }
        let (elements, _) = try SequenceOps.sequence(call, 0)
        let extras = try (1..<max(call.inputCount, 1)).map { try call.value($0) }
        guard body.inputs.count == 1 + extras.count else {
            throw call.failure("body takes \(body.inputs.count) inputs; the node gives \(1 + extras.count)")
        }
        for (j, v) in extras.enumerated() {
            if case .sequence(let s, _) = v, s.count != elements.count {
                throw call.failure("input \(j + 1) has \(s.count) elements; the input sequence has \(elements.count)")
            }
        }
        let k = body.outputs.count
        var collected = [[NDArray]](repeating: [], count: k)
        for (i, element) in elements.enumerated() {
            var args: [Value] = [.tensor(element)]
            for v in extras {
                if case .sequence(let s, _) = v { args.append(.tensor(s[i])) } else { args.append(v) }
            }
            let outputs = try call.runSubgraph("body", args)
            guard outputs.count == k else { throw call.failure("body gave \(outputs.count) values for \(k) outputs") }
            for (j, v) in outputs.enumerated() {
                guard case .tensor(let t) = v else { throw call.failure("body output \(j) is a \(v.kindName), not a tensor") }
                collected[j].append(t)
            }
        }
        return collected.enumerated().map { j, tensors in
            .sequence(tensors, elementType: tensors.first?.dataType ?? FlowValues.elementType(body.outputs[j].type) ?? .float)
        }
    }
}

extension SequenceMapOp {
    /// The body sees one element of each sequence input (tensors whole); each output is a
    /// sequence of what the body gives.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let args = try (0..<call.inputCount).map { k -> InferredValue in
            let v = try call.input(k)
            return v.kind == .sequence ? .tensor(v.elemType, v.shape) : v
        }
        return try call.inferSubgraph("body", args).map { InferredValue(kind: .sequence, elemType: $0.elemType, shape: $0.shape) }
    }
}
