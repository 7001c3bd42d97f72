import ArgumentParser
import OnnxSlim

/// The convert command's quantization flags, turned into passes.
struct QuantizationOptions: ParsableArguments {
    @Option(help: "Quantize weights (int8, uint8, int4, uint4, fp8 = E4M3FN) or convert the computation (fp16, bf16).")
    var quantize: QuantizeFormat?

    @Flag(inversion: .prefixedNo, help: "With fp16/bf16: keep graph inputs and outputs float32.")
    var keepIoTypes = true

    @Option(help: "Form of 8-bit weights: auto (per op type, measured fastest in onnxruntime), weight-only (DequantizeLinear), dynamic (integer MatMul), folded (Cast·Mul, folded at load).")
    var int8Mode: Int8ModeArgument = .auto

    @Flag(help: "int8 weights that integer kernels multiply (dynamic and static forms) use all 8 bits (-127..127) instead of 7 (-64..64). Exact only on CPUs with VNNI or on ARM: x86 CPUs without VNNI saturate int16 pair sums and lose accuracy.")
    var int8FullRange = false

    @Option(help: "Before weights become integer MatMuls (dynamic form), migrate activation outliers into them per input channel (SmoothQuant): auto (α searched per activation by the simulated int8 error on calibration activations), off, or a fixed α in 0...1. Calibrated on --calibration DIR, else on generated inputs.")
    var smoothing: String = "auto"

    @Flag(help: "One scale per tensor instead of per output channel (8-bit, fp8).")
    var perTensor = false

    @Flag(help: "Asymmetric weight ranges (a zero point per group) instead of symmetric.")
    var asymmetric = false

    @Flag(help: "With --quantize int4: MatMul/Gemm weights on asymmetric grids with a float zero point per block (each block's minimum and maximum exact, as GGUF's Q4_1 and HQQ), in standard ONNX: the 4-bit DequantizeLinear → MatMul plus a small MatMul of block sums that adds the offsets. Other weights stay symmetric; the report counts them.")
    var floatZeroPoints = false

    @Option(help: "Format of embedding tables (weights only Gather reads): int8, uint8, int4, uint4, fp8 or float (default: --quantize's). A tied LM head is a MatMul weight too and takes --quantize's.")
    var embeddingFormat: EmbeddingFormat?

    @Option(help: "With --quantize int4/uint4: the format of narrow weights, those with fewer than --block-size values per output channel (depthwise convs, 3-channel stems), where 4-bit spends one scale on a handful of values: int8 (default), int4/uint4 (as the rest), or float.")
    var narrowFormat: NarrowFormat = .int8

    @Option(help: "Block size along the summed axis for int4/uint4.")
    var blockSize: Int = 32

    @Option(help: "Leave nodes whose name matches this regular expression (and weights they share) in float.")
    var excludeNodes: String?

    @Option(help: "Leave these op types in float (comma-separated, e.g. Conv,Gather).")
    var excludeOps: String?

    @Flag(help: "After quantizing, keep scales, biases and normalization parameters float32 (default: float16 where every value fits, widened at load).")
    var keepFloat32 = false

    @Option(help: "Leave weights with fewer elements than this in float.")
    var minElements: Int = 16

    func validate() throws {
        guard blockSize >= 16, blockSize & (blockSize - 1) == 0 else {
            throw ValidationError("--block-size must be a power of two, at least 16")
        }
        guard minElements >= 0 else { throw ValidationError("--min-elements must not be negative") }
        guard calibrationSamples >= 1 else { throw ValidationError("--calibration-samples must be at least 1") }
        if floatZeroPoints && quantize != .int4 { throw ValidationError("--float-zero-points needs --quantize int4") }
        if floatZeroPoints && asymmetric { throw ValidationError("--float-zero-points and --asymmetric are two zero-point forms: choose one") }
        if embeddingFormat != nil && quantize?.format == nil {
            throw ValidationError("--embedding-format needs --quantize int8|uint8|int4|uint4|fp8")
        }
    }

    @Option(help: "Calibration samples for --int8-mode static, for smoothing and --int8-mode auto's choice of integer MatMuls, and for --quantize fp16's range check: a folder of tensors (.npy/.pb named after graph inputs) or of sample folders.")
    var calibration: String?

    @Flag(help: "With --int8-mode static and no --calibration: calibrate on generated random inputs (--calibration-samples of them). Ranges from random inputs rarely match real data; the report says so.")
    var calibrationGenerated = false

    @Option(help: "How activation ranges are calibrated: minmax, percentile (99.99%) or entropy.")
    var calibrationMethod: ActivationRanges.Method = .minmax

    @Option(help: "Generated calibration samples, with --calibration-generated; with --calibration-text, the most samples taken.")
    var calibrationSamples: Int = 32

    @Option(help: "Calibration samples from text (UTF-8), tokenized by --tokenizer: one sample per line (encoders), or consecutive windows of --calibration-length tokens (decoders). Instead of --calibration, for every pass that calibrates.")
    var calibrationText: String?

    @Option(help: "The Hugging Face tokenizer.json for --calibration-text (WordPiece or BPE, byte-level or not).")
    var tokenizer: String?

    @Option(help: "How --calibration-text becomes samples: lines or windows (default: lines when the tokenizer adds special tokens, as BERT-family encoders do; else windows).")
    var calibrationSplit: TextCalibration.Split?

    @Option(help: "Tokens per --calibration-text sample (the window length; longer lines are cut).")
    var calibrationLength: Int = 128

    /// The calibration samples' source: `--calibration DIR` or `--calibration-text` (tokenized here, once).
    func calibrationSource() throws -> CalibrationSource? {
        if let calibrationText {
            guard let tokenizer else { throw OnnxSlimError.usage("--calibration-text needs --tokenizer tokenizer.json") }
            guard calibration == nil else { throw OnnxSlimError.usage("--calibration and --calibration-text exclude each other") }
            guard calibrationLength >= 1 else { throw OnnxSlimError.usage("--calibration-length must be at least 1") }
            return .text(try TextCalibration.make(text: calibrationText, tokenizer: tokenizer, split: calibrationSplit,
                                                  length: calibrationLength, samples: calibrationSamples))
        }
        if tokenizer != nil || calibrationSplit != nil { throw OnnxSlimError.usage("--tokenizer and --calibration-split go with --calibration-text FILE") }
        return calibration.map { .folder($0) }
    }

    @Flag(help: "With --int8-mode static, also quantize activations left float by default (Softmax outputs).")
    var quantizeSensitive = false

    @Option(help: "Upgrade the default-domain opset to this version (adapting changed operators).")
    var opset: Int64?

    /// The passes these flags ask for, in order (`--opset` first; `PassPipeline` adds the
    /// upgrades the passes themselves need).
    /// `calibrationUsedElsewhere`: another pass (pruning) reads --calibration.
    /// `gptq`: MatMul/Gemm weights rounded by GPTQ (`--repair`, `--quantize-method gptq`).
    func passes(for model: Model, calibration source: CalibrationSource? = nil, dims: [String: Int] = [:], seed: UInt64 = 0,
                calibrationUsedElsewhere: Bool = false, gptq: GPTQWeights.Options? = nil) throws -> [any ModelPass] {
        let current = model.opsetVersion() ?? 1
        if let opset, opset < current {
            throw OnnxSlimError.usage("--opset \(opset) is below the model's opset \(current); onnx-slim only upgrades")
        }
        guard let quantize else { return opset.map { [OpsetUpgradePass(target: $0)] } ?? [] }
        var passes: [any ModelPass] = opset.map { [OpsetUpgradePass(target: $0)] } ?? []
        if let precision = quantize.floatPrecision {
            if precision == .bfloat16 {
                passes.append(BFloat16StoragePass())
            } else {
                // The float16 numerics check runs on --calibration samples when given.
                var pass = FloatPrecisionPass(target: precision, keepIOTypes: keepIoTypes)
                pass.numerics?.source = source
                pass.numerics?.dims = dims
                pass.numerics?.seed = seed
                passes.append(pass)
            }
            return passes
        }
        var options = QuantizeWeightsPass.Options(format: quantize.format!)
        options.perTensor = perTensor
        options.symmetric = !asymmetric
        options.floatZeroPoints = floatZeroPoints
        options.blockSize = blockSize
        options.excludeNodes = excludeNodes
        options.excludeOps = Set((excludeOps ?? "").split(separator: ",").map { $0.filter { $0 != " " } })
        options.minElements = minElements
        let isStatic = int8Mode == .static
        if isStatic && quantize != .int8 && quantize != .uint8 {
            throw OnnxSlimError.usage("--int8-mode static needs --quantize int8 or uint8")
        }
        options.int8Mode = isStatic ? .weightOnly : int8Mode.mode
        options.dequantizedFeedIntegerKernels = isStatic
        options.fullRangeIntegerKernels = int8FullRange
        if let gptq {
            guard quantize.format != .fp8 else { throw OnnxSlimError.usage("GPTQ rounds integer formats; fp8 rounds to nearest (leave out --repair / --quantize-method gptq)") }
            guard !asymmetric else { throw OnnxSlimError.usage("GPTQ rounds symmetric grids; leave out --asymmetric or use --quantize-method rtn") }
            options.gptq = gptq
        }
        var embeddingPass: QuantizeWeightsPass?
        if let embeddingFormat, embeddingFormat.rawValue != quantize.rawValue {
            if let format = embeddingFormat.format {
                var tables = options
                tables.format = format
                tables.tables = .embeddingsOnly
                tables.gptq = options.gptq
                embeddingPass = QuantizeWeightsPass(tables)
            }
            options.tables = .allButEmbeddings
        }
        var narrowPass: QuantizeWeightsPass?
        if quantize.format?.isSubByte == true, narrowFormat.rawValue != quantize.rawValue {
            if let format = narrowFormat.format {
                var narrow = options
                narrow.format = format
                narrow.floatZeroPoints = false
                narrow.narrow = .only(below: blockSize)
                narrow.tables = .allButEmbeddings
                narrowPass = QuantizeWeightsPass(narrow)
            }
            options.narrow = .exclude(below: blockSize)
        }
        let pass = QuantizeWeightsPass(options)
        if isStatic && source == nil && !calibrationGenerated {
            // Ranges from random inputs ruin trained models (a sentence encoder's embedding cosine
            // falls to 0.79) and symbolic dims of 1 break real ones: real samples or an explicit opt-in.
            throw OnnxSlimError.usage("--int8-mode static needs real calibration samples: --calibration DIR (a folder of NAME.npy/.pb tensors per graph input, or of one sub-folder per sample); --calibration-generated calibrates on random inputs instead")
        }
        if isStatic && source != nil && calibrationGenerated {
            throw OnnxSlimError.usage("--calibration-generated and --calibration exclude each other")
        }
        if isStatic {
            var calibration = ActivationQDQPass.Calibration()
            calibration.source = source
            calibration.count = calibrationSamples
            calibration.method = calibrationMethod
            calibration.dims = dims
            calibration.seed = seed
            var activations = ActivationQDQPass(calibration: calibration)
            activations.quantizeSensitive = quantizeSensitive
            activations.isExcluded = pass.isExcluded
            passes.append(activations)
        } else if calibrationGenerated {
            throw OnnxSlimError.usage("--calibration-generated is used by --int8-mode static")
        }
        // Calibrate the integer MatMuls: smoothing, and (auto) which keep float activations.
        let smoothingChoice = try parsedSmoothing()
        let budget = int8Mode == .auto && (quantize == .int8 || quantize == .uint8) ? IntegerErrorBudget.standard : nil
        if !isStatic, smoothingChoice != .off || budget != nil {
            var calibrating = ActivationSmoothingPass(quantizer: pass, smoothing: smoothingChoice, errorBudget: budget)
            calibrating.calibration.source = source
            calibrating.calibration.dims = dims
            calibrating.calibration.seed = seed
            passes.append(calibrating)
        } else if !isStatic && source != nil && !calibrationUsedElsewhere && gptq == nil {
            throw OnnxSlimError.usage("--calibration / --calibration-text is used by --int8-mode static or auto, and by --smoothing")
        }
        if let embeddingPass { passes.append(embeddingPass) }
        passes.append(pass)
        if let narrowPass { passes.append(narrowPass) }
        if !keepFloat32 {
            var half = HalfStoragePass()
            half.isExcluded = pass.isExcluded
            passes.append(half)
        }
        return passes
    }
}

extension QuantizationOptions {
    /// `--smoothing` parsed.
    func parsedSmoothing() throws -> SmoothingStrength {
        switch smoothing {
        case "off": return .off
        case "auto": return .search
        default:
            guard let a = Double(smoothing), a >= 0, a <= 1 else {
                throw OnnxSlimError.usage("--smoothing takes auto, off or an α between 0 and 1, not '\(smoothing)'")
            }
            return .fixed(a)
        }
    }
}

enum QuantizeFormat: String, ExpressibleByArgument, CaseIterable {
    case int8, uint8, int4, uint4, fp8, fp16, bf16

    /// The weight format, for the quantizing formats.
    var format: QuantFormat? { QuantFormat(rawValue: rawValue) }

    /// The computation type, for fp16/bf16.
    var floatPrecision: DataType? {
        switch self {
        case .fp16: return .float16
        case .bf16: return .bfloat16
        default: return nil
        }
    }
}

enum EmbeddingFormat: String, ExpressibleByArgument, CaseIterable {
    case int8, uint8, int4, uint4, fp8, float

    var format: QuantFormat? { QuantFormat(rawValue: rawValue) }
}

enum NarrowFormat: String, ExpressibleByArgument, CaseIterable {
    case int8, int4, uint4, float

    var format: QuantFormat? { QuantFormat(rawValue: rawValue) }
}

enum Int8ModeArgument: String, ExpressibleByArgument, CaseIterable {
    case auto, weightOnly = "weight-only", dynamic, folded, `static`

    /// The weight form; `static` quantizes weights weight-only and adds activation QDQ.
    var mode: QuantizeWeightsPass.Int8Mode { QuantizeWeightsPass.Int8Mode(rawValue: rawValue) ?? .weightOnly }
}

extension ActivationRanges.Method: ExpressibleByArgument {}

extension TextCalibration.Split: ExpressibleByArgument {}
