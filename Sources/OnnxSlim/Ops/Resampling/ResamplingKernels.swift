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

extension ResamplingKernels {
    /// Resize keeps an axis it does not scale (the channel axis of an image, typically); a
    /// `sizes` element for it follows it.
    static func resizeAxes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard from == .input(0) || from == .output(0) else { return .tied([]) }
        guard let a = call.shape(.input(0)), let b = call.shape(.output(0)), u.axis < a.count, u.axis < b.count,
              a[u.axis] == b[u.axis] else { return .opaque("resized along the axis") }
        let sizes = call.node.opType == "Resize" && call.inputCount > 3 && call.hasInput(3)
        let edits = sizes ? [LengthEdit(site: .inputElement(input: 3, element: u.axis), tracks: .output(0), axis: u.axis)] : []
        return .tied([(from == .input(0) ? .output(0) : .input(0), u)], edits: edits)
    }

    static let axisRules: [String: AxisRule] = [
        "Resize": resizeAxes,
        "Upsample": resizeAxes,
        "GridSample": AxisRules.opaque("GridSample samples by coordinates"),
        "RoiAlign": AxisRules.opaque("RoiAlign pools regions"),
    ]
}
