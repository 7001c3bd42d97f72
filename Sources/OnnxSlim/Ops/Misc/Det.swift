/// Det: determinants of the trailing square matrices, by LU decomposition with partial pivoting
/// in Double.
enum Det {
    static let table: [String: Kernel] = ["Det": kernel]

    static func kernel(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        guard let v = x.floats else { throw call.failure("input must be floating, not \(x.dataType)") }
        guard x.rank >= 2, x.shape[x.rank - 1] == x.shape[x.rank - 2] else {
            throw call.failure("input shape \(x.shape) does not end in a square matrix")
        }
        let m = x.shape[x.rank - 1]
        let batch = Axes.product(x.shape, 0..<(x.rank - 2))
        var out = [Float](repeating: 0, count: batch)
        var a = [Double](repeating: 0, count: m * m)
        for b in 0..<batch {
            for k in 0..<(m * m) { a[k] = Double(v[b * m * m + k]) }
            out[b] = Float(determinant(&a, m))
        }
        return [.tensor(NDArray(floats: out, shape: Array(x.shape[..<(x.rank - 2)]), type: x.dataType))]
    }

    static func determinant(_ a: inout [Double], _ m: Int) -> Double {
        var det = 1.0
        for col in 0..<m {
            var pivot = col
            for r in (col + 1)..<m where abs(a[r * m + col]) > abs(a[pivot * m + col]) { pivot = r }
            if a[pivot * m + col] == 0 { return 0 }
            if pivot != col {
                for k in 0..<m { a.swapAt(col * m + k, pivot * m + k) }
                det = -det
            }
            let p = a[col * m + col]
            det *= p
            for r in (col + 1)..<m {
                let f = a[r * m + col] / p
                if f == 0 { continue }
                for k in col..<m { a[r * m + k] -= f * a[col * m + k] }
            }
        }
        return det
    }
}

extension Det {
    static let shapeRules: [String: ShapeRule] = ["Det": { call in
        let s = try call.shape(0)
        guard s.count >= 2 else { throw call.gap("needs a matrix") }
        return [.tensor(try call.type(0), Array(s.dropLast(2)))]
    }]
}
