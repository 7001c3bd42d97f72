/// BitShift and the Bitwise operators on integer tensors.
enum Bitwise {
    static let table: [String: Kernel] = [
        "BitShift": bitShift,
        "BitwiseAnd": { call in try integers(call) { $0 & $1 } },
        "BitwiseOr": { call in try integers(call) { $0 | $1 } },
        "BitwiseXor": { call in try integers(call) { $0 ^ $1 } },
        "BitwiseNot": { call in
            guard try call.tensor(0).kind == .int else { throw call.failure("expects an integer operand") }
            return try Elementwise.mapNumbers(call, float: { $0 }, int: { x, _ in ~x })
        },
    ]

    @inline(__always)
    static func integers(_ call: KernelCall, _ op: (Int64, Int64) -> Int64) throws -> [Value] {
        guard try call.tensor(0).kind == .int else { throw call.failure("expects integer operands") }
        return try Elementwise.binary(call, float: { _, _ in .nan }, int: op)
    }

    /// Shifts by the width of the type or more give 0 (the values of unsigned types are
    /// non-negative in Int64, so a logical right shift is the arithmetic one, except for uint64).
    static func bitShift(_ call: KernelCall) throws -> [Value] {
        let t = try call.tensor(0).dataType
        guard let bits = t.bitWidth, ElementKind(t) == .int else { throw call.failure("expects integer operands") }
        let width = Int64(bits)
        switch call.string("direction", "") {
        case "LEFT":
            return try integers(call) { x, s in s < 0 || s >= width ? 0 : x << s }
        case "RIGHT":
            if Elementwise.isUInt64(t) {
                return try integers(call) { x, s in
                    s < 0 || s >= width ? 0 : Int64(bitPattern: UInt64(bitPattern: x) >> UInt64(s))
                }
            }
            return try integers(call) { x, s in s < 0 || s >= width ? (x < 0 ? -1 : 0) : x >> s }
        case let d:
            throw call.failure("direction '\(d)' is neither LEFT nor RIGHT")
        }
    }
}

extension Bitwise {
    static let shapeRules: [String: ShapeRule] = ShapeRules.table(["BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor"],
                                                                  ShapeRules.broadcasting())
        .merging(["BitwiseNot": ShapeRules.elementwise(flops: 1)]) { a, _ in a }
}
