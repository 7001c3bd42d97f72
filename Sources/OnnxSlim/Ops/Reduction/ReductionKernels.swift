/// Reductions, ArgMax/ArgMin, TopK, CumSum: the evaluator's kernels of this family, by operator type.
enum ReductionKernels {
    static let table: [String: Kernel] = Reduce.table
        .merging(ArgMinMax.table) { a, _ in a }
        .merging(TopK.table) { a, _ in a }
        .merging(CumSum.table) { a, _ in a }
}

extension ReductionKernels {
    static let shapeRules: [String: ShapeRule] = Reduce.shapeRules
        .merging(ArgMinMax.shapeRules) { a, _ in a }
        .merging(TopK.shapeRules) { a, _ in a }
        .merging(CumSum.shapeRules) { a, _ in a }
}
