/// OneHot: a new axis of `depth` entries, `on` where it equals the index and `off` elsewhere.
/// Indices in [-depth, depth) count negatives from the end; others give an all-`off` row.
enum OneHotOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let indices = try call.tensor(0), depthT = try call.tensor(1), values = try call.tensor(2)
        guard depthT.count == 1, values.count == 2 else { throw call.failure("depth must be a scalar and values hold [off, on]") }
        let depth = Int(depthT.asInt64s[0])
        guard depth >= 0 else { throw call.failure("depth \(depth) is negative") }
        let r = indices.rank
        let raw = call.int("axis", -1)
        let axis = raw < 0 ? raw + r + 1 : raw
        guard axis >= 0 && axis <= r else { throw call.failure("axis \(raw) is out of range for rank \(r + 1)") }
        let outer = Axes.product(indices.shape, 0..<axis), inner = Axes.product(indices.shape, axis..<r)
        let shape = Array(indices.shape[..<axis]) + [depth] + Array(indices.shape[axis...])
        let idx = indices.asInt64s
        // Positions of the `on` entries.
        var hits: [Int] = []
        hits.reserveCapacity(idx.count)
        for o in 0..<outer {
            for i in 0..<inner {
                let v = idx[o * inner + i]
                guard v >= -Int64(depth) && v < Int64(depth) else { continue }
                let d = Int(v < 0 ? v + Int64(depth) : v)
                hits.append((o * depth + d) * inner + i)
            }
        }
        let n = outer * depth * inner
        let storage: NDArray.Storage
        switch values.storage {
        case .float(let v): storage = .float(filled(n, v[0], v[1], hits))
        case .int(let v): storage = .int(filled(n, v[0], v[1], hits))
        case .bool(let v): storage = .bool(filled(n, v[0], v[1], hits))
        case .string(let v): storage = .string(filled(n, v[0], v[1], hits))
        }
        return [.tensor(NDArray(values.dataType, shape: shape, storage: storage))]
    }

    private static func filled<T>(_ n: Int, _ off: T, _ on: T, _ hits: [Int]) -> [T] {
        var out = [T](repeating: off, count: n)
        for h in hits { out[h] = on }
        return out
    }
}

extension OneHotOp {
    /// The depth axis is inserted at `axis`; the type is that of `values`.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0)
        guard let depth = call.dimValues(1)?.first ?? call.constantFloats(1)?.first.map({ DimExpr(Int($0)) }) else {
            throw call.gap("depth is computed at run time")
        }
        let raw = call.int("axis", -1)
        let axis = raw < 0 ? raw + s.count + 1 : raw
        guard axis >= 0 && axis <= s.count else { throw call.gap("axis \(raw) is out of range") }
        var shape = s
        shape.insert(depth, at: axis)
        return [.tensor(try call.type(2), shape)]
    }
}
