import ArgumentParser
import OnnxSlim

/// `--verify [N]`, `--min-cosine`, `--max-error` and where verification inputs come from.
struct VerifyOptions: ParsableArguments {
    static let defaultSamples = 8

    @Option(name: .customLong("verify"), help: ArgumentHelp(
        "Run the original and the result on N inputs and report per-output agreement (--verify alone: 8).",
        valueName: "N"))
    var samples: Int?

    @Option(help: "Inputs for --verify: a folder of tensors (.npy/.pb named after graph inputs), or of sample folders.")
    var inputs: String?

    @Option(help: "Fail (exit 3, nothing written) when an output's cosine similarity falls below this.")
    var minCosine: Double?

    @Option(help: "Fail (exit 3, nothing written) when an output's max abs error exceeds this.")
    var maxError: Double?

    @OptionGroup
    var generation: GeneratedInputOptions

    /// Verification is on when asked for, implied by a bound or by --inputs.
    var enabled: Bool { samples != nil || minCosine != nil || maxError != nil || inputs != nil }

    func check() throws {
        if let samples, samples < 1 { throw ValidationError("--verify wants at least 1 sample") }
        if let minCosine, !(minCosine >= -1 && minCosine <= 1) { throw ValidationError("--min-cosine must be in [-1, 1]") }
        if let maxError, !(maxError >= 0) { throw ValidationError("--max-error must be non-negative") }
        _ = try generation.dimValues()
    }

    /// Runs both models; throws a verification error when a bound is breached.
    func run(original: Model, converted: Model) throws -> ConvertReport.Verification? {
        guard enabled else { return nil }
        let seed = generation.seed
        let samplesIn = try ModelInputs.samples(folder: inputs, count: samples ?? Self.defaultSamples, model: original,
                                                dims: try generation.dimValues(), seed: seed)
        let source = inputs.map { "from \($0)" } ?? "generated (seed \(seed)"
            + (samplesIn.first?.notes.isEmpty == false ? "; " + samplesIn[0].notes.joined(separator: "; ") : "") + ")"
        let comparison = try ModelComparison(original: original, converted: converted)
        let outputs = try comparison.compare(samples: samplesIn)
        for o in outputs {
            if let minCosine, !(o.cosine >= minCosine) {
                throw OnnxSlimError(.verification, "verification failed: output '\(o.name)' has cosine \(Formatting.fixed(o.cosine, 6)) < --min-cosine \(minCosine); nothing written")
            }
            if let maxError, !(o.maxAbsError <= maxError) {
                throw OnnxSlimError(.verification, "verification failed: output '\(o.name)' has max abs error \(Formatting.fixed(o.maxAbsError, 6)) > --max-error \(maxError); nothing written")
            }
        }
        return ConvertReport.Verification(samples: samplesIn.count, source: source, outputs: outputs)
    }

    /// `--verify` may stand alone: argv gets the default sample count inserted so the parser
    /// sees `--verify 8`.
    static func normalize(_ args: [String]) -> [String] {
        var out: [String] = []
        for (k, a) in args.enumerated() {
            out.append(a)
            if a == "--verify" && (k + 1 >= args.count || Int(args[k + 1]) == nil) {
                out.append(String(defaultSamples))
            }
        }
        return out
    }
}
