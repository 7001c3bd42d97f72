/// Elementwise math, activations, comparisons, logic and Cast: the evaluator's kernels of this
/// family, by operator type.
enum MathKernels {
    static let table: [String: Kernel] = Arithmetic.table
}
