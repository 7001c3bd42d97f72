/// Comparisons (→ bool) over numbers, bools and strings, and the boolean logic operators.
enum Comparison {
    static let table: [String: Kernel] = [
        "Equal": { call in try compare(call, Equal.self) },
        "Less": { call in try compare(call, Less.self) },
        "LessOrEqual": { call in try compare(call, LessOrEqual.self) },
        "Greater": { call in try compare(call, Greater.self) },
        "GreaterOrEqual": { call in try compare(call, GreaterOrEqual.self) },
        "And": { call in try logic(call) { $0 && $1 } },
        "Or": { call in try logic(call) { $0 || $1 } },
        "Xor": { call in try logic(call) { $0 != $1 } },
        "Not": { call in
            let a = try call.tensor(0)
            guard let v = a.bools else { throw call.failure("input is \(a.dataType), expected bool") }
            return [.tensor(NDArray(bools: v.map { !$0 }, shape: a.shape))]
        },
    ]

    /// One comparison for every element type; specialized per operator where it is inlined.
    protocol Test { static func test<T: Comparable>(_ a: T, _ b: T) -> Bool }
    enum Equal: Test { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a == b } }
    enum Less: Test { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a < b } }
    enum LessOrEqual: Test { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a <= b } }
    enum Greater: Test { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a > b } }
    enum GreaterOrEqual: Test { @inline(__always) static func test<T: Comparable>(_ a: T, _ b: T) -> Bool { a >= b } }

    static func compare<Op: Test>(_ call: KernelCall, _: Op.Type) throws -> [Value] {
        let a = try call.tensor(0), b = try call.tensor(1)
        guard a.dataType == b.dataType else { throw call.failure("operands are \(a.dataType) and \(b.dataType)") }
        let r: (values: [Bool], shape: [Int])
        switch (a.storage, b.storage) {
        case (.float(let x), .float(let y)):
            r = try Broadcast.binary(x, a.shape, y, b.shape) { Op.test($0, $1) }
        case (.int(let x), .int(let y)):
            if Elementwise.isUInt64(a.dataType) {
                // Flipping the sign bit orders unsigned bit patterns as signed numbers.
                r = try Broadcast.binary(x, a.shape, y, b.shape) { Op.test($0 ^ .min, $1 ^ .min) }
            } else {
                r = try Broadcast.binary(x, a.shape, y, b.shape) { Op.test($0, $1) }
            }
        case (.bool(let x), .bool(let y)):
            r = try Broadcast.binary(x, a.shape, y, b.shape) { Op.test($0 ? 1 : 0, $1 ? 1 : 0) }
        case (.string(let x), .string(let y)):
            r = try Broadcast.binary(x, a.shape, y, b.shape) { Op.test($0, $1) }
        default:
            throw call.failure("operands are \(a.dataType) and \(b.dataType)")
        }
        return [.tensor(NDArray(bools: r.values, shape: r.shape))]
    }

    @inline(__always)
    static func logic(_ call: KernelCall, _ op: (Bool, Bool) -> Bool) throws -> [Value] {
        let a = try call.tensor(0), b = try call.tensor(1)
        guard let x = a.bools, let y = b.bools else {
            throw call.failure("operands are \(a.dataType) and \(b.dataType), expected bool")
        }
        let r = try Broadcast.binary(x, a.shape, y, b.shape, op)
        return [.tensor(NDArray(bools: r.values, shape: r.shape))]
    }
}

extension Comparison {
    /// Bool results. Equal also compares symbolic contents where the answer is certain: a dim is
    /// never negative, so `Equal(shape, -1)` (the exporter's reshape guard) is known false.
    static let shapeRules: [String: ShapeRule] = ShapeRules.table(table.keys.filter { $0 != "Not" && $0 != "Equal" },
                                                                  ShapeRules.broadcasting(output: .bool))
        .merging([
            "Not": { call in
                var out = try call.sameAsInput(0, flopsPerElement: 1)
                out[0].elemType = .bool
                return out
            },
            "Equal": { call in
                var out = try ShapeRules.broadcasting(output: .bool)(call)
                if let s = out[0].shape {
                    out[0].values = ShapeRules.combineContents(call, s) { a, b in
                        if a == b { return DimExpr(1) }
                        if let x = a.constant, let y = b.constant { return DimExpr(x == y ? 1 : 0) }
                        if (a.constant ?? 0) < 0 || (b.constant ?? 0) < 0 { return DimExpr(0) }
                        return nil
                    }
                }
                return out
            },
        ]) { a, _ in a }
}
