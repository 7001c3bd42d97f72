/// Neural-network layers (MatMul, Gemm, Conv, pooling, normalization, Softmax, Resize, …): the
/// evaluator's kernels of this family, by operator type.
enum NNKernels {
    static let table: [String: Kernel] = [
        "MatMul": MatMulOp.evaluate,
        "Gemm": GemmOp.evaluate,
        "Conv": ConvOp.evaluate,
        "ConvTranspose": ConvTransposeOp.evaluate,
        "MaxPool": Pooling.maxPool,
        "AveragePool": Pooling.averagePool,
        "LpPool": Pooling.lpPool,
        "GlobalAveragePool": Pooling.globalAveragePool,
        "GlobalMaxPool": Pooling.globalMaxPool,
        "GlobalLpPool": Pooling.globalLpPool,
        "MaxUnpool": MaxUnpool.evaluate,
        "Einsum": Einsum.evaluate,
    ]
}
