/// Scan: runs `body` once per slice of its scan inputs, carrying N state tensors and stacking K
/// per-iteration outputs.
///
/// Opset 9+: inputs (state_1…state_N, scan_1…scan_M), each scan input sliced along its
/// scan_input_axes entry (forward or reversed), each scan output stacked along its
/// scan_output_axes entry (appended or prepended).
/// Opset 8: inputs (sequence_lens?, state…, scan…) with a batch axis 0 on every input and the
/// sequence on axis 1; each batch row runs on its own for its sequence length, scan outputs are
/// zero-padded to the longest sequence.
enum ScanOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        guard let body = call.subgraph("body") else { throw call.failure("no body graph") }
        let batched = call.opset < 9
        let first = batched ? 1 : 0
        let m = call.int("num_scan_inputs", 0)
        let n = call.inputCount - first - m
        guard m > 0, n >= 0 else { throw call.failure("num_scan_inputs \(m) does not fit \(call.inputCount - first) inputs") }
        guard body.inputs.count == n + m else {
            throw call.failure("body takes \(body.inputs.count) inputs for \(n) states and \(m) scan inputs")
        }
        let k = body.outputs.count - n
        guard k >= 0, call.outputCount <= n + k else {
            throw call.failure("body gives \(body.outputs.count) outputs for \(n) states and \(call.outputCount - n) scan outputs")
        }
        let states = try (0..<n).map { try call.tensor(first + $0) }
        let scans = try (0..<m).map { try call.tensor(first + n + $0) }
        let loop = Iteration(call: call, body: body, n: n, k: k)
        return try batched
            ? evaluateBatched(call, loop, states: states, scans: scans, lengths: try call.optionalTensor(0))
            : evaluate(call, loop, states: states, scans: scans)
    }

    /// Opset 9 and later.
    private static func evaluate(_ call: KernelCall, _ loop: Iteration, states: [NDArray], scans: [NDArray]) throws -> [Value] {
        let m = scans.count
        let inAxes = try (0..<m).map { j in try Axes.normalize(entry(call.ints("scan_input_axes"), j), rank: scans[j].rank) }
        let inDirections = (0..<m).map { entry(call.ints("scan_input_directions"), $0) }
        let length = scans[0].rank > inAxes[0] ? scans[0].shape[inAxes[0]] : 0
        for (j, s) in scans.enumerated() where s.rank == 0 || s.shape[inAxes[j]] != length {
            throw call.failure("scan input \(j) has shape \(s.shape); every scan input needs length \(length) on its scan axis")
        }
        let (final, collected) = try loop.run(states: states, scans: scans, axes: inAxes, directions: inDirections, length: length)

        var results = final.map(Value.tensor)
        for j in 0..<loop.k {
            var elements = collected[j]
            if entry(call.ints("scan_output_directions"), j) == 1 { elements.reverse() }
            let elementRank = elements.first?.rank ?? loop.declaredRank(output: loop.n + j)
            let axis = try Axes.normalize(entry(call.ints("scan_output_axes"), j), rank: elementRank + 1)
            results.append(.tensor(try loop.stacked(elements, axis: axis, output: loop.n + j)))
        }
        return results
    }

    /// Opset 8: batch axis 0, sequence axis 1, optional per-row sequence lengths.
    private static func evaluateBatched(_ call: KernelCall, _ loop: Iteration, states: [NDArray], scans: [NDArray],
                                        lengths: NDArray?) throws -> [Value] {
        let m = scans.count
        guard scans.allSatisfy({ $0.rank >= 2 }) else { throw call.failure("scan inputs need a batch and a sequence axis") }
        let batch = scans[0].shape[0], maxLength = scans[0].shape[1]
        for (j, s) in scans.enumerated() where s.shape[0] != batch || s.shape[1] != maxLength {
            throw call.failure("scan input \(j) has shape \(s.shape); expected [\(batch), \(maxLength), …]")
        }
        for (j, s) in states.enumerated() where s.rank == 0 || s.shape[0] != batch {
            throw call.failure("state \(j) has shape \(s.shape); expected batch \(batch) first")
        }
        var rowLengths = [Int](repeating: maxLength, count: batch)
        if let lengths {
            let v = lengths.asInts
            guard v.count == batch, v.allSatisfy({ $0 >= 0 && $0 <= maxLength }) else {
                throw call.failure("sequence_lens \(v) must give \(batch) lengths in 0...\(maxLength)")
            }
            rowLengths = v
        }
        let directions = (0..<m).map { entry(call.ints("directions"), $0) }
        var finalRows = [[NDArray]](repeating: [], count: loop.n)
        var outputRows = [[NDArray?]](repeating: [], count: loop.k)
        for b in 0..<batch {
            let rowStates = states.map { AxisBlocks.take($0, axis: 0, index: b) }
            let rowScans = scans.map { AxisBlocks.slice(AxisBlocks.take($0, axis: 0, index: b), axis: 0, start: 0, length: rowLengths[b]) }
            let (final, collected) = try loop.run(states: rowStates, scans: rowScans, axes: [Int](repeating: 0, count: m),
                                                  directions: directions, length: rowLengths[b])
            for j in 0..<loop.n { finalRows[j].append(final[j]) }
            for j in 0..<loop.k { outputRows[j].append(collected[j].isEmpty ? nil : try loop.stacked(collected[j], axis: 0, output: loop.n + j)) }
        }
        var results: [Value] = []
        for j in 0..<loop.n {
            results.append(.tensor(try loop.stacked(finalRows[j], axis: 0, output: j)))
        }
        for j in 0..<loop.k {
            // Rows shorter than the longest sequence are padded with zeros (the spec leaves them undefined).
            guard let sample = outputRows[j].compactMap({ $0 }).first else {
                let declared = FlowValues.empty(declared: loop.body.outputs[loop.n + j].type, extraAxis: 0)
                results.append(.tensor(.zeros(declared.dataType, shape: [batch, maxLength] + declared.shape.dropFirst())))
                continue
            }
            let element = Array(sample.shape.dropFirst())
            var rows: [NDArray] = []
            for row in outputRows[j] {
                let have = row?.shape[0] ?? 0
                let pad = NDArray.zeros(sample.dataType, shape: [maxLength - have] + element)
                guard let row, have < maxLength else { rows.append(row ?? pad); continue }
                switch AxisBlocks.concat([row, pad], axis: 0) {
                case .success(let t): rows.append(t)
                case .failure(let m): throw call.failure("scan output \(j): \(m.reason)")
                }
            }
            results.append(.tensor(try loop.stacked(rows, axis: 0, output: loop.n + j)))
        }
        return results
    }

    /// One run of the body over a scan: the states threaded through, the scan outputs collected.
    struct Iteration {
        let call: KernelCall
        let body: Graph
        let n: Int
        let k: Int

        init(call: KernelCall, body: Graph, n: Int, k: Int) {
            self.call = call
            self.body = body
            self.n = n
            self.k = k
        }

        func run(states: [NDArray], scans: [NDArray], axes: [Int], directions: [Int], length: Int) throws
            -> (states: [NDArray], outputs: [[NDArray]]) {
            var states = states
            var collected = [[NDArray]](repeating: [], count: k)
            for t in 0..<length {
                var args = states.map(Value.tensor)
                for (j, s) in scans.enumerated() {
                    args.append(.tensor(AxisBlocks.take(s, axis: axes[j], index: directions[j] == 1 ? length - 1 - t : t)))
                }
                let outputs = try call.runSubgraph("body", args)
                guard outputs.count == n + k else { throw call.failure("body gave \(outputs.count) values") }
                for (j, v) in outputs.enumerated() {
                    guard case .tensor(let x) = v else { throw call.failure("body output \(j) is a \(v.kindName), not a tensor") }
                    if j < n {
                        states[j] = x
                    } else {
                        if let first = collected[j - n].first, first.shape != x.shape {
                            throw call.failure("scan output \(j - n) changes from \(first.shape) to \(x.shape) between iterations")
                        }
                        collected[j - n].append(x)
                    }
                }
            }
            return (states, collected)
        }

        /// Rank of a body output's declared tensor type (0 when undeclared).
        func declaredRank(output: Int) -> Int {
            if case .tensor(let t)? = body.outputs[output].type?.value { return t.shape?.dims.count ?? 0 }
            return 0
        }

        /// `elements` stacked along a new `axis`; with no elements, an empty tensor of the body
        /// output's declared type.
        func stacked(_ elements: [NDArray], axis: Int, output: Int) throws -> NDArray {
            guard !elements.isEmpty else { return FlowValues.empty(declared: body.outputs[output].type, extraAxis: axis) }
            switch AxisBlocks.stack(elements, axis: axis) {
            case .success(let t): return t
            case .failure(let m): throw call.failure("output \(output): \(m.reason)")
            }
        }
    }
}

/// Entry `j` of a per-input list attribute, 0 when the list is absent or short.
private func entry(_ list: [Int]?, _ j: Int) -> Int {
    guard let list, j >= 0, j < list.count else { return 0 }
    return list[j]
}

extension ScanOp {
    /// Opset 9 and later: the body sees one slice of each scan input; scan outputs stack the
    /// body's per-iteration outputs along `scan_output_axes` with the scan length.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        guard call.opset >= 9 else { throw call.gap("Scan before opset 9 (batched form)") }
        let m = call.int("num_scan_inputs", 0), n = call.inputCount - m
        guard m > 0, n >= 0 else { throw call.gap("num_scan_inputs \(m) does not fit the inputs") }
        let states = try (0..<n).map { try call.input($0) }
        var slices: [InferredValue] = []
        var length: DimExpr?
        for j in 0..<m {
            let x = try call.input(n + j), s = try call.shape(n + j)
            let axis = try ShapeRules.axis(entry(call.ints("scan_input_axes"), j), rank: s.count, call)
            length = length ?? s[axis]
            var shape = s
            shape.remove(at: axis)
            slices.append(.tensor(x.elemType, shape))
        }
        let body = try call.inferSubgraph("body", states + slices)
        guard body.count >= n else { throw call.gap("the body gives too few outputs") }
        var out = (0..<n).map { states[$0].merged(with: body[$0], call) }
        for (j, s) in body.dropFirst(n).enumerated() {
            guard let shape = s.shape else { out.append(.tensor(s.elemType, nil)); continue }
            let axis = try ShapeRules.axis(entry(call.ints("scan_output_axes"), j), rank: shape.count + 1, call)
            var stacked = shape
            stacked.insert(length ?? call.runtimeDim(), at: axis)
            out.append(.tensor(s.elemType, stacked))
        }
        return out
    }
}
