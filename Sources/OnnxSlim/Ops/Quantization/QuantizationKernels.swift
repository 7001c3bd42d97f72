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

extension QuantizationKernels {
    static let shapeRules: [String: ShapeRule] = [
        "QuantizeLinear": QuantizeLinearOp.inferShape,
        "DequantizeLinear": DequantizeLinearOp.inferShape,
        "DynamicQuantizeLinear": DynamicQuantizeLinearOp.inferShape,
        "MatMulInteger": IntegerMatMul.inferMatMulInteger,
        "QLinearMatMul": IntegerMatMul.inferQLinearMatMul,
        "ConvInteger": IntegerConv.inferConvInteger,
        "QLinearConv": IntegerConv.inferQLinearConv,
    ]
}
