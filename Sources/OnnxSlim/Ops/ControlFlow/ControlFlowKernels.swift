/// If, Loop, Scan, sequences and optionals: the evaluator's kernels of this family, by operator type.
enum ControlFlowKernels {
    static let table: [String: Kernel] = [:]
}
