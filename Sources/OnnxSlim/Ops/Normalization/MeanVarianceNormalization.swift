#if canImport(Glibc)
import Glibc
#endif

/// MeanVarianceNormalization: Y = (X − E[X]) / (√(E[X²] − E[X]²) + 1e-9), the expectations over
/// `axes` (default [0, 2, 3]).
enum MeanVarianceNormalizationOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        var x = try call.take(0)
        let axes = Set(try Axes.normalize(call.ints("axes") ?? [0, 2, 3], rank: x.rank))
        var reduced = x.shape
        for a in axes { reduced[a] = 1 }
        let groups = reduced.reduce(1, *)
        let groupOf = Broadcast.sourceIndices(reduced, in: x.shape)
        var v = try RowMath.takeFloats(&x, call)
        let count = Double(groups == 0 ? 0 : v.count / groups)
        var sum = [Double](repeating: 0, count: groups), sumSq = [Double](repeating: 0, count: groups)
        for (k, g) in groupOf.enumerated() { let t = Double(v[k]); sum[g] += t; sumSq[g] += t * t }
        var mean = [Float](repeating: 0, count: groups), inv = [Float](repeating: 0, count: groups)
        for g in 0..<groups {
            let m = sum[g] / count
            mean[g] = Float(m)
            inv[g] = Float(1 / ((max(sumSq[g] / count - m * m, 0)).squareRoot() + 1e-9))
        }
        for (k, g) in groupOf.enumerated() { v[k] = (v[k] - mean[g]) * inv[g] }
        x.storage = .float(v)
        return [.tensor(x)]
    }
}

extension MeanVarianceNormalizationOp {
    static let inferShape = ShapeRules.elementwise(flops: 4)
}
