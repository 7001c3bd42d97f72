import ArgumentParser
import OnnxSlim

/// `--repair` and `--quantize-method`: compressed layers refit against the model as it was, on
/// calibration samples: pruned and factored MatMul/Gemm layers by least squares
/// (`LayerRepairPass`), quantized weights rounded by GPTQ.
struct RepairOptions: ParsableArguments {
    @Flag(help: "Repair what compression changed against the original model on --calibration samples (else generated ones): pruned and low-rank MatMul/Gemm layers are refit by least squares, layer after layer; quantized weights are rounded by GPTQ with a clipping search.")
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

    /// The least-squares refit of pruned and factored layers, when asked for.
    func layerRepair(calibration: CalibrationSource?, dims: [String: Int], seed: UInt64) -> [any ModelPass] {
        guard repair else { return [] }
        var options = LayerRepairPass.Options()
        options.damping = repairDamping
        options.calibration.source = calibration
        options.calibration.dims = dims
        options.calibration.seed = seed
        return [LayerRepairPass(options)]
    }

    /// GPTQ's settings, when asked for (`quantizing`: --quantize is given).
    func gptq(calibration: CalibrationSource?, dims: [String: Int], seed: UInt64, quantizing: Bool) -> GPTQWeights.Options? {
        guard usesGPTQ, quantizing else { return nil }
        var options = GPTQWeights.Options()
        options.source = calibration
        options.dims = dims
        options.seed = seed
        options.damping = repairDamping
        return options
    }
}
