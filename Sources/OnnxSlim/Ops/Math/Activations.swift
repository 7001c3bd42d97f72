import Glibc

/// Activation functions: elementwise, attributes read once per node.
enum Activations {
    static let table: [String: Kernel] = [
        "Relu": { call in
            try Elementwise.mapNumbers(call, float: { $0 > 0 ? $0 : ($0.isNaN ? $0 : 0) }, int: { x, t in
                x > 0 || Elementwise.isUInt64(t) ? x : 0
            })
        },
        "LeakyRelu": { call in
            let alpha = call.float("alpha", 0.01)
            return try Elementwise.mapFloats(call) { $0 >= 0 ? $0 : alpha * $0 }
        },
        "PRelu": prelu,
        "Elu": { call in
            let alpha = call.float("alpha", 1)
            return try Elementwise.mapFloats(call) { $0 >= 0 ? $0 : alpha * expm1f($0) }
        },
        "Selu": { call in
            let alpha = call.float("alpha", 1.67326319217681884765625)
            let gamma = call.float("gamma", 1.05070102214813232421875)
            return try Elementwise.mapFloats(call) { $0 > 0 ? gamma * $0 : gamma * alpha * expm1f($0) }
        },
        "Celu": { call in
            let alpha = call.float("alpha", 1)
            return try Elementwise.mapFloats(call) { x in
                Swift.max(0, x) + Swift.min(0, alpha * expm1f(x / alpha))
            }
        },
        "Sigmoid": { call in try Elementwise.updateFloats(call, FastMath.sigmoid) },
        "HardSigmoid": { call in
            let alpha = call.float("alpha", 0.2), beta = call.float("beta", 0.5)
            return try Elementwise.mapFloats(call) { Swift.max(0, Swift.min(1, alpha * $0 + beta)) }
        },
        "HardSwish": { call in
            try Elementwise.mapFloats(call) { $0 * Swift.max(0, Swift.min(1, $0 / 6 + 0.5)) }
        },
        /// log(1 + e^x) without overflow: x + log1p(e^−x) for positive x.
        "Softplus": { call in
            try Elementwise.mapFloats(call) { x in x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x)) }
        },
        "Softsign": { call in try Elementwise.mapFloats(call) { $0 / (1 + abs($0)) } },
        "ThresholdedRelu": { call in
            let alpha = call.float("alpha", 1)
            return try Elementwise.mapFloats(call) { $0 > alpha ? $0 : 0 }
        },
        "Shrink": { call in
            let bias = call.float("bias", 0), lambd = call.float("lambd", 0.5)
            return try Elementwise.mapNumbers(call, float: { x in
                x < -lambd ? x + bias : (x > lambd ? x - bias : 0)
            }, int: { x, _ in
                let f = Float(x)
                return f < -lambd ? x + Int64(bias) : (f > lambd ? x - Int64(bias) : 0)
            })
        },
        "Gelu": { call in
            switch call.string("approximate", "none") {
            case "none":
                return try Elementwise.updateFloats(call, FastMath.gelu)
            case "tanh":
                return try Elementwise.updateFloats(call, FastMath.geluTanh)
            case let a:
                throw call.failure("approximate '\(a)' is neither none nor tanh")
            }
        },
        "Mish": { call in
            try Elementwise.mapFloats(call) { x in
                x * FastMath.tanh(x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x)))
            }
        },
        "Swish": { call in
            let alpha = call.float("alpha", 1)
            return try Elementwise.mapFloats(call) { $0 * FastMath.sigmoid(alpha * $0) }
        },
    ]

    /// slope broadcasts to X (unidirectionally). Like the reference implementation, a 1-D slope
    /// that matches exactly one dim of X applies along that dim.
    static func prelu(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        var slope = try call.tensor(1)
        if (try? Broadcast.shape(x.shape, slope.shape)) != x.shape {
            let matches = x.shape.indices.filter { slope.rank == 1 && x.shape[$0] == slope.shape[0] }
            guard matches.count == 1 else {
                throw call.failure("slope \(slope.shape) does not broadcast to \(x.shape)")
            }
            slope = slope.reshaped(x.shape.indices.map { $0 == matches[0] ? x.shape[$0] : 1 })
            call.inputs[1] = .tensor(slope)
        }
        return try Elementwise.binary(call, float: { $0 < 0 ? $0 * $1 : $0 }, int: { $0 < 0 ? $0 &* $1 : $0 })
    }
}

extension Activations {
    /// PRelu broadcasts its slope; the others keep their input's shape.
    static let shapeRules: [String: ShapeRule] = ShapeRules.table(table.keys.filter { $0 != "PRelu" },
                                                                  ShapeRules.elementwise(flops: 1))
        .merging(["PRelu": ShapeRules.broadcasting()]) { a, _ in a }
}
