/// A rewrite of the model, run by `PassPipeline` in the order the options give.
///
/// A pass states what it did in `PassOutcome.summary` (shown in the report) and explains every
/// weight or node it left alone in `skipped`. It fails with an `OnnxSlimError` when it cannot
/// apply at all (the command then writes nothing).
public protocol ModelPass {
    /// Short name for the report ("quantize int8", "opset 11 → 13").
    var name: String { get }
    /// One sentence on what the pass does, for `--help`-style listings and the JSON report.
    var summary: String { get }
    /// The default-domain opset the pass needs on `model` (the pipeline upgrades first when the
    /// model's is older; 1 when any will do).
    func requiredOpset(_ model: Model) throws -> Int64
    func run(_ model: inout Model, _ context: PassContext) throws -> PassOutcome
}

/// A pass whose changes `--repair` refits (pruning, low-rank): the pipeline keeps the model as
/// it was before the first of them as `PassContext.teacher`.
public protocol LayerCompressingPass: ModelPass {}

/// What a pass changed, for the report.
public struct PassOutcome: Sendable {
    public var name: String
    public var changed: Bool
    public var summary: [String]
    /// Reasons things were left alone, with counts ("MatMul: weight is computed" × 24).
    public var skipped: [(reason: String, count: Int)]
    /// One line per layer changed, shown indented under the pass's line.
    public var details: [String] = []

    public init(name: String, changed: Bool, summary: [String], skipped: [(reason: String, count: Int)] = [],
                details: [String] = []) {
        self.name = name
        self.changed = changed
        self.summary = summary
        self.skipped = skipped
        self.details = details
    }

    /// One line for the text report.
    public var line: String {
        var s = "\(name): " + (summary.isEmpty ? "nothing to do" : summary.joined(separator: "; "))
        if !skipped.isEmpty {
            s += "; skipped " + skipped.map { "\($0.count) (\($0.reason))" }.joined(separator: ", ")
        }
        for d in details { s += "\n    " + d }
        return s
    }
}

/// Shared services for passes: reading weight bytes wherever they live.
public final class PassContext {
    public let reader: ExternalDataReader
    /// True once an earlier pass of this run changed the model.
    public var changedSoFar = false
    /// Main-graph weights an earlier pass measured too lossy as integer MatMuls (`--int8-mode
    /// auto`, see `ActivationSmoothingPass`): the weight pass stores them folded instead, so
    /// their MatMuls keep float activations.
    public var floatActivationWeights: Set<String> = []
    /// The model before the first `LayerCompressingPass` ran: what repair matches.
    public var teacher: Model?
    /// Per weight structured pruning sliced (by name), the indices it kept along each sliced
    /// axis: how repair lines a pruned layer's outputs up with the teacher's.
    public var keptIndices: [String: [Int: [Int]]] = [:]
    /// Tensors weight quantization wrote that a MatMul reads as its weight but that are
    /// quantization parameters (float zero points' offsets and block indicators): float16
    /// storage narrows them like scales.
    public var quantizationParameters: Set<String> = []
    public init(reader: ExternalDataReader = ExternalDataReader()) { self.reader = reader }
}
