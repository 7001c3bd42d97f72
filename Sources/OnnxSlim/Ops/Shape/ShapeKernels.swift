/// Shape and data-movement operators: the evaluator's kernels of this family, by operator type.
enum ShapeKernels {
    static let table: [String: Kernel] = [
        "Reshape": ReshapeOp.evaluate,
        "Constant": ConstantOp.evaluate,
        "Identity": ConstantOp.identity,
    ]
}
