/// Min, Max, Sum, Mean: any number of operands broadcast together, folded left to right into the
/// first operand's buffer where shapes allow.
enum Variadic {
    static let table: [String: Kernel] = [
        "Sum": { call in try fold(call, float: { $0 + $1 }, int: { $0 &+ $1 }) },
        "Mean": { call in
            let n = Float(call.inputCount)
            var r = try fold(call, float: { $0 + $1 }, int: { $0 &+ $1 })
            guard case .tensor(var t) = r[0], case .float(var v) = t.storage else {
                throw call.failure("expects floating operands")
            }
            t.storage = .float([])
            v.withUnsafeMutableBufferPointer { p in for k in 0..<p.count { p[k] /= n } }
            t.storage = .float(v)
            r[0] = .tensor(t)
            return r
        },
        /// NaN wins, as in numpy's minimum/maximum.
        "Min": { call in
            if Elementwise.isUInt64(try call.tensor(0).dataType) {
                return try fold(call, float: { x, _ in x }, int: { ($0 ^ .min) < ($1 ^ .min) ? $0 : $1 })
            }
            return try fold(call, float: { $0 < $1 || $0.isNaN ? $0 : $1 }, int: { Swift.min($0, $1) })
        },
        "Max": { call in
            if Elementwise.isUInt64(try call.tensor(0).dataType) {
                return try fold(call, float: { x, _ in x }, int: { ($0 ^ .min) > ($1 ^ .min) ? $0 : $1 })
            }
            return try fold(call, float: { $0 > $1 || $0.isNaN ? $0 : $1 }, int: { Swift.max($0, $1) })
        },
    ]

    @inline(__always)
    static func fold(_ call: KernelCall, float: (Float, Float) -> Float,
                     int: (Int64, Int64) -> Int64) throws -> [Value] {
        guard call.inputCount > 0 else { throw call.failure("needs at least one input") }
        var acc = try call.take(0)
        for k in 1..<call.inputCount {
            var b = try call.take(k)
            guard acc.dataType == b.dataType else { throw call.failure("operands are \(acc.dataType) and \(b.dataType)") }
            switch (acc.storage, b.storage) {
            case (.float(var x), .float(var y)):
                acc.storage = .float([]); b.storage = .float([])
                let r = try Elementwise.combine(&x, acc.shape, &y, b.shape, float)
                acc.storage = .float(r.values); acc.shape = r.shape
            case (.int(var x), .int(var y)):
                acc.storage = .int([]); b.storage = .int([])
                let r = try Elementwise.combine(&x, acc.shape, &y, b.shape, int)
                acc.storage = .int(r.values); acc.shape = r.shape
            default:
                throw call.failure("operands are \(acc.dataType) and \(b.dataType)")
            }
        }
        return [.tensor(acc)]
    }
}

extension Variadic {
    static let shapeRules: [String: ShapeRule] = ShapeRules.table(table.keys, ShapeRules.broadcasting())
}
