/// ArgMax and ArgMin: the index of the extreme element along one axis (first one on ties, or
/// the last with `select_last_index`).
enum ArgMinMax {
    static let table: [String: Kernel] = ["ArgMax": kernel(max: true), "ArgMin": kernel(max: false)]

    static func kernel(max: Bool) -> Kernel {
        return { call in
            let x = try call.tensor(0)
            let rank = x.rank
            let axis = rank == 0 ? 0 : try Axes.normalize(call.int("axis", 0), rank: rank)
            let keep = call.int("keepdims", 1) != 0
            let last = call.int("select_last_index", 0) != 0
            let n = rank == 0 ? 1 : x.shape[axis]
            let outer = rank == 0 ? 1 : Axes.product(x.shape, 0..<axis)
            let inner = rank == 0 ? 1 : Axes.product(x.shape, (axis + 1)..<rank)
            var outShape = x.shape
            if rank > 0 { if keep { outShape[axis] = 1 } else { outShape.remove(at: axis) } }
            if n == 0 && outer * inner > 0 { throw call.failure("cannot take the extreme of an empty axis") }
            let indices: [Int64]
            switch x.storage {
            case .float(let v):
                indices = max ? search(v, outer, n, inner, last) { $0 > $1 } : search(v, outer, n, inner, last) { $0 < $1 }
            case .int(let v):
                indices = max ? search(v, outer, n, inner, last) { $0 > $1 } : search(v, outer, n, inner, last) { $0 < $1 }
            case .bool(let v):
                let w = v.map { $0 ? Int64(1) : 0 }
                indices = max ? search(w, outer, n, inner, last) { $0 > $1 } : search(w, outer, n, inner, last) { $0 < $1 }
            case .string:
                throw call.failure("string input is not supported")
            }
            return [.tensor(NDArray(int64s: indices, shape: outShape))]
        }
    }

    /// `better(a, b)`: a replaces the best so far; equal values replace it only when selecting the last.
    @inline(__always)
    static func search<T: Comparable>(_ v: [T], _ outer: Int, _ n: Int, _ inner: Int, _ last: Bool,
                                      _ better: (T, T) -> Bool) -> [Int64] {
        var out = [Int64](repeating: 0, count: outer * inner)
        if n == 0 { return out }
        v.withUnsafeBufferPointer { p in
            for o in 0..<outer {
                for i in 0..<inner {
                    let base = o * n * inner + i
                    var best = p[base], at = 0
                    for j in 1..<n {
                        let e = p[base + j * inner]
                        if better(e, best) || (last && e == best) { best = e; at = j }
                    }
                    out[o * inner + i] = Int64(at)
                }
            }
        }
        return out
    }
}

extension ArgMinMax {
    /// int64 indices; the axis drops or becomes 1 with keepdims.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let x = try call.input(0), s = try call.shape(0)
        let axis = try ShapeRules.axis(call.int("axis", 0), rank: s.count, call)
        var out = s
        if s.isEmpty {} else if call.int("keepdims", 1) != 0 { out[axis] = 1 } else { out.remove(at: axis) }
        call.countElementwise(x, 1)
        return [.tensor(.int64, out)]
    }

    static let shapeRules: [String: ShapeRule] = ["ArgMax": inferShape, "ArgMin": inferShape]
}
