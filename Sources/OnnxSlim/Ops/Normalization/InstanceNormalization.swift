#if canImport(Glibc)
import Glibc
#endif

/// InstanceNormalization and GroupNormalization on X [N, C, D1, …]: each sample's channels are
/// split into groups of contiguous channels (one channel per group for InstanceNormalization),
/// normalized with the group's own mean and variance, then scaled and shifted per channel.
enum InstanceNormalizationOp {
    static func instance(_ call: KernelCall) throws -> [Value] {
        var x = try call.take(0)
        guard x.rank >= 2 else { throw call.failure("X must be [N, C, …], got \(x.shape)") }
        let c = x.shape[1]
        let scale = try RowMath.vector(call, 1, count: c, name: "scale")
        let bias = try RowMath.vector(call, 2, count: c, name: "B")
        return [.tensor(try normalize(&x, groups: c, scale: scale, bias: bias, epsilon: call.float("epsilon", 1e-5), call))]
    }

    /// GroupNormalization: scale and bias are per channel (opset 21) or per group (opset 18).
    static func group(_ call: KernelCall) throws -> [Value] {
        var x = try call.take(0)
        guard x.rank >= 2 else { throw call.failure("X must be [N, C, …], got \(x.shape)") }
        let c = x.shape[1], g = call.int("num_groups", 0)
        guard g > 0, c % g == 0 else { throw call.failure("num_groups \(g) does not divide \(c) channels") }
        let s = try call.tensor(1), b = try call.tensor(2)
        guard s.kind == .float, b.kind == .float, s.count == b.count, s.count == c || s.count == g else {
            throw call.failure("scale/bias shapes \(s.shape), \(b.shape) fit neither \(c) channels nor \(g) groups")
        }
        // Per-group parameters repeat over the group's channels.
        let perGroup = s.count != c
        let scale = perGroup ? (0..<c).map { s.asFloats[$0 / (c / g)] } : s.asFloats
        let bias = perGroup ? (0..<c).map { b.asFloats[$0 / (c / g)] } : b.asFloats
        return [.tensor(try normalize(&x, groups: g, scale: scale, bias: bias, epsilon: call.float("epsilon", 1e-5), call))]
    }

    static func normalize(_ x: inout NDArray, groups: Int, scale: [Float], bias: [Float], epsilon: Float, _ call: KernelCall) throws -> NDArray {
        let n = x.shape[0], c = x.shape[1]
        let spatial = Axes.product(x.shape, 2..<x.rank)
        let perGroup = c / groups
        let groupSize = perGroup * spatial
        var v = try RowMath.takeFloats(&x, call)
        v.withUnsafeMutableBufferPointer { p in
            guard let base = p.baseAddress, groupSize > 0 else { return }
            for i in 0..<n {
                for g in 0..<groups {
                    let block = base + (i * c + g * perGroup) * spatial
                    let (mean, variance) = RowMath.moments(block, groupSize)
                    let inv = 1 / sqrtf(variance + epsilon)
                    for k in 0..<perGroup {
                        let ch = g * perGroup + k
                        let a = scale[ch] * inv
                        RowMath.affine(block + k * spatial, block + k * spatial, spatial, a, bias[ch] - mean * a)
                    }
                }
            }
        }
        x.storage = .float(v)
        return x
    }
}

extension InstanceNormalizationOp {
    /// Instance and group normalization keep the input shape; 5 FLOPs per element as LayerNorm.
    static let inferShape = ShapeRules.elementwise(flops: 5)
}
