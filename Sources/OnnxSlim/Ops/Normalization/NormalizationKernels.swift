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

extension NormalizationKernels {
    static let axisRules: [String: AxisRule] = [
        "BatchNormalization": perChannel(normalizesSpatial: false),
        "InstanceNormalization": perChannel(normalizesSpatial: true),
        "LayerNormalization": AxisRules.identity(except: { call, rank in
            Set(AxisRules.normalize(call.int("axis", -1), rank: rank)..<rank)
        }, reason: "normalized by LayerNormalization"),
        "GroupNormalization": AxisRules.identity(except: { _, rank in Set(1..<rank) }, reason: "channels normalized in groups"),
        "LRN": AxisRules.identity(except: { _, _ in [1] }, reason: "LRN mixes neighbouring channels"),
        "MeanVarianceNormalization": AxisRules.identity(except: { call, rank in
            Set((call.ints("axes") ?? [0, 2, 3]).map { AxisRules.normalize($0, rank: rank) })
        }, reason: "normalized by MeanVarianceNormalization"),
        "Softmax": softmaxFamily,
        "LogSoftmax": softmaxFamily,
        "Hardmax": softmaxFamily,
    ]

    /// Softmax over `axis` (opset 13+), or over the flattened axes from `axis` on (before 13).
    static let softmaxFamily = AxisRules.identity(except: { call, rank in
        let axis = AxisRules.normalize(call.int("axis", call.opset >= 13 ? -1 : 1), rank: rank)
        return call.opset >= 13 ? [axis] : Set(axis..<rank)
    }, reason: "Softmax over the axis")

    /// X [N, C, …] with parameters [C] (BatchNormalization's scale, bias, mean, var;
    /// InstanceNormalization's scale, bias): the channel axis carries them; InstanceNormalization
    /// also normalizes over the spatial axes.
    static func perChannel(normalizesSpatial: Bool) -> AxisRule {
        { call, from, u in
            guard call.outputCount == 1 || call.node.outputs.dropFirst().allSatisfy(\.isEmpty) else {
                return .opaque("training-mode BatchNormalization")
            }
            var parameters: [(port: NodePort, units: AxisUnits)] = []
            for k in 1..<call.inputCount where call.hasInput(k) { parameters.append((.input(k), u.on(axis: 0))) }
            switch from {
            case .input(0), .output(0):
                let other: NodePort = from == .input(0) ? .output(0) : .input(0)
                if u.axis == 1 { return .tied([(other, u)] + parameters) }
                if u.axis == 0 || !normalizesSpatial { return .tied([(other, u)]) }
                return .opaque("normalized by InstanceNormalization")
            default:
                return .tied([(.input(0), u.on(axis: 1)), (.output(0), u.on(axis: 1))] + parameters.filter { $0.port != from })
            }
        }
    }
}
