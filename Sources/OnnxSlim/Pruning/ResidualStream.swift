/// Where a layer's output joins a residual stream, z = r + (x·W + b):
///
///     MatMul ─ [Add(b)] ─ Add(r)                         exported graphs; z is the Add's output
///     Gemm(C = b) ─ Add(r)
///     MatMul ─ SkipLayerNormalization(·, r, γ, β, b)     onnxruntime's fusion; z is internal
///
/// Pruning ranks FFN neurons against E‖z‖² (`StreamEnergy`), and an emptied layer becomes
/// z = r + c (`ResidualBypass`).
struct ResidualStream {
    /// The Add or SkipLayerNormalization, and its input that reads the layer's branch.
    var merge: Int
    var slot: Int
    var fused: Bool
    /// The branch's constant terms on the way (Gemm's C, the bias Add's constant; the
    /// SkipLayerNormalization's bias input is part of `parts`' sum, not here).
    var biases: [String]
    /// Values whose sum, plus `partsBias`, is z.
    var parts: [String]
    var partsBias: String?

    struct Failure: Error { var reason: String }

    /// The layer reading the units, its weight's output axis and its width.
    var layer: Int
    var outputAxis: Int
    var width: Int

    /// The stream the one layer reading `g`'s units (a MatMul or Gemm) adds into.
    static func find(_ g: ChannelGroup, index: GraphIndex.Scope, values: [String: InferredValue],
                     weight: (String) throws -> NDArray) -> Result<ResidualStream, Failure> {
        guard g.reductions.count == 1, let r = g.reductions.first else {
            return .failure(Failure(reason: "more than one layer reads the units"))
        }
        let node = index.nodes[r.node]
        let isGemm = node.opType == "Gemm" && node.attribute("transA")?.i ?? 0 == 0
        guard node.isDefaultDomain, node.opType == "MatMul" || isGemm, node.inputs.count > 1, node.inputs[1] == r.weight,
              let w = try? weight(r.weight), w.rank == 2 else {
            return .failure(Failure(reason: "the layer reading the units is not a MatMul or Gemm"))
        }
        let outputAxis = isGemm && node.attribute("transB")?.i ?? 0 != 0 ? 0 : 1
        let width = w.shape[outputAxis]
        func isBias(_ name: String) -> Bool {
            guard let b = try? weight(name), b.count == width, b.kind == .float else { return false }
            return true
        }
        /// The one reader of `value` (nil when several, or a graph output).
        func onlyReader(_ value: String) -> (node: Int, slot: Int)? {
            guard !index.graphOutputs.contains(value), let readers = index.readers[value], readers.count == 1 else { return nil }
            return (readers[0].node, readers[0].slot)
        }
        var biases: [String] = []
        if isGemm, node.inputs.count > 2, !node.inputs[2].isEmpty {
            guard isBias(node.inputs[2]) else { return .failure(Failure(reason: "the Gemm's bias is not one per output")) }
            biases.append(node.inputs[2])
        }
        let shared = Failure(reason: "the layer's output is read by more than the residual path")
        guard var next = onlyReader(node.outputs[0]) else { return .failure(shared) }
        // MatMul's bias Add.
        let first = index.nodes[next.node]
        if first.opType == "Add", first.isDefaultDomain, isBias(first.inputs[1 - next.slot]) {
            biases.append(first.inputs[1 - next.slot])
            guard let after = onlyReader(first.outputs[0]) else { return .failure(shared) }
            next = after
        }
        let merge = index.nodes[next.node]
        if merge.opType == "SkipLayerNormalization", merge.domain == MicrosoftKernels.domain, next.slot < 2 {
            let bias = merge.inputs.count > 4 && !merge.inputs[4].isEmpty ? merge.inputs[4] : nil
            return .success(ResidualStream(merge: next.node, slot: next.slot, fused: true, biases: biases,
                                           parts: Array(merge.inputs[0..<2]), partsBias: bias,
                                           layer: r.node, outputAxis: outputAxis, width: width))
        }
        let failure = Failure(reason: "no residual Add after the layer")
        guard merge.opType == "Add", merge.isDefaultDomain, merge.inputs.count == 2 else { return .failure(failure) }
        let residual = merge.inputs[1 - next.slot]
        guard (try? weight(residual)) == nil,
              let shape = values[residual]?.shape, shape == values[merge.outputs[0]]?.shape else {
            return .failure(failure)
        }
        return .success(ResidualStream(merge: next.node, slot: next.slot, fused: false, biases: biases,
                                       parts: [merge.outputs[0]], partsBias: nil,
                                       layer: r.node, outputAxis: outputAxis, width: width))
    }
}

/// E‖z‖² per token of residual streams, each the sum of some values plus a bias, accumulated in
/// Float64 as the evaluator computes the values: a part is held only until the stream's other
/// parts arrive (one activation per fused stream).
final class StreamEnergy {
    struct Stream {
        var parts: [String]
        var bias: [Float]?
    }

    private let streams: [Stream]
    private var byPart: [String: [Int]] = [:]
    private var waiting: [Int: [String: NDArray]] = [:]
    private var sums: [Double]
    private var tokens: [Int]

    init(_ streams: [Stream]) {
        self.streams = streams
        sums = [Double](repeating: 0, count: streams.count)
        tokens = [Int](repeating: 0, count: streams.count)
        for (k, s) in streams.enumerated() { for p in Set(s.parts) { byPart[p, default: []].append(k) } }
    }

    /// Stream k's E‖z‖² per token (0 when never observed).
    func energy(_ k: Int) -> Double { tokens[k] > 0 ? sums[k] / Double(tokens[k]) : 0 }

    func observe(_ name: String, _ value: NDArray) {
        guard let ks = byPart[name] else { return }
        for k in ks {
            waiting[k, default: [:]][name] = value
            let s = streams[k]
            guard let got = waiting[k], s.parts.allSatisfy({ got[$0] != nil }) else { continue }
            waiting[k] = nil
            let arrays = s.parts.map { got[$0]! }
            guard let width = arrays[0].shape.last, width > 0, arrays.allSatisfy({ $0.shape == arrays[0].shape }),
                  s.bias.map({ $0.count == width }) ?? true else { continue }
            let floats = arrays.map(\.asFloats)
            var total = 0.0
            for i in 0..<floats[0].count {
                var z = Double(s.bias?[i % width] ?? 0)
                for f in floats { z += Double(f[i]) }
                total += z * z
            }
            sums[k] += total
            tokens[k] += floats[0].count / width
        }
    }
}
