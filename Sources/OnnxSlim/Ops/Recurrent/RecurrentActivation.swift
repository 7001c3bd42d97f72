import Glibc

/// An activation named by the `activations` attribute of RNN, GRU and LSTM, with its alpha/beta.
/// Applied to a whole gate slice at once so the switch stays outside the loop.
struct RecurrentActivation {
    enum Function { case relu, tanh, sigmoid, affine, leakyRelu, thresholdedRelu, scaledTanh, hardSigmoid, elu, softsign, softplus }

    var function: Function
    var alpha: Float = 0, beta: Float = 0

    /// Which of (alpha, beta) a function reads, and their defaults (those of the ONNX operators).
    static func parameters(_ f: Function) -> (alpha: Float?, beta: Float?) {
        switch f {
        case .affine: return (1, 0)
        case .leakyRelu: return (0.01, nil)
        case .thresholdedRelu: return (1, nil)
        case .scaledTanh: return (1, 1)
        case .hardSigmoid: return (0.2, 0.5)
        case .elu: return (1, nil)
        default: return (nil, nil)
        }
    }

    static func function(named name: String) -> Function? {
        switch name.lowercased() {
        case "relu": return .relu
        case "tanh": return .tanh
        case "sigmoid": return .sigmoid
        case "affine": return .affine
        case "leakyrelu": return .leakyRelu
        case "thresholdedrelu": return .thresholdedRelu
        case "scaledtanh": return .scaledTanh
        case "hardsigmoid": return .hardSigmoid
        case "elu": return .elu
        case "softsign": return .softsign
        case "softplus": return .softplus
        default: return nil
        }
    }

    /// The activations of every direction: `perDirection` functions each (defaults when the
    /// attribute is absent). Alphas and betas are consumed in order by the functions that use them.
    static func parse(_ call: KernelCall, defaults: [Function], directions: Int) throws -> [[RecurrentActivation]] {
        let perDirection = defaults.count
        var functions: [Function]
        if let names = call.strings("activations"), !names.isEmpty {
            functions = try names.map { name in
                guard let f = function(named: name) else { throw call.failure("unknown activation '\(name)'") }
                return f
            }
            // A single direction's list serves both directions of a bidirectional layer.
            if functions.count == perDirection && directions == 2 { functions += functions }
            guard functions.count == perDirection * directions else {
                throw call.failure("\(functions.count) activations for \(directions) direction(s) of \(perDirection)")
            }
        } else {
            functions = Array([[Function]](repeating: defaults, count: directions).joined())
        }
        let alphas = call.floats("activation_alpha") ?? [], betas = call.floats("activation_beta") ?? []
        var ai = 0, bi = 0
        var all: [RecurrentActivation] = []
        for f in functions {
            var act = RecurrentActivation(function: f)
            let (da, db) = parameters(f)
            if let da {
                act.alpha = ai < alphas.count ? alphas[ai] : da
                ai += 1
            }
            if let db {
                act.beta = bi < betas.count ? betas[bi] : db
                bi += 1
            }
            all.append(act)
        }
        return (0..<directions).map { d in Array(all[(d * perDirection)..<((d + 1) * perDirection)]) }
    }

    /// Applies the function to `count` values in place.
    func apply(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        let a = alpha, b = beta
        switch function {
        case .relu: for k in 0..<count { p[k] = max(p[k], 0) }
        case .tanh: for k in 0..<count { p[k] = tanhf(p[k]) }
        case .sigmoid: for k in 0..<count { p[k] = 1 / (1 + expf(-p[k])) }
        case .affine: for k in 0..<count { p[k] = a * p[k] + b }
        case .leakyRelu: for k in 0..<count { p[k] = p[k] < 0 ? a * p[k] : p[k] }
        case .thresholdedRelu: for k in 0..<count { p[k] = p[k] > a ? p[k] : 0 }
        case .scaledTanh: for k in 0..<count { p[k] = a * tanhf(b * p[k]) }
        case .hardSigmoid: for k in 0..<count { p[k] = max(0, min(1, a * p[k] + b)) }
        case .elu: for k in 0..<count { p[k] = p[k] < 0 ? a * (expf(p[k]) - 1) : p[k] }
        case .softsign: for k in 0..<count { p[k] = p[k] / (1 + abs(p[k])) }
        case .softplus: for k in 0..<count { p[k] = p[k] > 20 ? p[k] : log1pf(expf(p[k])) }
        }
    }
}
