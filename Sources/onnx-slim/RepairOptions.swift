import ArgumentParser
import OnnxSlim

/// `--repair` and `--quantize-method`: compressed layers refit against the model as it was, on
/// calibration samples. Today: quantized MatMul/Gemm weights rounded by GPTQ.
struct RepairOptions: ParsableArguments {
    @Flag(help: "Repair what compression changed against the original model on --calibration samples (else generated ones): quantized MatMul/Gemm weights are rounded by GPTQ with a clipping search.")
    var repair = false

    @Option(help: "How --quantize rounds MatMul/Gemm weights: rtn (to nearest) or gptq (error feedback on calibration inputs; the default with --repair).")
    var quantizeMethod: QuantizeMethod?

    @Option(help: "Damping of the input covariance in repair, as a fraction of its mean diagonal.")
    var repairDamping: Double = 0.01

    enum QuantizeMethod: String, ExpressibleByArgument, CaseIterable { case rtn, gptq }

    var usesGPTQ: Bool { (quantizeMethod ?? (repair ? .gptq : .rtn)) == .gptq }

    func check() throws {
        guard repairDamping > 0, repairDamping < 1 else { throw ValidationError("--repair-damping must be between 0 and 1") }
    }

    /// GPTQ's settings, when asked for.
    func gptq(calibration: String?, dims: [String: Int], seed: UInt64) -> GPTQWeights.Options? {
        guard usesGPTQ else { return nil }
        var options = GPTQWeights.Options()
        options.folder = calibration
        options.dims = dims
        options.seed = seed
        options.damping = repairDamping
        return options
    }
}
