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
