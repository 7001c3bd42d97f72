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
