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

extension NNKernels {
    static let shapeRules: [String: ShapeRule] = [
        "MatMul": MatMulOp.inferShape,
        "Gemm": GemmOp.inferShape,
        "Conv": ConvOp.inferShape,
        "ConvTranspose": ConvTransposeOp.inferShape,
        "MaxPool": Pooling.inferShape,
        "AveragePool": Pooling.inferShape,
        "LpPool": Pooling.inferShape,
        "GlobalAveragePool": Pooling.inferGlobal,
        "GlobalMaxPool": Pooling.inferGlobal,
        "GlobalLpPool": Pooling.inferGlobal,
        "MaxUnpool": MaxUnpool.inferShape,
        "Einsum": Einsum.inferShape,
    ]
}
