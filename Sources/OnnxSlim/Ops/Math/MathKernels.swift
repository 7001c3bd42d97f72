/// Elementwise math, activations, comparisons, logic and Cast: the evaluator's kernels of this
/// family, by operator type.
enum MathKernels {
    static let table: [String: Kernel] = {
        var all: [String: Kernel] = [:]
        for part in [Arithmetic.table, Bitwise.table, Unary.table, Activations.table, Variadic.table,
                     Comparison.table, Selection.table, Cast.table] {
            all.merge(part) { _, _ in preconditionFailure("an operator is registered twice in Ops/Math") }
        }
        return all
    }()
}
