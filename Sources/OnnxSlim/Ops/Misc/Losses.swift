import Glibc

/// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss. Inputs are [N, C, d1…dk] scores and
/// [N, d1…dk] class targets; targets equal to `ignore_index` contribute nothing, not even to the
/// weight total that "mean" divides by.
enum Losses {
    static let table: [String: Kernel] = [
        "NegativeLogLikelihoodLoss": { call in try evaluate(call, softmax: false) },
        "SoftmaxCrossEntropyLoss": { call in try evaluate(call, softmax: true) },
    ]

    static func evaluate(_ call: KernelCall, softmax: Bool) throws -> [Value] {
        let x = try call.tensor(0), target = try call.tensor(1)
        guard let scores = x.floats else { throw call.failure("scores must be floating, not \(x.dataType)") }
        guard let labels = target.int64s else { throw call.failure("target must be integer, not \(target.dataType)") }
        guard x.rank >= 2 else { throw call.failure("scores must have rank ≥ 2") }
        let n = x.shape[0], c = x.shape[1], d = Axes.product(x.shape, 2..<x.rank)
        guard target.shape == [n] + x.shape[2...] else {
            throw call.failure("target shape \(target.shape) does not match scores \(x.shape)")
        }
        let weights = try call.optionalTensor(2)?.asFloats
        if let w = weights, w.count != c { throw call.failure("weight has \(w.count) values for \(c) classes") }
        let ignore: Int64? = call.attribute("ignore_index").map { $0.i }
        let reduction = call.string("reduction", "mean")

        // log softmax(x) = x - shift, one shift per position; the full array only when asked for.
        let shift = softmax ? logSumExp(scores, n, c, d) : [Float](repeating: 0, count: n * d)
        var loss = [Float](repeating: 0, count: n * d)
        var total = 0.0, weightTotal = 0.0
        try scores.withUnsafeBufferPointer { lp in
            for b in 0..<n {
                for k in 0..<d {
                    let t = labels[b * d + k]
                    if t == ignore { continue }
                    guard t >= 0 && t < Int64(c) else { throw call.failure("target \(t) is outside 0..<\(c)") }
                    let w = weights?[Int(t)] ?? 1
                    let l = -(lp[(b * c + Int(t)) * d + k] - shift[b * d + k]) * w
                    loss[b * d + k] = l
                    total += Double(l)
                    weightTotal += Double(w)
                }
            }
        }
        let out: NDArray
        switch reduction {
        case "none": out = NDArray(floats: loss, shape: target.shape, type: x.dataType)
        case "sum": out = NDArray.scalar(Float(total), type: x.dataType)
        case "mean": out = NDArray.scalar(Float(total / weightTotal), type: x.dataType)
        default: throw call.failure("unknown reduction '\(reduction)'")
        }
        if softmax && call.wantsOutput(1) {
            var logProb = scores
            logProb.withUnsafeMutableBufferPointer { p in
                for b in 0..<n { for j in 0..<c { for k in 0..<d { p[(b * c + j) * d + k] -= shift[b * d + k] } } }
            }
            return [.tensor(out), .tensor(NDArray(floats: logProb, shape: x.shape, type: x.dataType))]
        }
        return [.tensor(out)]
    }

    /// log Σ_c exp(x) over the class axis of [N, C, D] scores, per (n, d).
    static func logSumExp(_ v: [Float], _ n: Int, _ c: Int, _ d: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n * d)
        v.withUnsafeBufferPointer { p in
            for b in 0..<n {
                for k in 0..<d {
                    let base = b * c * d + k
                    var m = -Float.infinity
                    for j in 0..<c { m = Swift.max(m, p[base + j * d]) }
                    var s: Float = 0
                    for j in 0..<c { s += expf(p[base + j * d] - m) }
                    out[b * d + k] = m + logf(s)
                }
            }
        }
        return out
    }
}

extension Losses {
    /// The loss is per element of the target with reduction "none", else a scalar;
    /// SoftmaxCrossEntropyLoss's optional second output is the log-probabilities.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let scores = try call.input(0)
        let loss: [DimExpr] = call.string("reduction", "mean") == "none" ? try call.shape(1) : []
        call.countElementwise(scores, 4)
        return [.tensor(scores.elemType, loss), .tensor(scores.elemType, scores.shape)]
    }

    static let shapeRules: [String: ShapeRule] = ["NegativeLogLikelihoodLoss": inferShape, "SoftmaxCrossEntropyLoss": inferShape]
}
