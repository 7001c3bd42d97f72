/// RNN, GRU, LSTM: the evaluator's kernels of this family, by operator type.
enum RecurrentKernels {
    static let table: [String: Kernel] = [
        "RNN": RNNOp.evaluate,
        "GRU": GRUOp.evaluate,
        "LSTM": LSTMOp.evaluate,
    ]
}

extension RecurrentKernels {
    static let shapeRules: [String: ShapeRule] = [
        "RNN": RecurrentLayer.inferShape(gates: 1, states: 1),
        "GRU": RecurrentLayer.inferShape(gates: 3, states: 1),
        "LSTM": RecurrentLayer.inferShape(gates: 4, states: 2),
    ]
}

extension RecurrentKernels {
    static let axisRules: [String: AxisRule] = table.mapValues { _ in AxisRules.opaque("recurrent gates are not followed") }
}
