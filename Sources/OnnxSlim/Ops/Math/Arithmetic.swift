/// Add, Sub, Mul, Div: numpy-broadcast arithmetic on floats and integers.
enum Arithmetic {
    /// A binary kernel from its float and integer forms; the result has the first operand's type.
    static func kernel(float: @escaping (Float, Float) -> Float, int: @escaping (Int64, Int64) -> Int64) -> Kernel {
        return { call in
            let a = try call.tensor(0), b = try call.tensor(1)
            switch (a.storage, b.storage) {
            case (.float(let x), .float(let y)):
                let r = try Broadcast.binary(x, a.shape, y, b.shape, float)
                return [.tensor(NDArray(floats: r.values, shape: r.shape, type: a.dataType))]
            case (.int(let x), .int(let y)):
                let r = try Broadcast.binary(x, a.shape, y, b.shape, int)
                return [.tensor(NDArray(int64s: r.values, shape: r.shape, type: a.dataType))]
            default:
                throw call.failure("operands are \(a.dataType) and \(b.dataType)")
            }
        }
    }

    static let table: [String: Kernel] = [
        "Add": kernel(float: { $0 + $1 }, int: { $0 &+ $1 }),
        "Sub": kernel(float: { $0 - $1 }, int: { $0 &- $1 }),
        "Mul": kernel(float: { $0 * $1 }, int: { $0 &* $1 }),
        "Div": kernel(float: { $0 / $1 }, int: { $1 == 0 ? 0 : $0 / $1 }),
    ]
}
