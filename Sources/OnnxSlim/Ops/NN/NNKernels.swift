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

extension NNKernels {
    /// Pooling keeps batch and channel axes (each channel pooled alone) and mixes spatial ones.
    static let pooled = AxisRules.identity(except: { _, rank in Set(2..<max(rank, 2)) }, reason: "pooled spatial axis")

    static let axisRules: [String: AxisRule] = [
        "MatMul": MatMulOp.axes,
        "Gemm": GemmOp.axes,
        "Conv": ConvOp.axes,
        "ConvTranspose": AxisRules.opaque("ConvTranspose channels are not followed yet"),
        "MaxPool": pooled,
        "AveragePool": pooled,
        "LpPool": pooled,
        "GlobalAveragePool": pooled,
        "GlobalMaxPool": pooled,
        "GlobalLpPool": pooled,
        "MaxUnpool": AxisRules.opaque("MaxUnpool indices address the whole tensor"),
        "Einsum": AxisRules.opaque("Einsum equations are not followed"),
    ]
}
