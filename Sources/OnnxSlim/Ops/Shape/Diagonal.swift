/// Operators about a matrix's diagonals: EyeLike (ones on diagonal k) and Trilu (keep the
/// triangle on one side of diagonal k, zero the rest), over the last two dims.
enum DiagonalOps {
    static func eyeLike(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        guard x.rank == 2 else { throw call.failure("input must be 2-D, not \(x.shape)") }
        let type = call.attribute("dtype").map { DataType(Int32($0.i)) } ?? x.dataType
        let k = call.int("k", 0)
        let (rows, cols) = (x.shape[0], x.shape[1])
        var out = NDArray.zeros(type, shape: x.shape)
        let ones = (0..<rows).compactMap { i in (0..<cols).contains(i + k) ? i * cols + i + k : nil }
        switch out.storage {
        case .float(var v): for o in ones { v[o] = 1 }; out.storage = .float(v)
        case .int(var v): for o in ones { v[o] = 1 }; out.storage = .int(v)
        case .bool(var v): for o in ones { v[o] = true }; out.storage = .bool(v)
        case .string: throw call.failure("EyeLike of strings")
        }
        return [.tensor(out)]
    }

    static func trilu(_ call: KernelCall) throws -> [Value] {
        var x = try call.take(0)
        guard x.rank >= 2 else { throw call.failure("input must have rank >= 2, not \(x.shape)") }
        let k = try call.optionalTensor(1)?.asInts.first ?? 0
        let upper = call.int("upper", 1) != 0
        let rows = x.shape[x.rank - 2], cols = x.shape[x.rank - 1]
        switch x.storage {
        case .float(var v): x.storage = .float([]); zeroOutside(&v, rows, cols, k, upper, 0); x.storage = .float(v)
        case .int(var v): x.storage = .int([]); zeroOutside(&v, rows, cols, k, upper, 0); x.storage = .int(v)
        case .bool(var v): x.storage = .bool([]); zeroOutside(&v, rows, cols, k, upper, false); x.storage = .bool(v)
        case .string(var v): x.storage = .string([]); zeroOutside(&v, rows, cols, k, upper, ""); x.storage = .string(v)
        }
        return [.tensor(x)]
    }

    /// Sets element (i, j) of every matrix to `zero` unless j - i >= k (upper) or j - i <= k (lower).
    private static func zeroOutside<T>(_ v: inout [T], _ rows: Int, _ cols: Int, _ k: Int, _ upper: Bool, _ zero: T) {
        let size = rows * cols
        if size == 0 { return }
        v.withUnsafeMutableBufferPointer { p in
            var base = 0
            while base < p.count {
                for i in 0..<rows {
                    // Columns kept in row i: j >= i + k (upper) or j <= i + k (lower).
                    let edge = i + k
                    let zeroCols = upper ? 0..<min(max(edge, 0), cols) : min(max(edge + 1, 0), cols)..<cols
                    for j in zeroCols { p[base + i * cols + j] = zero }
                }
                base += size
            }
        }
    }
}

extension DiagonalOps {
    static func inferEyeLike(_ call: ShapeCall) throws -> [InferredValue] {
        let given = call.attribute("dtype").map { DataType(Int32($0.i)) }
        let type = try given ?? call.type(0)
        return [.tensor(type, try call.shape(0))]
    }

    static func inferTrilu(_ call: ShapeCall) throws -> [InferredValue] {
        [.tensor(try call.type(0), try call.shape(0))]
    }
}
