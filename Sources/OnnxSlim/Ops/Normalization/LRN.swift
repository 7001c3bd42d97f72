#if canImport(Glibc)
import Glibc
#endif

/// LRN on X [N, C, D1, …]: each value is divided by (bias + α/size · Σ x²)^β, the sum running
/// over the `size` neighbouring channels (⌊(size−1)/2⌋ before, ⌈(size−1)/2⌉ after).
enum LRNOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        guard x.rank >= 2, let v = x.floats else { throw call.failure("X must be a floating [N, C, …] tensor") }
        let size = call.int("size", 0)
        guard size > 0 else { throw call.failure("size must be positive") }
        let alpha = call.float("alpha", 1e-4) / Float(size), beta = call.float("beta", 0.75), bias = call.float("bias", 1)
        let n = x.shape[0], c = x.shape[1], spatial = Axes.product(x.shape, 2..<x.rank)
        let before = (size - 1) / 2, after = size - 1 - before
        var squares = [Float](repeating: 0, count: spatial)
        let out = [Float](unsafeUninitializedCapacity: v.count) { o, count in
            v.withUnsafeBufferPointer { p in squares.withUnsafeMutableBufferPointer { sq in
                for i in 0..<n {
                    for ch in 0..<c {
                        for s in 0..<spatial { sq[s] = 0 }
                        for k in max(0, ch - before)...min(c - 1, ch + after) {
                            let src = (i * c + k) * spatial
                            for s in 0..<spatial { let t = p[src + s]; sq[s] += t * t }
                        }
                        let dst = (i * c + ch) * spatial
                        for s in 0..<spatial { o[dst + s] = p[dst + s] / powf(bias + alpha * sq[s], beta) }
                    }
                }
            } }
            count = v.count
        }
        return [.tensor(NDArray(floats: out, shape: x.shape, type: x.dataType))]
    }
}

extension LRNOp {
    /// Keeps the input shape; FLOPs: a square-sum over `size` channels and a power per element.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        try call.sameAsInput(0, flopsPerElement: call.int("size", 1) + 3)
    }
}
