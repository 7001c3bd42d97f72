/// Loop: runs `body` while the trip count M is not reached and the condition holds, carrying N
/// values from one iteration to the next and stacking K per-iteration scan outputs.
///
/// Inputs (M?, cond?, v_1…v_N); body (iteration, cond, v_1…v_N) -> (cond, v_1…v_N, s_1…s_K);
/// outputs (v_1…v_N final, s_1…s_K stacked along a new first axis).
enum LoopOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        guard let body = call.subgraph("body") else { throw call.failure("no body graph") }
        let n = max(call.inputCount - 2, 0)
        guard body.inputs.count == n + 2 else {
            throw call.failure("body takes \(body.inputs.count) inputs; the node gives \(n) carried values (needs \(n + 2))")
        }
        let k = body.outputs.count - 1 - n
        guard k >= 0 else { throw call.failure("body gives \(body.outputs.count) outputs for \(n) carried values") }
        guard call.outputCount <= n + k else {
            throw call.failure("the node has \(call.outputCount) outputs; the body gives \(n + k)")
        }

        var maxTrips: Int?
        if let m = try call.optionalTensor(0) {
            guard let v = FlowValues.integer(m) else { throw call.failure("M must be one integer, got shape \(m.shape)") }
            maxTrips = v
        }
        var condGiven: Bool?
        if let c = try call.optionalTensor(1) {
            guard let v = FlowValues.truth(c) else { throw call.failure("cond must be one boolean, got shape \(c.shape)") }
            condGiven = v
        }
        // The spec ignores the body's cond when the node has no cond input ("for" loop). With
        // neither M nor cond the spec loops forever; we stop on the body's cond instead (as
        // onnxruntime does), the only way such a loop can end.
        let followBodyCond = condGiven != nil || maxTrips == nil

        var carried = try (0..<n).map { try call.value(2 + $0) }
        var scans = [[NDArray]](repeating: [], count: k)
        var cond = condGiven ?? true
        var iteration = 0
        while cond, maxTrips.map({ iteration < $0 }) ?? true {
            let args: [Value] = [.tensor(.scalar(Int64(iteration))), .tensor(NDArray(bools: [cond], shape: []))] + carried
            let outputs = try call.runSubgraph("body", args)
            guard outputs.count == 1 + n + k else { throw call.failure("body gave \(outputs.count) values") }
            if followBodyCond {
                guard case .tensor(let c) = outputs[0], let v = FlowValues.truth(c) else {
                    throw call.failure("the body's cond output must be one boolean")
                }
                cond = v
            }
            carried = Array(outputs[1..<(1 + n)])
            for j in 0..<k {
                guard case .tensor(let t) = outputs[1 + n + j] else {
                    throw call.failure("scan output \(j) is a \(outputs[1 + n + j].kindName), not a tensor")
                }
                if let first = scans[j].first, first.shape != t.shape || first.dataType != t.dataType {
                    throw call.failure("scan output \(j) changes from \(first.shape) to \(t.shape) between iterations")
                }
                scans[j].append(t)
            }
            iteration += 1
        }

        var results = carried
        for j in 0..<k {
            if scans[j].isEmpty {
                results.append(.tensor(FlowValues.empty(declared: body.outputs[1 + n + j].type, extraAxis: 0)))
                continue
            }
            switch AxisBlocks.stack(scans[j], axis: 0) {
            case .success(let t): results.append(.tensor(t))
            case .failure(let m): throw call.failure("scan output \(j): \(m.reason)")
            }
        }
        return results
    }
}

extension LoopOp {
    /// The body is inferred once from the initial carried values. Final carried values keep what
    /// the first iteration agrees with; scan outputs stack along a new first axis of M trips for a
    /// loop without a condition input, a run-time count otherwise.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let n = max(call.inputCount - 2, 0)
        let carried = try (0..<n).map { try call.input(2 + $0) }
        // The iteration number is one unknown value: `x[i:i+1]` in the body still has length 1.
        let iteration = InferredValue.integers([call.runtimeDim()], scalar: true), condition = InferredValue.tensor(.bool, [])
        let body = try call.inferSubgraph("body", [iteration, condition] + carried)
        guard body.count >= 1 + n else { throw call.gap("the body gives \(body.count) outputs for \(n) carried values") }
        var out = (0..<n).map { carried[$0].merged(with: body[1 + $0], call) }
        let trips: DimExpr = !call.has(1) ? call.dimValues(0)?.first ?? call.runtimeDim() : call.runtimeDim()
        for s in body.dropFirst(1 + n) {
            var stacked = InferredValue(kind: .tensor, elemType: s.elemType, shape: s.shape.map { [trips] + $0 })
            stacked.reason = s.reason
            out.append(stacked)
        }
        return out
    }
}
