import Glibc

/// Unary math: one function per element. The transcendental functions transformers run on every
/// activation (Exp, Tanh, Erf) use FastMath's vectorized loops; the rest call Glibc.
enum Unary {
    static let table: [String: Kernel] = [
        "Abs": { call in
            try Elementwise.mapNumbers(call, float: { abs($0) }, int: { x, t in
                Elementwise.isUInt64(t) || x >= 0 ? x : 0 &- x
            })
        },
        "Neg": { call in try Elementwise.mapNumbers(call, float: { -$0 }, int: { x, _ in 0 &- x }) },
        "Sign": { call in
            try Elementwise.mapNumbers(call, float: { x in x > 0 ? 1 : (x < 0 ? -1 : x) }, int: { x, t in
                x == 0 ? 0 : (x > 0 || Elementwise.isUInt64(t) ? 1 : -1)
            })
        },
        "Exp": { call in try Elementwise.updateFloats(call, FastMath.exp) },
        "Log": { call in try Elementwise.mapFloats(call) { logf($0) } },
        "Sqrt": { call in try Elementwise.mapFloats(call) { $0.squareRoot() } },
        "Reciprocal": { call in try Elementwise.mapFloats(call) { 1 / $0 } },
        "Floor": { call in try Elementwise.mapFloats(call) { $0.rounded(.down) } },
        "Ceil": { call in try Elementwise.mapFloats(call) { $0.rounded(.up) } },
        "Round": { call in try Elementwise.mapFloats(call) { $0.rounded(.toNearestOrEven) } },
        "Sin": { call in try Elementwise.mapFloats(call) { sinf($0) } },
        "Cos": { call in try Elementwise.mapFloats(call) { cosf($0) } },
        "Tan": { call in try Elementwise.mapFloats(call) { tanf($0) } },
        "Asin": { call in try Elementwise.mapFloats(call) { asinf($0) } },
        "Acos": { call in try Elementwise.mapFloats(call) { acosf($0) } },
        "Atan": { call in try Elementwise.mapFloats(call) { atanf($0) } },
        "Sinh": { call in try Elementwise.mapFloats(call) { sinhf($0) } },
        "Cosh": { call in try Elementwise.mapFloats(call) { coshf($0) } },
        "Asinh": { call in try Elementwise.mapFloats(call) { asinhf($0) } },
        "Acosh": { call in try Elementwise.mapFloats(call) { acoshf($0) } },
        "Atanh": { call in try Elementwise.mapFloats(call) { atanhf($0) } },
        "Tanh": { call in try Elementwise.updateFloats(call, FastMath.tanh) },
        "Erf": { call in try Elementwise.updateFloats(call, FastMath.erf) },
        "IsNaN": { call in try Elementwise.testFloats(call) { $0.isNaN } },
        "IsInf": { call in
            let positive = call.int("detect_positive", 1) != 0, negative = call.int("detect_negative", 1) != 0
            return try Elementwise.testFloats(call) { x in
                x.isInfinite && (x > 0 ? positive : negative)
            }
        },
    ]
}

extension Unary {
    static let shapeRules: [String: ShapeRule] = ShapeRules.table(table.keys.filter { $0 != "IsNaN" && $0 != "IsInf" },
                                                                  ShapeRules.elementwise(flops: 1))
        .merging(ShapeRules.table(["IsNaN", "IsInf"]) { call in
            var out = try call.sameAsInput(0, flopsPerElement: 1)
            out[0].elemType = .bool
            return out
        }) { a, _ in a }
}
