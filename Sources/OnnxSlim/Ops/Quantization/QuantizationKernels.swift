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

extension QuantizationKernels {
    /// Quantize/DequantizeLinear are elementwise; per-axis scales and zero points [C] go with
    /// their axis. Integer layers are opaque: prune before quantizing.
    static func linearAxes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard let rank = call.rank(.input(0)) else { return .opaque("rank unknown") }
        let perAxis = (call.rank(.input(1)) ?? 0) >= 1 && (call.dim(.input(1), 0) ?? 1) > 1
        if perAxis && call.rank(.input(1)) != 1 { return .opaque("blocked quantization") }
        let axis = AxisRules.normalize(call.int("axis", 1), rank: rank)
        var parameters: [(port: NodePort, units: AxisUnits)] = []
        if perAxis, u.axis == axis || from == .input(1) || from == .input(2) {
            for k in 1...2 where call.hasInput(k) { parameters.append((.input(k), u.on(axis: 0))) }
        }
        switch from {
        case .input(0), .output(0):
            return .tied([(from == .input(0) ? .output(0) : .input(0), u)] + parameters)
        default:
            return .tied([(.input(0), u.on(axis: axis)), (.output(0), u.on(axis: axis))] + parameters.filter { $0.port != from })
        }
    }

    static let axisRules: [String: AxisRule] = [
        "QuantizeLinear": linearAxes,
        "DequantizeLinear": linearAxes,
        "DynamicQuantizeLinear": { call, from, u in
            from == .input(0) ? .tied([(.output(0), u)]) : from == .output(0) ? .tied([(.input(0), u)]) : .opaque("quantization parameters")
        },
        "MatMulInteger": AxisRules.opaque("integer layer: prune before quantizing"),
        "QLinearMatMul": AxisRules.opaque("integer layer: prune before quantizing"),
        "ConvInteger": AxisRules.opaque("integer layer: prune before quantizing"),
        "QLinearConv": AxisRules.opaque("integer layer: prune before quantizing"),
    ]
}
