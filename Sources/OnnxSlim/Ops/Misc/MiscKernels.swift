/// Losses, detection and the remaining operators: the evaluator's kernels of this family, by operator type.
enum MiscKernels {
    static let table: [String: Kernel] = [Losses.table, NonMaxSuppression.table, Det.table, Windows.table,
                                          Fourier.table, TfIdfVectorizer.table]
        .reduce(into: [:]) { all, part in all.merge(part) { a, _ in a } }
}

extension MiscKernels {
    static let shapeRules: [String: ShapeRule] = [Losses.shapeRules, NonMaxSuppression.shapeRules, Det.shapeRules,
                                                  Windows.shapeRules, Fourier.shapeRules, TfIdfVectorizer.shapeRules,
                                                  RandomOps.shapeRules, StringNormalizer.shapeRules, MelWeightMatrix.shapeRules]
        .reduce(into: [:]) { all, part in all.merge(part) { a, _ in a } }
}

extension MiscKernels {
    static let axisRules: [String: AxisRule] = table.mapValues { _ in AxisRules.opaque("not a layer pruning follows") }
}
