/// Quantize/dequantize and integer matrix operators: the evaluator's kernels of this family, by operator type.
enum QuantizationKernels {
    static let table: [String: Kernel] = [:]
}
