/// Reductions, ArgMax/ArgMin, TopK, CumSum: the evaluator's kernels of this family, by operator type.
enum ReductionKernels {
    static let table: [String: Kernel] = [:]
}
