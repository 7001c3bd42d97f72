/// Normalization layers and the Softmax family: the evaluator's kernels of this family, by
/// operator type.
enum NormalizationKernels {
    static let table: [String: Kernel] = [:]
}
