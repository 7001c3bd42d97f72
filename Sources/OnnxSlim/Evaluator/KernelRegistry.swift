/// Every kernel the evaluator has, by operator type (default ONNX domain). Each family of
/// operators keeps its table in its own folder under Ops/ (Ops/Math, Ops/Shape, …); the shape
/// rule and the evaluation of an operator live together there.
public enum KernelRegistry {
    static let table: [String: Kernel] = {
        var all: [String: Kernel] = [:]
        let families: [[String: Kernel]] = [
            MathKernels.table, ShapeKernels.table, NNKernels.table, NormalizationKernels.table,
            ResamplingKernels.table, ReductionKernels.table,
            QuantizationKernels.table, RecurrentKernels.table, ControlFlowKernels.table, MiscKernels.table,
        ]
        for family in families {
            all.merge(family) { first, _ in first }
        }
        return all
    }()

    static func kernel(for node: Node) -> Kernel? {
        node.isDefaultDomain ? table[node.opType] : nil
    }

    public static var supportedOperators: [String] { table.keys.sorted() }
}
