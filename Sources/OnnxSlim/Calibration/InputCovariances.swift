/// E[x xᵀ] of the inputs of dense layers on calibration samples, for every pass that whitens or
/// refits a layer (low-rank, GPTQ): packed Float64 Gram matrices from `ActivationStatistics`, in
/// as few evaluator runs as a memory budget allows.
enum InputCovariances {
    /// One input to measure: the value (by the graph its layer is in), its width and feature
    /// axis (negative: from the end).
    struct Request: Hashable {
        var key: GraphIndex.Key
        var width: Int
        var axis: Int
    }

    /// The distinct requests in groups whose covariances (width² / 2 Float64) fit `budget`.
    static func chunks(_ requests: [Request], budget: Int) -> [[Request]] {
        var out: [[Request]] = [], current: [Request] = [], seen = Set<GraphIndex.Key>(), bytes = 0
        for r in requests where seen.insert(r.key).inserted {
            let size = ActivationStatistics.Gram.bytes(width: r.width)
            if !current.isEmpty && bytes + size > budget { out.append(current); current = []; bytes = 0 }
            current.append(r)
            bytes += size
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// Σ x xᵀ of `requests` over the calibration samples, in one evaluator run over them.
    /// `source` says what the samples were.
    static func collect(_ requests: [Request], _ model: Model, _ calibration: ActivationQDQPass.Calibration, generated: Int,
                        reader: ExternalDataReader, source: inout String) throws -> [GraphIndex.Key: ActivationStatistics.Gram] {
        let statistics = ActivationStatistics(grams: Dictionary(requests.map { ($0.key, $0.axis) }, uniquingKeysWith: { a, _ in a }))
        let inSubgraphs = requests.contains { $0.key.path != .main }
        source = try CalibrationRun.observe(model, calibration, generated: generated, reader: reader,
                                            subgraphs: inSubgraphs ? { statistics.observe($0, $1, $2) } : nil) {
            statistics.observe($0, $1)
        }
        return statistics.grams
    }
}
