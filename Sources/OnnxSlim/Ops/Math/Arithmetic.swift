import Glibc

/// Add, Sub, Mul, Div, Pow, Mod: numpy-broadcast arithmetic on floats and integers. Integer
/// results wrap (the evaluator narrows them to the element type after the node).
enum Arithmetic {
    static let table: [String: Kernel] = [
        "Add": { call in try Elementwise.binary(call, float: { $0 + $1 }, int: { $0 &+ $1 }) },
        "Sub": { call in try Elementwise.binary(call, float: { $0 - $1 }, int: { $0 &- $1 }) },
        "Mul": { call in try Elementwise.binary(call, float: { $0 * $1 }, int: { $0 &* $1 }) },
        "Div": div,
        "Mod": mod,
        "Pow": pow,
    ]

    /// Integer division truncates toward zero like C (and onnxruntime); x/0 gives 0 rather than trapping.
    static func div(_ call: KernelCall) throws -> [Value] {
        if Elementwise.isUInt64(try call.tensor(0).dataType) {
            return try Elementwise.binary(call, float: { $0 / $1 }, int: { x, y in
                y == 0 ? 0 : Int64(bitPattern: UInt64(bitPattern: x) / UInt64(bitPattern: y))
            })
        }
        return try Elementwise.binary(call, float: { $0 / $1 }, int: { x, y in
            y == 0 ? 0 : x.dividedReportingOverflow(by: y).partialValue
        })
    }

    /// fmod = 1: the remainder has the dividend's sign (C fmod); fmod = 0: the divisor's sign
    /// (Python's %).
    static func mod(_ call: KernelCall) throws -> [Value] {
        let cStyle = call.int("fmod", 0) != 0
        if Elementwise.isUInt64(try call.tensor(0).dataType) {
            return try Elementwise.binary(call, float: { fmodf($0, $1) }, int: { x, y in
                y == 0 ? 0 : Int64(bitPattern: UInt64(bitPattern: x) % UInt64(bitPattern: y))
            })
        }
        if cStyle {
            return try Elementwise.binary(call, float: { fmodf($0, $1) }, int: { x, y in
                y == 0 ? 0 : x.remainderReportingOverflow(dividingBy: y).partialValue
            })
        }
        return try Elementwise.binary(call, float: { x, y in
            let r = fmodf(x, y)
            return r != 0 && (r < 0) != (y < 0) ? r + y : r
        }, int: { x, y in
            if y == 0 { return 0 }
            let r = x.remainderReportingOverflow(dividingBy: y).partialValue
            return r != 0 && (r < 0) != (y < 0) ? r &+ y : r
        })
    }

    /// The result has the base's type whatever the exponent's; integer bases raised to float
    /// exponents truncate like numpy's astype. Scalar exponents 2, 0.5, 1 and 3 skip powf.
    static func pow(_ call: KernelCall) throws -> [Value] {
        let a = try call.tensor(0), b = try call.tensor(1)
        switch (a.storage, b.storage) {
        case (.float, .float), (.float, .int):
            let e = b.asFloats
            if e.count == 1, b.rank <= a.rank {
                switch e[0] {
                case 2: return try Elementwise.mapFloats(call) { $0 * $0 }
                case 0.5: return try Elementwise.mapFloats(call) { $0.squareRoot() }
                case 1: return try Elementwise.mapFloats(call) { $0 }
                case 3: return try Elementwise.mapFloats(call) { $0 * $0 * $0 }
                case -1: return try Elementwise.mapFloats(call) { 1 / $0 }
                default: break
                }
            }
            var (base, x) = try Elementwise.takeFloats(call, 0)
            var y = e
            let r = try Elementwise.combine(&x, base.shape, &y, b.shape) { powf($0, $1) }
            base.storage = .float(r.values)
            base.shape = r.shape
            return [.tensor(base)]
        case (.int(let x), .float(let y)):
            let r = try Broadcast.binary(x, a.shape, y, b.shape) { x, y in
                NDArray.truncatingInt64(Float(Glibc.pow(Double(x), Double(y))))
            }
            return [.tensor(NDArray(int64s: r.values, shape: r.shape, type: a.dataType))]
        case (.int(let x), .int(let y)):
            let unsignedExponent = Elementwise.isUInt64(b.dataType)
            let r = try Broadcast.binary(x, a.shape, y, b.shape) { x, y in
                integerPower(x, y, unsignedExponent: unsignedExponent)
            }
            return [.tensor(NDArray(int64s: r.values, shape: r.shape, type: a.dataType))]
        default:
            throw call.failure("operands are \(a.dataType) and \(b.dataType)")
        }
    }

    /// x^y by squaring, wrapping; a negative exponent gives the truncated reciprocal (0 unless |x| = 1).
    static func integerPower(_ x: Int64, _ y: Int64, unsignedExponent: Bool) -> Int64 {
        if y < 0 && !unsignedExponent {
            if x == 1 { return 1 }
            if x == -1 { return y & 1 == 0 ? 1 : -1 }
            return 0
        }
        var result: Int64 = 1, base = x, e = UInt64(bitPattern: y)
        while e != 0 {
            if e & 1 == 1 { result = result &* base }
            base = base &* base
            e >>= 1
        }
        return result
    }
}

extension Arithmetic {
    /// Broadcast shapes; integer contents (shape arithmetic) computed symbolically.
    static let shapeRules: [String: ShapeRule] = [
        "Add": rule { $0 + $1 },
        "Sub": rule { $0 - $1 },
        "Mul": rule { $0 * $1 },
        "Div": rule { a, b in
            if let q = a.dividedExactly(by: b) { return q }
            guard let d = b.constant, d > 0, a.constant.map({ $0 >= 0 }) ?? true else { return nil }
            return a.floorDiv(d)
        },
        "Mod": rule(nil),
        "Pow": rule(nil),
    ]

    static func rule(_ op: ((DimExpr, DimExpr) -> DimExpr?)?) -> ShapeRule {
        let shapes = ShapeRules.broadcasting()
        return { call in
            var out = try shapes(call)
            if let op, let s = out[0].shape, let v = ShapeRules.combineContents(call, s, op) { out[0].values = v }
            return out
        }
    }
}
