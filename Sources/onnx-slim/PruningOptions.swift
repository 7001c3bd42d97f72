import ArgumentParser
import OnnxSlim

/// `--prune-heads`, `--prune-ffn`, `--prune-channels` and their settings (StructuredPruningPass).
struct PruningOptions: ParsableArguments {
    @Option(help: "Remove this fraction of the attention heads (grouped-query models: of the KV groups, with their query heads), least important first, ranked across layers.")
    var pruneHeads: Double = 0

    @Option(help: "Remove this fraction of the FFN neurons (MatMul → activation → MatMul; gated pairs together).")
    var pruneFfn: Double = 0

    @Option(help: "Remove this fraction of the conv channels (coupled through residual Adds, Concat, Split, BatchNormalization, depthwise convs).")
    var pruneChannels: Double = 0

    @Option(help: "Unit importance: activation (output energy on --calibration samples, else generated ones) or magnitude (weight norms, data-free).")
    var pruneImportance: StructuredPruningPass.Importance = .activation

    @Option(help: "Keep neuron and channel counts a multiple of N where the layer's count is one (1: any count; odd counts run slower in onnxruntime).")
    var roundTo: Int = 8

    @Flag(help: "Do not move removed units' mean contribution into the next layer's bias.")
    var noPruneCompensation = false

    @Option(help: "Remove at most this fraction of any one layer's units (1: all but one).")
    var pruneLayerCap: Double = 1

    @Flag(help: "Let a layer lose all its heads or FFN neurons where it has a residual path: the block becomes that path plus its mean output.")
    var pruneEmptyLayers = false

    var isRequested: Bool { pruneHeads > 0 || pruneFfn > 0 || pruneChannels > 0 }

    func check() throws {
        for (flag, r) in [("--prune-heads", pruneHeads), ("--prune-ffn", pruneFfn), ("--prune-channels", pruneChannels)] {
            guard r >= 0 && r < 1 else { throw ValidationError("\(flag) takes a fraction in [0, 1), not \(r)") }
        }
        guard roundTo >= 1 else { throw ValidationError("--round-to must be at least 1") }
        guard pruneLayerCap > 0 && pruneLayerCap <= 1 else { throw ValidationError("--prune-layer-cap takes a fraction in (0, 1], not \(pruneLayerCap)") }
    }

    /// The pruning pass, or none when no ratio is set.
    func passes(calibration: CalibrationSource?, dims: [String: Int], seed: UInt64) -> [any ModelPass] {
        guard isRequested else { return [] }
        var options = StructuredPruningPass.Options()
        options.ratios = [.heads: pruneHeads, .neurons: pruneFfn, .channels: pruneChannels]
        options.importance = pruneImportance
        options.roundTo = roundTo
        options.compensate = !noPruneCompensation
        options.layerCap = pruneLayerCap
        options.emptyLayers = pruneEmptyLayers
        options.calibration.source = calibration
        options.calibration.dims = dims
        options.calibration.seed = seed
        return [StructuredPruningPass(options)]
    }
}

extension StructuredPruningPass.Importance: ExpressibleByArgument {}
