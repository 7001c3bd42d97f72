#if canImport(Glibc)
import Glibc
#endif

/// Softmax, LogSoftmax and Hardmax. From opset 13 they work along one axis; before, the input is
/// coerced to 2-D at `axis` (default 1) and every row of the flattened trailing dims is one group.
enum SoftmaxOp {
    enum Form { case softmax, logSoftmax, hardmax }

    /// The input seen as [outer, n, inner] with the op normalizing along n.
    static func blocks(_ shape: [Int], _ call: KernelCall) throws -> (outer: Int, n: Int, inner: Int) {
        let rank = shape.count
        if rank == 0 { return (1, 1, 1) }
        if call.opset >= 13 {
            let axis = try Axes.normalize(call.int("axis", -1), rank: rank)
            return (Axes.product(shape, 0..<axis), shape[axis], Axes.product(shape, axis + 1..<rank))
        }
        let raw = call.int("axis", 1)
        let axis = raw < 0 ? raw + rank : raw
        guard axis >= 0 && axis <= rank else { throw call.failure("axis \(raw) is out of range for rank \(rank)") }
        return (Axes.product(shape, 0..<axis), Axes.product(shape, axis..<rank), 1)
    }

    static func kernel(_ form: Form) -> Kernel {
        return { call in
            var x = try call.take(0)
            var v = try RowMath.takeFloats(&x, call)
            let (outer, n, inner) = try blocks(x.shape, call)
            if outer * n * inner > 0 {
                var scratch = [Float](repeating: 0, count: inner > 1 ? 2 * inner : (form == .logSoftmax ? n : 0))
                v.withUnsafeMutableBufferPointer { p in scratch.withUnsafeMutableBufferPointer { s in
                    guard let base = p.baseAddress else { return }
                    for o in 0..<outer {
                        let block = base + o * n * inner
                        if inner > 1, let sb = s.baseAddress {
                            strided(block, n, inner, form, sb)
                        } else {
                            row(block, n, form, s.baseAddress)
                        }
                    }
                } }
            }
            x.storage = .float(v)
            return [.tensor(x)]
        }
    }

    /// One contiguous row of n values, in place; LogSoftmax needs n floats of `scratch`.
    @inline(__always)
    static func row(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ form: Form, _ scratch: UnsafeMutablePointer<Float>?) {
        let m = RowMath.maximum(p, n)
        switch form {
        case .softmax:
            let s = RowMath.expShifted(p, p, n, m)
            let r = 1 / s
            for i in 0..<n { p[i] *= r }
        case .logSoftmax:
            guard let scratch else { return }
            let shift = m + logf(RowMath.expShifted(p, scratch, n, m))
            for i in 0..<n { p[i] -= shift }
        case .hardmax:
            var best = 0
            for i in 1..<max(n, 1) where p[i] > p[best] { best = i }
            for i in 0..<n { p[i] = i == best ? 1 : 0 }
        }
    }

    /// n rows of `inner` values each, normalized column-wise (axis not last); `scratch` holds
    /// 2 · inner floats.
    static func strided(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ inner: Int, _ form: Form, _ scratch: UnsafeMutablePointer<Float>) {
        let mx = scratch, acc = scratch + inner
        for j in 0..<inner { mx[j] = p[j] }
        if form == .hardmax {
            // acc holds the first index of the column maximum.
            for j in 0..<inner { acc[j] = 0 }
            for i in 1..<max(n, 1) {
                let r = p + i * inner
                for j in 0..<inner where r[j] > mx[j] { mx[j] = r[j]; acc[j] = Float(i) }
            }
            for i in 0..<n {
                let r = p + i * inner, fi = Float(i)
                for j in 0..<inner { r[j] = acc[j] == fi ? 1 : 0 }
            }
            return
        }
        for i in 1..<max(n, 1) {
            let r = p + i * inner
            for j in 0..<inner { mx[j] = r[j] > mx[j] ? r[j] : mx[j] }
        }
        for j in 0..<inner { acc[j] = 0 }
        if form == .softmax {
            for i in 0..<n {
                let r = p + i * inner
                for j in 0..<inner { let e = RowMath.exp(r[j] - mx[j]); acc[j] += e; r[j] = e }
            }
            for j in 0..<inner { acc[j] = 1 / acc[j] }
            for i in 0..<n {
                let r = p + i * inner
                for j in 0..<inner { r[j] *= acc[j] }
            }
        } else {
            for i in 0..<n {
                let r = p + i * inner
                for j in 0..<inner { acc[j] += RowMath.exp(r[j] - mx[j]) }
            }
            for j in 0..<inner { acc[j] = mx[j] + logf(acc[j]) }
            for i in 0..<n {
                let r = p + i * inner
                for j in 0..<inner { r[j] -= acc[j] }
            }
        }
    }
}

extension SoftmaxOp {
    /// Keeps the input shape; FLOPs: max, subtract-and-exp, sum, divide: 4 per element.
    static let inferShape = ShapeRules.elementwise(flops: 4)
}
