/// Resampling (Resize, Upsample, GridSample, RoiAlign): the evaluator's kernels of this family,
/// by operator type.
enum ResamplingKernels {
    static let table: [String: Kernel] = [:]
}
