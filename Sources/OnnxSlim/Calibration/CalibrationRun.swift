/// The calibration samples a pass observes activations on: the folder of `--calibration DIR`,
/// else `generated` random samples (sequence axes 64 long), run through the evaluator with every
/// main-graph value (graph inputs included) handed to `observe`, and every subgraph value, by
/// its graph's path, to `subgraphs`.
enum CalibrationRun {
    /// Runs every sample; returns how the samples are described in the report.
    static func observe(_ model: Model, _ calibration: ActivationQDQPass.Calibration, generated: Int, reader: ExternalDataReader,
                        subgraphs: ((GraphPath, String, NDArray) -> Void)? = nil,
                        _ observe: @escaping (String, NDArray) -> Void) throws -> String {
        let (samples, source) = try Self.samples(model, calibration, generated: generated)
        let evaluator = try Evaluator(model: model, reader: reader)
        evaluator.observe = observe
        evaluator.observeSubgraphs = subgraphs
        for s in samples {
            // The graph inputs are values layers read too (a first layer's x).
            for (name, value) in s.values { if case .tensor(let t) = value { observe(name, t) } }
            _ = try evaluator.run(s.values)
        }
        return source
    }

    /// The samples themselves, and how the report describes them.
    static func samples(_ model: Model, _ calibration: ActivationQDQPass.Calibration, generated: Int) throws
        -> (samples: [ModelInputs], source: String) {
        let dims = ActivationSmoothingPass.generatedDims(model, given: calibration.dims, length: 64)
        let samples = try ModelInputs.samples(calibration.source, count: calibration.source == nil ? generated : 0,
                                              model: model, dims: dims, seed: calibration.seed)
        return (samples, calibration.source.map { "\(samples.count) samples from \($0)" } ?? "\(samples.count) generated samples")
    }
}
