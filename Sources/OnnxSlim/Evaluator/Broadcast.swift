/// Numpy-style broadcasting: the result shape of operands, and elementwise loops over operands of
/// broadcast-compatible shapes with fast paths for equal shapes and scalars.
public enum Broadcast {
    /// The broadcast of `shapes` (dims align from the right; 1 stretches).
    public static func shape(_ shapes: [[Int]]) throws -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        var out = [Int](repeating: 1, count: rank)
        for s in shapes {
            for (k, d) in s.enumerated() {
                let j = rank - s.count + k
                if out[j] == 1 { out[j] = d }
                else if d != 1 && d != out[j] {
                    throw OnnxSlimError(.badInput, "shapes \(shapes.map { "\($0)" }.joined(separator: ", ")) do not broadcast")
                }
            }
        }
        return out
    }

    public static func shape(_ a: [Int], _ b: [Int]) throws -> [Int] {
        if a == b { return a }
        return try shape([a, b])
    }

    /// Strides to read an operand of `shape` at each index of `out` (0 along stretched dims).
    public static func strides(_ shape: [Int], in out: [Int]) -> [Int] {
        var s = [Int](repeating: 0, count: out.count)
        var acc = 1
        for k in stride(from: shape.count - 1, through: 0, by: -1) {
            let j = out.count - shape.count + k
            s[j] = shape[k] == 1 ? 0 : acc
            acc *= shape[k]
        }
        return s
    }

    /// For each element of `out`, the flat index of the element of `shape` it reads.
    public static func sourceIndices(_ shape: [Int], in out: [Int]) -> [Int] {
        let n = out.reduce(1, *)
        if shape == out { return Array(0..<n) }
        let st = strides(shape, in: out)
        var idx = [Int](repeating: 0, count: n)
        forEachOffset(out, st) { k, off in idx[k] = off }
        return idx
    }

    /// Calls `body(flatOutputIndex, operandOffset)` for every element of `out` in order.
    @inline(__always)
    static func forEachOffset(_ out: [Int], _ st: [Int], _ body: (Int, Int) -> Void) {
        let n = out.reduce(1, *)
        if n == 0 { return }
        let rank = out.count
        if rank == 0 { body(0, 0); return }
        var counter = [Int](repeating: 0, count: rank)
        var off = 0
        let inner = out[rank - 1], innerStride = st[rank - 1]
        var k = 0
        while k < n {
            var o = off
            for _ in 0..<inner { body(k, o); k += 1; o += innerStride }
            // Advance the odometer over the outer dims.
            var d = rank - 2
            while d >= 0 {
                counter[d] += 1
                off += st[d]
                if counter[d] < out[d] { break }
                off -= st[d] * counter[d]
                counter[d] = 0
                d -= 1
            }
        }
    }

    /// `op` applied to `a` and `b` broadcast against each other.
    @inline(__always)
    public static func binary<A, B, R>(_ a: [A], _ aShape: [Int], _ b: [B], _ bShape: [Int],
                                       _ op: (A, B) -> R) throws -> (values: [R], shape: [Int]) {
        let out = try shape(aShape, bShape)
        let n = out.reduce(1, *)
        let values = a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                [R](unsafeUninitializedCapacity: n) { r, count in
                    if aShape == bShape {
                        for k in 0..<n { (r.baseAddress! + k).initialize(to: op(pa[k], pb[k])) }
                    } else if pb.count == 1 {
                        let y = pb[0]
                        for k in 0..<n { (r.baseAddress! + k).initialize(to: op(pa[k], y)) }
                    } else if pa.count == 1 {
                        let x = pa[0]
                        for k in 0..<n { (r.baseAddress! + k).initialize(to: op(x, pb[k])) }
                    } else if aShape == out, bShape.count <= out.count,
                              Array(out.suffix(bShape.count)) == bShape {
                        // b repeats over a's leading dims (a bias).
                        let m = pb.count
                        var k = 0
                        while k < n {
                            for j in 0..<m { (r.baseAddress! + k + j).initialize(to: op(pa[k + j], pb[j])) }
                            k += m
                        }
                    } else {
                        let sa = strides(aShape, in: out), sb = strides(bShape, in: out)
                        var offsets = [Int](repeating: 0, count: n)
                        forEachOffset(out, sb) { k, o in offsets[k] = o }
                        forEachOffset(out, sa) { k, o in (r.baseAddress! + k).initialize(to: op(pa[o], pb[offsets[k]])) }
                    }
                    count = n
                }
            }
        }
        return (values, out)
    }
}
