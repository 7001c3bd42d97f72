/// Automatic mixed precision for `--quantize fp16`: runs the float32 model and its float16 form
/// side by side in the evaluator and names the nodes that must stay float32.
///
/// float16 holds magnitudes up to 65504. A trained detector's Conv can reach 10⁵ before a
/// normalization brings it back; in float16 that value is inf, and the normalization then
/// writes NaN or zeros (a probability map of zeros). Two checks, on every sample:
///
/// - range: a value beyond ±`limit` in the float32 run (a weight beyond ±65504 too) keeps its
///   producer and every reader in float32, so it is never stored as float16;
/// - overflow: a node of the float16 model whose inputs are finite but whose output is inf or
///   NaN (where float32's is finite) is kept; repeated until the float16 run is finite.
///
/// The evaluator rounds every float16 result to float16, so an inf there is one in a float16
/// kernel; `limit` stays below 65504 to leave room for what other samples reach.
struct HalfPrecisionNumerics {
    static let limit: Float = 60000

    let samples: [ModelInputs]
    let reader: ExternalDataReader

    /// What the float32 run saw, per value name.
    struct Float32Run {
        var beyondRange = Set<String>()
        var nonFinite = Set<String>()
    }

    /// Runs `model` (float32) on every sample.
    func float32Run(_ model: Model) throws -> Float32Run {
        var run = Float32Run()
        let evaluator = try Evaluator(model: model, reader: reader)
        evaluator.observe = { name, value in
            let (largest, finite) = Self.extent(value)
            if largest > Self.limit { run.beyondRange.insert(name) }
            if !finite { run.nonFinite.insert(name) }
        }
        for s in samples {
            _ = try s.explainingFailures(hint: "--calibration DIR") { try evaluator.run(s.values) }
            for (name, v) in s.values {
                if let t = v.tensor, Self.extent(t).largest > Self.limit { run.beyondRange.insert(name) }
            }
        }
        for t in model.mainGraph.initializers where t.dataType == .float {
            if try TensorValues.floats(t, reader: reader).contains(where: { $0.isFinite && abs($0) > 65504 }) {
                run.beyondRange.insert(t.name)
            }
        }
        return run
    }

    /// Indices of the nodes of `graph` that produce or read a value beyond float16's range.
    static func nodesTouching(_ values: Set<String>, in graph: Graph) -> Set<Int> {
        var nodes = Set<Int>()
        for (k, n) in graph.nodes.enumerated() where !n.isConstant {
            if n.inputs.contains(where: values.contains) || n.outputs.contains(where: values.contains) { nodes.insert(k) }
        }
        return nodes
    }

    /// Nodes of the original graph (indices, through `origins`) not yet in `kept` where
    /// `converted` first turns finite values into inf or NaN. A Cast the conversion inserted
    /// counts for its readers; a node already kept that still overflows reads a float16 value
    /// that underflowed or lost too much (x / √Σx² with Σx² below float16's smallest
    /// subnormal), so its producers are kept next.
    func overflowOrigins(converted: Model, origins: [Int?], original: Graph, float32: Float32Run,
                         kept: Set<Int>) throws -> Set<Int> {
        var nonFinite = Set<String>()
        let evaluator = try Evaluator(model: converted, reader: reader)
        evaluator.observe = { name, value in if !Self.extent(value).finite { nonFinite.insert(name) } }
        for s in samples { _ = try evaluator.run(feeds(s, for: converted)) }

        let producers = GraphIndex(original, weights: false).main.producers
        func blame(_ k: Int, into found: inout Set<Int>) {
            guard kept.contains(k) else { found.insert(k); return }
            for i in original.nodes[k].inputs {
                if let p = producers[i]?.node, !kept.contains(p), !original.nodes[p].isConstant { found.insert(p) }
            }
        }

        let nodes = converted.mainGraph.nodes
        var found = Set<Int>()
        for (j, n) in nodes.enumerated() {
            guard n.outputs.contains(where: nonFinite.contains), !n.inputs.contains(where: nonFinite.contains) else { continue }
            if let k = origins[j] {
                if !original.nodes[k].outputs.contains(where: float32.nonFinite.contains) { blame(k, into: &found) }
            } else {
                for (i, consumer) in nodes.enumerated() where consumer.inputs.contains(where: n.outputs.contains) {
                    if let k = origins[i] { blame(k, into: &found) }
                }
            }
        }
        return found
    }

    /// A sample's values in the types the converted model declares (float16 inputs without
    /// `keepIOTypes`).
    private func feeds(_ sample: ModelInputs, for model: Model) -> [String: Value] {
        var feeds = sample.values
        for info in model.mainGraph.inputs {
            guard let type = info.type?.tensorType?.elemType, case .tensor(var t)? = feeds[info.name],
                  t.dataType == .float, type == .float16 || type == .bfloat16 else { continue }
            t.dataType = type
            feeds[info.name] = .tensor(t.normalized())
        }
        return feeds
    }

    /// The largest finite magnitude of a float tensor, and whether every value is finite.
    static func extent(_ value: NDArray) -> (largest: Float, finite: Bool) {
        guard case .float(let v) = value.storage else { return (0, true) }
        var largest: Float = 0
        var finite = true
        for x in v {
            if x.isFinite { largest = max(largest, abs(x)) } else { finite = false }
        }
        return (largest, finite)
    }
}
