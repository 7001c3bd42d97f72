/// If, Loop, Scan, sequences and optionals: the evaluator's kernels of this family, by operator type.
enum ControlFlowKernels {
    static let table: [String: Kernel] = {
        var table: [String: Kernel] = [
            "If": IfOp.evaluate,
            "Loop": LoopOp.evaluate,
            "Scan": ScanOp.evaluate,
            "SequenceMap": SequenceMapOp.evaluate,
        ]
        table.merge(SequenceOps.table) { a, _ in a }
        table.merge(OptionalOps.table) { a, _ in a }
        return table
    }()
}

extension ControlFlowKernels {
    static let shapeRules: [String: ShapeRule] = {
        var table: [String: ShapeRule] = [
            "If": IfOp.inferShape,
            "Loop": LoopOp.inferShape,
            "Scan": ScanOp.inferShape,
            "SequenceMap": SequenceMapOp.inferShape,
        ]
        table.merge(SequenceOps.shapeRules) { a, _ in a }
        table.merge(OptionalOps.shapeRules) { a, _ in a }
        return table
    }()
}

extension ControlFlowKernels {
    static let axisRules: [String: AxisRule] = table.mapValues { _ in AxisRules.opaque("subgraphs and sequences are not followed") }
}
