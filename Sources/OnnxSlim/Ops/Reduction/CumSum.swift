/// CumSum: running sums along one axis, optionally exclusive (each sum leaves out its own
/// element) and/or reversed.
enum CumSum {
    static let table: [String: Kernel] = ["CumSum": kernel]

    static func kernel(_ call: KernelCall) throws -> [Value] {
        var x = try call.take(0)
        let axisTensor = try call.tensor(1)
        guard axisTensor.count == 1, let a = axisTensor.asInts.first else { throw call.failure("axis must be one value") }
        let rank = Swift.max(x.rank, 1)
        let axis = try Axes.normalize(a, rank: rank)
        let shape = x.rank == 0 ? [1] : x.shape
        let outer = Axes.product(shape, 0..<axis), n = shape[axis], inner = Axes.product(shape, (axis + 1)..<rank)
        let exclusive = call.int("exclusive", 0) != 0, reverse = call.int("reverse", 0) != 0
        switch x.storage {
        case .float(var v):
            x.storage = .float([])
            scan(&v, outer, n, inner, exclusive, reverse, +)
            x.storage = .float(v)
        case .int(var v):
            x.storage = .int([])
            scan(&v, outer, n, inner, exclusive, reverse) { $0 &+ $1 }
            x.storage = .int(v)
        default:
            throw call.failure("input of type \(x.dataType) is not supported")
        }
        return [.tensor(x)]
    }

    /// In place: each outer block's rows become running sums, a whole inner row at a time.
    @inline(__always)
    static func scan<T: AdditiveArithmetic>(_ v: inout [T], _ outer: Int, _ n: Int, _ inner: Int,
                                            _ exclusive: Bool, _ reverse: Bool, _ add: (T, T) -> T) {
        var acc = [T](repeating: .zero, count: inner)
        v.withUnsafeMutableBufferPointer { p in
            acc.withUnsafeMutableBufferPointer { a in
                for o in 0..<outer {
                    for i in 0..<inner { a[i] = .zero }
                    for s in 0..<n {
                        let row = (o * n + (reverse ? n - 1 - s : s)) * inner
                        if exclusive {
                            for i in 0..<inner { let e = p[row + i]; p[row + i] = a[i]; a[i] = add(a[i], e) }
                        } else {
                            for i in 0..<inner { a[i] = add(a[i], p[row + i]); p[row + i] = a[i] }
                        }
                    }
                }
            }
        }
    }
}

extension CumSum {
    static let shapeRules: [String: ShapeRule] = ["CumSum": ShapeRules.elementwise(flops: 1)]
}
