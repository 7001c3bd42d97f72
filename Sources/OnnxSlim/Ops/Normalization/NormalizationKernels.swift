/// Normalization layers and the Softmax family: the evaluator's kernels of this family, by
/// operator type.
enum NormalizationKernels {
    static let table: [String: Kernel] = [
        "BatchNormalization": BatchNormalizationOp.evaluate,
        "LayerNormalization": LayerNormalizationOp.evaluate,
        "InstanceNormalization": InstanceNormalizationOp.instance,
        "GroupNormalization": InstanceNormalizationOp.group,
        "LRN": LRNOp.evaluate,
        "MeanVarianceNormalization": MeanVarianceNormalizationOp.evaluate,
        "Softmax": SoftmaxOp.kernel(.softmax),
        "LogSoftmax": SoftmaxOp.kernel(.logSoftmax),
        "Hardmax": SoftmaxOp.kernel(.hardmax),
    ]
}

extension NormalizationKernels {
    static let shapeRules: [String: ShapeRule] = [
        "BatchNormalization": BatchNormalizationOp.inferShape,
        "LayerNormalization": LayerNormalizationOp.inferShape,
        "InstanceNormalization": InstanceNormalizationOp.inferShape,
        "GroupNormalization": InstanceNormalizationOp.inferShape,
        "LRN": LRNOp.inferShape,
        "MeanVarianceNormalization": MeanVarianceNormalizationOp.inferShape,
        "Softmax": SoftmaxOp.inferShape,
        "LogSoftmax": SoftmaxOp.inferShape,
        "Hardmax": SoftmaxOp.inferShape,
    ]
}
