/// Everything onnx-slim knows about each operator of the default ONNX domain, gathered from the
/// operator families (Ops/Math, Ops/Shape, …; each family keeps its tables in its own folder,
/// an operator's kernel, shape rule and axis rule together): the kernel the evaluator runs, the
/// shape rule inference applies, the axis rule structural pruning follows, and how the operator
/// uses a weight. `KernelRegistry`, `ShapeRuleRegistry` and `AxisRuleRegistry` are views of it.
public enum OperatorRegistry {
    public struct Entry {
        public var kernel: Kernel?
        public var shapeRule: ShapeRule?
        public var axisRule: AxisRule?
        public var weights: (any OperatorKnowledge.Type)?
    }

    /// One family's tables.
    private struct Family {
        var kernels: [String: Kernel]
        var shapeRules: [String: ShapeRule]
        var axisRules: [String: AxisRule]
    }

    private static let families: [Family] = [
        Family(kernels: MathKernels.table, shapeRules: MathKernels.shapeRules, axisRules: MathKernels.axisRules),
        Family(kernels: ShapeKernels.table, shapeRules: ShapeKernels.shapeRules, axisRules: ShapeKernels.axisRules),
        Family(kernels: NNKernels.table, shapeRules: NNKernels.shapeRules, axisRules: NNKernels.axisRules),
        Family(kernels: NormalizationKernels.table, shapeRules: NormalizationKernels.shapeRules, axisRules: NormalizationKernels.axisRules),
        Family(kernels: ResamplingKernels.table, shapeRules: ResamplingKernels.shapeRules, axisRules: ResamplingKernels.axisRules),
        Family(kernels: ReductionKernels.table, shapeRules: ReductionKernels.shapeRules, axisRules: ReductionKernels.axisRules),
        Family(kernels: QuantizationKernels.table, shapeRules: QuantizationKernels.shapeRules, axisRules: QuantizationKernels.axisRules),
        Family(kernels: RecurrentKernels.table, shapeRules: RecurrentKernels.shapeRules, axisRules: RecurrentKernels.axisRules),
        Family(kernels: ControlFlowKernels.table, shapeRules: ControlFlowKernels.shapeRules, axisRules: ControlFlowKernels.axisRules),
        Family(kernels: MiscKernels.table, shapeRules: MiscKernels.shapeRules, axisRules: MiscKernels.axisRules),
    ]

    /// By operator type; the first family naming an operator wins.
    public static let entries: [String: Entry] = {
        var all: [String: Entry] = [:]
        for family in families {
            for (op, k) in family.kernels where all[op]?.kernel == nil { all[op, default: Entry()].kernel = k }
            for (op, r) in family.shapeRules where all[op]?.shapeRule == nil { all[op, default: Entry()].shapeRule = r }
            for (op, r) in family.axisRules where all[op]?.axisRule == nil { all[op, default: Entry()].axisRule = r }
        }
        for op in Operators.all { all[op.opType, default: Entry()].weights = op }
        return all
    }()

    /// The com.microsoft operators onnxruntime's fusions write (`MicrosoftKernels`).
    public static let microsoft: [String: Entry] = {
        var all: [String: Entry] = [:]
        for (op, k) in MicrosoftKernels.table { all[op, default: Entry()].kernel = k }
        for (op, r) in MicrosoftKernels.shapeRules { all[op, default: Entry()].shapeRule = r }
        for (op, r) in MicrosoftKernels.axisRules { all[op, default: Entry()].axisRule = r }
        return all
    }()

    public static func entry(for node: Node) -> Entry? {
        if node.isDefaultDomain { return entries[node.opType] }
        return node.domain == MicrosoftKernels.domain ? microsoft[node.opType] : nil
    }
}

/// The axis rule of each operator (see `AxisRule`).
public enum AxisRuleRegistry {
    static func rule(for node: Node) -> AxisRule? { OperatorRegistry.entry(for: node)?.axisRule }
    public static var coveredOperators: [String] { OperatorRegistry.entries.filter { $0.value.axisRule != nil }.keys.sorted() }
}
