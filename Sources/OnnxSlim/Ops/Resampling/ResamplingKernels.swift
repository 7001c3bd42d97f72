/// Resampling (Resize, Upsample, GridSample, RoiAlign): the evaluator's kernels of this family,
/// by operator type.
enum ResamplingKernels {
    static let table: [String: Kernel] = [
        "Resize": ResizeOp.evaluate,
        "Upsample": ResizeOp.upsample,
        "GridSample": GridSampleOp.evaluate,
        "RoiAlign": RoiAlignOp.evaluate,
    ]
}

extension ResamplingKernels {
    static let shapeRules: [String: ShapeRule] = [
        "Resize": ResizeOp.inferShape,
        "Upsample": ResizeOp.inferShape,
        "GridSample": GridSampleOp.inferShape,
        "RoiAlign": RoiAlignOp.inferShape,
    ]
}
