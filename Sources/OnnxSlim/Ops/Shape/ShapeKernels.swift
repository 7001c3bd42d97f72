/// Shape and data-movement operators: the evaluator's kernels of this family, by operator type.
enum ShapeKernels {
    static let table: [String: Kernel] = [
        "Reshape": ReshapeOp.evaluate,
        "Constant": ConstantOp.evaluate,
        "Identity": ConstantOp.identity,
        "Transpose": TransposeOp.evaluate,
        "DepthToSpace": TransposeOp.depthToSpace,
        "SpaceToDepth": TransposeOp.spaceToDepth,
        "Concat": ConcatOp.evaluate,
        "Split": ConcatOp.split,
        "Slice": SliceOp.evaluate,
        "Gather": GatherOp.evaluate,
        "GatherElements": GatherOp.elements,
        "GatherND": GatherOp.nd,
        "ScatterElements": ScatterOp.elements,
        "Scatter": ScatterOp.elements,
        "ScatterND": ScatterOp.nd,
        "Expand": ExpandOp.evaluate,
        "Tile": ExpandOp.tile,
        "Squeeze": SqueezeOp.squeeze,
        "Unsqueeze": SqueezeOp.unsqueeze,
        "Flatten": SqueezeOp.flatten,
        "Shape": ShapeOfOp.shape,
        "Size": ShapeOfOp.size,
        "Pad": PadOp.evaluate,
        "Range": GeneratorOps.range,
        "ConstantOfShape": GeneratorOps.constantOfShape,
        "EyeLike": DiagonalOps.eyeLike,
        "Trilu": DiagonalOps.trilu,
        "OneHot": OneHotOp.evaluate,
        "Compress": SelectionOps.compress,
        "NonZero": SelectionOps.nonZero,
        "Unique": SelectionOps.unique,
        "ReverseSequence": ReverseSequenceOp.evaluate,
        "Dropout": DropoutOp.evaluate,
    ]
}

extension ShapeKernels {
    static let shapeRules: [String: ShapeRule] = [
        "Reshape": ReshapeOp.inferShape,
        "Constant": ConstantOp.inferShape,
        "Identity": ConstantOp.inferIdentity,
        "Transpose": TransposeOp.inferShape,
        "DepthToSpace": TransposeOp.inferDepthToSpace,
        "SpaceToDepth": TransposeOp.inferSpaceToDepth,
        "Concat": ConcatOp.inferShape,
        "Split": ConcatOp.inferSplit,
        "Slice": SliceOp.inferShape,
        "Gather": GatherOp.inferShape,
        "GatherElements": GatherOp.inferElements,
        "GatherND": GatherOp.inferND,
        "ScatterElements": ScatterOp.inferShape,
        "Scatter": ScatterOp.inferShape,
        "ScatterND": ScatterOp.inferShape,
        "Expand": ExpandOp.inferShape,
        "Tile": ExpandOp.inferTile,
        "Squeeze": SqueezeOp.inferSqueeze,
        "Unsqueeze": SqueezeOp.inferUnsqueeze,
        "Flatten": SqueezeOp.inferFlatten,
        "Shape": ShapeOfOp.inferShape,
        "Size": ShapeOfOp.inferSize,
        "Pad": PadOp.inferShape,
        "Range": GeneratorOps.inferRange,
        "ConstantOfShape": GeneratorOps.inferConstantOfShape,
        "EyeLike": DiagonalOps.inferEyeLike,
        "Trilu": DiagonalOps.inferTrilu,
        "OneHot": OneHotOp.inferShape,
        "Compress": SelectionOps.inferCompress,
        "NonZero": SelectionOps.inferNonZero,
        "Unique": SelectionOps.inferUnique,
        "ReverseSequence": ReverseSequenceOp.inferShape,
        "Dropout": DropoutOp.inferShape,
    ]
}

extension ShapeKernels {
    static let axisRules: [String: AxisRule] = [
        "Reshape": ReshapeOp.axes,
        "Flatten": ReshapeOp.axes,
        "Identity": AxisRules.identity,
        "Dropout": AxisRules.identity,
        "Transpose": TransposeOp.axes,
        "Concat": ConcatOp.concatAxes,
        "Split": ConcatOp.splitAxes,
        "Squeeze": SqueezeOp.axes,
        "Unsqueeze": SqueezeOp.axes,
        "Slice": sliceAxes,
        "Gather": gatherAxes,
        "Expand": expandAxes,
        "Pad": padAxes,
        // A shape read at run time follows the pruned tensor by itself.
        "Shape": { _, from, _ in from == .input(0) ? .tied([]) : .opaque("shape value") },
        "Size": { _, from, _ in from == .input(0) ? .tied([]) : .opaque("size value") },
        "Constant": AxisRules.opaque("constant"),
        "DepthToSpace": AxisRules.opaque("DepthToSpace moves channels into space"),
        "SpaceToDepth": AxisRules.opaque("SpaceToDepth moves space into channels"),
        "GatherElements": AxisRules.opaque("GatherElements indexes every axis"),
        "GatherND": AxisRules.opaque("GatherND indexes leading axes"),
        "ScatterElements": AxisRules.opaque("scatter"),
        "Scatter": AxisRules.opaque("scatter"),
        "ScatterND": AxisRules.opaque("scatter"),
        "Tile": AxisRules.opaque("Tile repeats the axis"),
        "Range": AxisRules.opaque("generated values"),
        "ConstantOfShape": AxisRules.opaque("generated values"),
        "EyeLike": AxisRules.opaque("generated values"),
        "Trilu": AxisRules.opaque("Trilu masks by position"),
        "OneHot": AxisRules.opaque("OneHot makes a new axis"),
        "Compress": AxisRules.opaque("Compress selects by a mask"),
        "NonZero": AxisRules.opaque("NonZero lists positions"),
        "Unique": AxisRules.opaque("Unique"),
        "ReverseSequence": AxisRules.opaque("ReverseSequence"),
    ]

    /// Slice leaves an axis it takes whole (start 0, end past the length, step 1) alone.
    static func sliceAxes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard from == .input(0) || from == .output(0) else { return .tied([]) }
        guard let rank = call.rank(.input(0)) else { return .opaque("rank unknown") }
        let starts: [Int]?, ends: [Int]?, axes: [Int]?, steps: [Int]?
        if call.opset >= 10 {
            starts = call.knownValues(1); ends = call.knownValues(2)
            axes = call.hasInput(3) ? call.knownValues(3) : starts.map { Array(0..<$0.count) }
            steps = call.hasInput(4) ? call.knownValues(4) : starts.map { [Int](repeating: 1, count: $0.count) }
        } else {
            starts = call.ints("starts"); ends = call.ints("ends")
            axes = call.ints("axes") ?? starts.map { Array(0..<$0.count) }
            steps = starts.map { [Int](repeating: 1, count: $0.count) }
        }
        guard let starts, let ends, let axes, let steps else { return .opaque("Slice bounds known only at run time") }
        for (k, a) in axes.enumerated() where AxisRules.normalize(a, rank: rank) == u.axis {
            let whole = steps[k] == 1 && (starts[k] == 0 || starts[k] <= -u.length) && ends[k] >= u.length
            if !whole { return .opaque("sliced along the axis") }
        }
        return .tied([(from == .input(0) ? .output(0) : .input(0), u)])
    }

    /// Gather along `axis`: data's other axes keep their place around the indices' axes.
    static func gatherAxes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard let rank = call.rank(.input(0)), let ri = call.rank(.input(1)) else { return .opaque("rank unknown") }
        let g = AxisRules.normalize(call.int("axis", 0), rank: rank)
        switch from {
        case .input(0):
            if u.axis == g { return .opaque("gathered along the axis") }
            return .tied([(.output(0), u.on(axis: u.axis < g ? u.axis : u.axis + ri - 1))])
        case .output(0):
            if u.axis < g { return .tied([(.input(0), u)]) }
            if u.axis >= g + ri { return .tied([(.input(0), u.on(axis: u.axis - ri + 1))]) }
            return .opaque("axis of the Gather indices")
        default: return .opaque("Gather indices")
        }
    }

    /// Expand broadcasts input 0 to the shape; the shape's element for a shrinking axis follows it.
    static func expandAxes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard let ri = call.rank(.input(0)), let ro = call.rank(.output(0)), let shapeLength = call.dim(.input(1), 0) else {
            return .opaque("rank unknown")
        }
        let outAxis: Int
        switch from {
        case .input(0): outAxis = u.axis + (ro - ri)
        case .output(0): outAxis = u.axis
        default: return .opaque("Expand shape")
        }
        let element = outAxis - (ro - shapeLength)
        let edits = element >= 0 ? [LengthEdit(site: .inputElement(input: 1, element: element), tracks: .output(0), axis: outAxis)] : []
        if from == .input(0) { return .tied([(.output(0), u.on(axis: outAxis))], edits: edits) }
        let inAxis = outAxis - (ro - ri)
        guard inAxis >= 0, let dim = call.dim(.input(0), inAxis), dim != 1 || u.length == 1 else { return .tied([], edits: edits) }
        return .tied([(.input(0), u.on(axis: inAxis))], edits: edits)
    }

    /// Pad leaves an axis it does not pad alone.
    static func padAxes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard from == .input(0) || from == .output(0) else { return .tied([]) }
        guard let rank = call.rank(.input(0)) else { return .opaque("rank unknown") }
        guard var pads = call.opset >= 11 ? call.knownValues(1) : call.ints("pads") ?? call.ints("paddings") else {
            return .opaque("pads known only at run time")
        }
        if call.opset >= 18, call.hasInput(3) {
            guard let axes = call.knownValues(3) else { return .opaque("pad axes known only at run time") }
            var full = [Int](repeating: 0, count: 2 * rank)
            for (k, a) in axes.enumerated() {
                full[AxisRules.normalize(a, rank: rank)] = pads[k]
                full[rank + AxisRules.normalize(a, rank: rank)] = pads[axes.count + k]
            }
            pads = full
        }
        guard pads.count == 2 * rank, pads[u.axis] == 0, pads[rank + u.axis] == 0 else { return .opaque("padded along the axis") }
        return .tied([(from == .input(0) ? .output(0) : .input(0), u)])
    }
}
