/// `--opset N` (and before quantization when a format needs it): raises the default-domain opset,
/// adapting every node whose operator changed signature or meaning between the versions crossed,
/// in the main graph and all subgraphs. Each adapter is listed with the version that changed the
/// operator (see `OpsetAdapters`). An operator it cannot convert faithfully stops the pass with an
/// error naming it; nothing is written.
///
///     opset 12:  Squeeze(x) {axes = [1]}        Clip(x) {min = 0, max = 6}
///     opset 13:  Squeeze(x, [1])                Clip(x, 0.0, 6.0)
public struct OpsetUpgradePass: ModelPass {
    public let target: Int64
    public init(target: Int64) { self.target = target }

    public var name: String { "opset upgrade to \(target)" }
    public var summary: String { "Raises the default-domain opset, adapting every operator whose signature or meaning changed." }
    public func requiredOpset(_ model: Model) throws -> Int64 { 1 }

    /// The oldest opset the adapters start from.
    public static let oldestSupported: Int64 = 1
    /// The newest opset onnx-slim writes.
    public static let newestSupported: Int64 = 23

    public func run(_ model: inout Model, _ context: PassContext) throws -> PassOutcome {
        let from = model.opsetVersion() ?? target
        guard target <= Self.newestSupported else {
            throw OnnxSlimError.usage("opset \(target) is newer than onnx-slim knows (\(Self.newestSupported))")
        }
        if from >= target { return PassOutcome(name: name, changed: false, summary: []) }
        guard from >= Self.oldestSupported else {
            throw OnnxSlimError(.badInput, "the model uses opset \(from); upgrading from below \(Self.oldestSupported) is not supported")
        }
        var upgrader = OpsetAdapters(from: from, to: target, names: NameAllocator(model))
        var graph = model.mainGraph
        try upgrader.upgrade(&graph, outer: nil)
        model.mainGraph = graph
        if let k = model.opsetImports.firstIndex(where: { $0.domain.isEmpty || $0.domain == "ai.onnx" }) {
            model.opsetImports[k].version = target
        } else {
            model.opsetImports.insert(OperatorSetID(version: target), at: 0)
        }
        model.irVersion = max(model.irVersion, Self.irVersion(forOpset: target))
        let adapted = upgrader.adapted.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return PassOutcome(name: "opset \(from) → \(target)", changed: true,
                           summary: [upgrader.adapted.isEmpty ? "no node needed adapting" : "adapted \(adapted)"])
    }

    /// The IR version that introduced each opset (ONNX's versioning table).
    static func irVersion(forOpset opset: Int64) -> Int64 {
        switch opset {
        case ...8: return 3
        case 9: return 4
        case 10: return 5
        case 11: return 6
        case 12...14: return 7
        case 15...18: return 8
        case 19...20: return 9
        case 21...22: return 10
        default: return 11
        }
    }
}
