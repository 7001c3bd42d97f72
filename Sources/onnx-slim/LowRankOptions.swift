import ArgumentParser
import Foundation
import OnnxSlim

/// `--low-rank`, `--low-rank-energy` and their settings (LowRankPass).
struct LowRankOptions: ParsableArguments {
    @Option(help: "Factor dense layers (MatMul, Gemm) into two low-rank MatMuls, keeping this fraction of their parameters; ranks are chosen across layers from the whitened spectra.")
    var lowRank: Double?

    @Option(help: "Instead of --low-rank's budget: per layer, the smallest rank keeping this share of the layer's output energy.")
    var lowRankEnergy: Double?

    @Option(help: "What the factorization minimises: activations (output error on --calibration samples, else generated ones) or none (plain SVD of the weights, data-free).")
    var lowRankData: LowRankPass.DataSource = .activations

    @Option(help: "Damping of the input covariance, as a fraction of its mean diagonal (larger: closer to plain SVD, safer on inputs unlike the calibration).")
    var lowRankDamping: Double = 0.01

    @Option(help: "Leave layers whose node name matches this regular expression dense.")
    var lowRankExclude: String?

    @Option(help: "Operator types to factor (comma-separated): MatMul, Gemm, Conv (pointwise 1×1 convs).")
    var lowRankOps: String = "MatMul,Gemm,Conv"

    var isRequested: Bool { lowRank != nil || lowRankEnergy != nil }

    /// `--low-rank-ops` as a set of operator types.
    var ops: Set<String> { Set(lowRankOps.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }) }

    /// `--low-rank-exclude` compiled (nil when absent or not a regular expression: `check` refuses that).
    var exclude: NSRegularExpression? { lowRankExclude.flatMap { try? NSRegularExpression(pattern: $0) } }

    func check() throws {
        if let r = lowRank { guard r > 0 && r <= 1 else { throw ValidationError("--low-rank takes a fraction in (0, 1], not \(r)") } }
        if let e = lowRankEnergy { guard e > 0 && e <= 1 else { throw ValidationError("--low-rank-energy takes a fraction in (0, 1], not \(e)") } }
        guard lowRankDamping >= 0 && lowRankDamping.isFinite else { throw ValidationError("--low-rank-damping must be a non-negative number") }
        guard lowRank == nil || lowRankEnergy == nil else { throw ValidationError("give --low-rank or --low-rank-energy, not both") }
        if let p = lowRankExclude, exclude == nil {
            throw ValidationError("--low-rank-exclude: '\(p)' is not a regular expression")
        }
        guard !ops.isEmpty, ops.isSubset(of: ["MatMul", "Gemm", "Conv"]) else {
            throw ValidationError("--low-rank-ops takes MatMul, Gemm and/or Conv (pointwise), not '\(lowRankOps)'")
        }
    }

    /// The low-rank pass, or none when not asked for.
    func passes(roundTo: Int, calibration: CalibrationSource?, dims: [String: Int], seed: UInt64) -> [any ModelPass] {
        guard isRequested else { return [] }
        var options = LowRankPass.Options()
        options.keep = lowRank
        options.energy = lowRankEnergy
        options.data = lowRankData
        options.roundTo = roundTo
        options.damping = lowRankDamping
        options.ops = ops
        options.exclude = exclude
        options.calibration.source = calibration
        options.calibration.dims = dims
        options.calibration.seed = seed
        return [LowRankPass(options)]
    }
}

extension LowRankPass.DataSource: ExpressibleByArgument {}
