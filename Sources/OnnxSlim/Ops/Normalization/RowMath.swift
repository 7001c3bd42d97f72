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

    /// e^x within 2 ulp of expf (Cephes' polynomial), 0 below e^-87.33, NaN for NaN. Written
    /// without calls or trapping conversions so loops over it vectorize.
    @inline(__always)
    static func exp(_ x0: Float) -> Float {
        let x = x0 < -87.33 ? -87.33 : (x0 > 88.37 ? 88.37 : x0)
        // x·log2(e) rounded to the nearest integer n by adding 1.5·2^23: n sits in t's low bits.
        let t = x * 1.44269504088896341 + 12582912.0
        let n = t - 12582912.0
        let r = x - n * 0.693359375 + n * 2.12194440e-4
        var y: Float = 1.9875691500e-4
        y = y * r + 1.3981999507e-3
        y = y * r + 8.3334519073e-3
        y = y * r + 4.1665795894e-2
        y = y * r + 1.6666665459e-1
        y = y * r + 5.0000001201e-1
        y = y * r * r + r + 1
        let e = y * Float(bitPattern: (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
        return x0 < -87.33 ? 0 : e
    }

    /// dst[i] = e^(src[i] - shift); returns Σ dst[i]. `src` and `dst` may be the same run.
    @inline(__always)
    static func expShifted(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int, _ shift: Float) -> Float {
        for i in 0..<n { dst[i] = exp(src[i] - shift) }
        return sum(UnsafePointer(dst), n)
    }

    /// The largest value of a non-empty run (NaNs are skipped; they propagate through the
    /// exponentials anyway). Eight running maxima so the loop vectorizes.
    @inline(__always)
    static func maximum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        var m0 = p[0], m1 = p[0], m2 = p[0], m3 = p[0], m4 = p[0], m5 = p[0], m6 = p[0], m7 = p[0]
        var i = 0
        while i + 8 <= n {
            m0 = p[i] > m0 ? p[i] : m0; m1 = p[i + 1] > m1 ? p[i + 1] : m1
            m2 = p[i + 2] > m2 ? p[i + 2] : m2; m3 = p[i + 3] > m3 ? p[i + 3] : m3
            m4 = p[i + 4] > m4 ? p[i + 4] : m4; m5 = p[i + 5] > m5 ? p[i + 5] : m5
            m6 = p[i + 6] > m6 ? p[i + 6] : m6; m7 = p[i + 7] > m7 ? p[i + 7] : m7
            i &+= 8
        }
        var m = max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))
        while i < n { if p[i] > m { m = p[i] }; i &+= 1 }
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
