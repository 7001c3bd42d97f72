import ArgumentParser
import OnnxSlim

/// `onnx-slim IN OUT`: read a model, run the requested passes (none yet: a faithful re-encode),
/// write plain ONNX or a zstd frame, and report before/after.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert IN to OUT (OUT ending in .zst is written as a zstd frame).")

    @Argument(help: "Input model (.onnx, or a zstd frame holding one).")
    var input: String

    @Argument(help: "Output model. A name ending in .zst gives a zstd-packed model.")
    var output: String

    @Option(help: "zstd compression level for .zst outputs (1-22).")
    var zstdLevel: Int = 3

    @Flag(help: "Store tensors of 1 KiB and more in OUT.data (always done when the model would pass 2 GiB).")
    var externalData = false

    @Option(help: "Report format: text or json.")
    var report: ReportFormat = .text

    @OptionGroup(title: "Pruning")
    var pruning: PruningOptions

    @OptionGroup(title: "Low-rank factorization")
    var lowRank: LowRankOptions

    @OptionGroup(title: "Quantization")
    var quantization: QuantizationOptions

    @OptionGroup(title: "Repair")
    var repair: RepairOptions

    @OptionGroup(title: "Verification")
    var verification: VerifyOptions

    func validate() throws {
        guard (1...22).contains(zstdLevel) else { throw ValidationError("--zstd-level must be between 1 and 22") }
        try verification.check()
        try pruning.check()
        try lowRank.check()
        try repair.check()
        let quantizing = quantization.quantize?.format != nil
        if repair.repair && !quantizing && !pruning.isRequested && !lowRank.isRequested {
            throw ValidationError("--repair needs --prune-heads, --prune-ffn, --prune-channels, --low-rank or --quantize int8|uint8|int4|uint4")
        }
        if repair.quantizeMethod == .gptq && !quantizing {
            throw ValidationError("--quantize-method gptq needs --quantize int8|uint8|int4|uint4")
        }
    }

    func run() throws {
        let clock = ContinuousClock()
        let start = clock.now
        MemoryTrace.mark("start")
        let loaded = try ModelLoader.load(input)
        MemoryTrace.mark("loaded")
        let before = ModelSummary(loaded)
        var model = loaded.model
        let context = PassContext()
        let dims = try verification.generation.dimValues(), seed = verification.generation.seed
        let calibration = try quantization.calibrationSource()
        // The structural passes in the order their options were given (each measures the model
        // the one before left), then quantization.
        var structural = [(flags: ["--prune-heads", "--prune-ffn", "--prune-channels"],
                           passes: pruning.passes(calibration: calibration, dims: dims, seed: seed)),
                          (flags: ["--low-rank", "--low-rank-energy"],
                           passes: lowRank.passes(roundTo: pruning.roundTo, calibration: calibration, dims: dims, seed: seed))]
        let arguments = CommandLine.arguments
        func position(_ flags: [String]) -> Int {
            arguments.firstIndex { a in flags.contains { a == $0 || a.hasPrefix($0 + "=") } } ?? arguments.count
        }
        structural.sort { position($0.flags) < position($1.flags) }
        let compressing = pruning.isRequested || lowRank.isRequested
        let pipeline = PassPipeline(structural.flatMap(\.passes)
            + (compressing ? repair.layerRepair(calibration: calibration, dims: dims, seed: seed) : [])
            + (try quantization.passes(for: model, calibration: calibration, dims: dims, seed: seed, calibrationUsedElsewhere: compressing,
                                       gptq: repair.gptq(calibration: calibration, dims: dims, seed: seed,
                                                         quantizing: quantization.quantize?.format != nil))))
        let passes = try pipeline.run(&model, context) { MemoryTrace.mark("after \($0.name)") }.map(\.line)

        // Verification runs before anything is written: a breached bound leaves no output.
        let verified = try verification.run(original: loaded.model, converted: model)
        MemoryTrace.mark("verified")

        var options = ModelSaver.Options()
        options.zstdLevel = zstdLevel
        options.externalData = externalData ? .always : .automatic
        let progress = TerminalProgress()
        options.progress = { done, total in progress.update("writing \(output)", done: done, total: total) }
        let result = try ModelSaver.save(model, to: output, input: loaded, options: options)
        progress.finish()
        MemoryTrace.mark("saved")
        let after = ModelSummary(saved: model, as: result)
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        var summary = ConvertReport(input: input, output: output, before: before, after: after, passes: passes,
                                    externalDataPath: result.externalDataPath, seconds: seconds)
        summary.verification = verified
        switch report {
        case .text: print(summary.text)
        case .json: print(summary.json.rendered())
        }
    }
}

enum ReportFormat: String, ExpressibleByArgument {
    case text, json
}

extension ModelSummary {
    /// The summary of what was written (the model as saved, with the file's size).
    init(saved model: Model, as result: ModelSaver.Result) {
        self.init(model, fileSize: result.bytesWritten, compressed: result.path.hasSuffix(".zst"))
    }
}
