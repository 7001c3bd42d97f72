/// Quantize/dequantize and integer matrix operators: the evaluator's kernels of this family, by operator type.
enum QuantizationKernels {
    static let table: [String: Kernel] = [
        "QuantizeLinear": QuantizeLinearOp.evaluate,
        "DequantizeLinear": DequantizeLinearOp.evaluate,
        "DynamicQuantizeLinear": DynamicQuantizeLinearOp.evaluate,
        "MatMulInteger": IntegerMatMul.matMulInteger,
        "QLinearMatMul": IntegerMatMul.qlinearMatMul,
        "ConvInteger": IntegerConv.convInteger,
        "QLinearConv": IntegerConv.qlinearConv,
    ]
}
