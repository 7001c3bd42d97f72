#if canImport(Glibc)
import Glibc
#endif

/// Reductions and elementwise steps over contiguous float runs, shared by the normalization
/// kernels. Sums use eight independent lanes so they vectorize (a plain `s += p[i]` loop cannot,
/// as float addition is not reassociated) and lose less precision on long rows.
enum RowMath {
    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        let raw = UnsafeRawPointer(p)
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            acc += raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self)
            i &+= 8
        }
        var s = acc.sum()
        while i < n { s += p[i]; i &+= 1 }
        return s
    }

    /// Σ (p[i] - mean)².
    @inline(__always)
    static func squaredDeviation(_ p: UnsafePointer<Float>, _ n: Int, _ mean: Float) -> Float {
        let raw = UnsafeRawPointer(p)
        let m = SIMD8<Float>(repeating: mean)
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            let d = raw.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self) - m
            acc += d * d
            i &+= 8
        }
        var s = acc.sum()
        while i < n { let d = p[i] - mean; s += d * d; i &+= 1 }
        return s
    }

    /// Mean and (population) variance of a run, in two passes for accuracy.
    @inline(__always)
    static func moments(_ p: UnsafePointer<Float>, _ n: Int) -> (mean: Float, variance: Float) {
        guard n > 0 else { return (0, 0) }
        let mean = sum(p, n) / Float(n)
        return (mean, squaredDeviation(p, n, mean) / Float(n))
    }

    /// dst[i] = src[i] * a + b.
    @inline(__always)
    static func affine(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int, _ a: Float, _ b: Float) {
        for i in 0..<n { dst[i] = src[i] * a + b }
    }

    /// e^x for eight lanes (Cephes' expf polynomial, within 2 ulp of expf); 0 below e^-87.3.
    @inline(__always)
    static func exp8(_ x0: SIMD8<Float>) -> SIMD8<Float> {
        let x = x0.replacing(with: 88.3762626647949, where: x0 .> 88.3762626647949)
            .replacing(with: -88.0, where: x0 .< -88.0)
        let n = (x * 1.44269504088896341 + 0.5).rounded(.down)
        let r = x - n * 0.693359375 + n * 2.12194440e-4
        var y = SIMD8<Float>(repeating: 1.9875691500e-4)
        y = y * r + 1.3981999507e-3
        y = y * r + 8.3334519073e-3
        y = y * r + 4.1665795894e-2
        y = y * r + 1.6666665459e-1
        y = y * r + 5.0000001201e-1
        y = y * r * r + r + 1
        let bits = (SIMD8<Int32>(n, rounding: .towardZero) &+ 127) &<< 23
        let result = y * unsafeBitCast(bits, to: SIMD8<Float>.self)
        return result.replacing(with: 0, where: x0 .< -87.33)
    }

    /// dst[i] = e^(src[i] - shift); returns Σ dst[i]. `src` and `dst` may be the same run.
    @inline(__always)
    static func expShifted(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int, _ shift: Float) -> Float {
        let sr = UnsafeRawPointer(src), dr = UnsafeMutableRawPointer(dst)
        let m = SIMD8<Float>(repeating: shift)
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= n {
            let e = exp8(sr.loadUnaligned(fromByteOffset: i &* 4, as: SIMD8<Float>.self) - m)
            dr.storeBytes(of: e, toByteOffset: i &* 4, as: SIMD8<Float>.self)
            acc += e
            i &+= 8
        }
        var s = acc.sum()
        while i < n { let e = expf(src[i] - shift); dst[i] = e; s += e; i &+= 1 }
        return s
    }

    /// The largest value of a non-empty run (NaN if any is NaN).
    @inline(__always)
    static func maximum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var m = p[0]
        for i in 0..<n { let v = p[i]; if v > m || v.isNaN { m = v } }
        return m
    }

    /// The float values of `t`, moved out of it so the caller holds the only reference and can
    /// write results in place.
    static func takeFloats(_ t: inout NDArray, _ call: KernelCall) throws -> [Float] {
        guard let v = t.floats else { throw call.failure("expects a floating tensor, got \(t.dataType)") }
        t.storage = .float([])
        return v
    }

    /// A per-channel parameter vector of exactly `count` floats.
    static func vector(_ call: KernelCall, _ k: Int, count: Int, name: String) throws -> [Float] {
        let t = try call.tensor(k)
        guard t.kind == .float, t.count == count else {
            throw call.failure("\(name) has shape \(t.shape) (\(t.dataType)); expected \(count) floats")
        }
        return t.asFloats
    }
}
