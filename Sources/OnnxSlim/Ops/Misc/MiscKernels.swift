/// Losses, detection and the remaining operators: the evaluator's kernels of this family, by operator type.
enum MiscKernels {
    static let table: [String: Kernel] = [:]
}
