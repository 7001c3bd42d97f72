/// RNN, GRU, LSTM: the evaluator's kernels of this family, by operator type.
enum RecurrentKernels {
    static let table: [String: Kernel] = [
        "RNN": RNNOp.evaluate,
        "GRU": GRUOp.evaluate,
        "LSTM": LSTMOp.evaluate,
    ]
}
