/// Neural-network layers (MatMul, Gemm, Conv, pooling, normalization, Softmax, Resize, …): the
/// evaluator's kernels of this family, by operator type.
enum NNKernels {
    static let table: [String: Kernel] = [
        "MatMul": MatMulOp.evaluate,
    ]
}
