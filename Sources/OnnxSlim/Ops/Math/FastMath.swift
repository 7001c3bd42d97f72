/// Branch-free float32 exp, tanh, erf and sigmoid that LLVM vectorizes when inlined into a loop
/// (Glibc's calls do not vectorize). Every transformer activation runs through these; each is
/// within a few ulp of the correctly rounded result, far inside the corpus's 1e-3 tolerance.
enum FastMath {
    /// exp(x) = 2^n · e^r with n = round(x / ln 2) and |r| ≤ ln 2 / 2, e^r by its degree-7 Taylor
    /// polynomial. 2^n is built from bits in two halves so n may reach -150 (subnormal results).
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -104), 89)
        // Adding 1.5·2^23 rounds x·log2(e) to an integer held in the low mantissa bits.
        let shifted = xc * 1.442695041 + 12582912
        let n = shifted - 12582912
        let ni = Int32(bitPattern: shifted.bitPattern) &- 0x4B40_0000
        let r = (xc - n * 0.693359375) - n * -2.12194440e-4
        var p: Float = 1.0 / 5040
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let n1 = ni >> 1, n2 = ni &- n1
        let s1 = Float(bitPattern: UInt32(bitPattern: (n1 &+ 127) << 23))
        let s2 = Float(bitPattern: UInt32(bitPattern: (n2 &+ 127) << 23))
        return p * s1 * s2
    }

    /// tanh as an odd rational function (Eigen's and MLAS's coefficients); beyond ±7.9 it is ±1
    /// in float32.
    @inline(__always)
    static func tanh(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -7.90531110763549805), 7.90531110763549805)
        let x2 = xc * xc
        var p: Float = -2.76076847742355e-16
        p = p * x2 + 2.00018790482477e-13
        p = p * x2 - 8.60467152213735e-11
        p = p * x2 + 5.12229709037114e-08
        p = p * x2 + 1.48572235717979e-05
        p = p * x2 + 6.37261928875436e-04
        p = p * x2 + 4.89352455891786e-03
        var q: Float = 1.19825839466702e-06
        q = q * x2 + 1.18534705686654e-04
        q = q * x2 + 2.26843463243900e-03
        q = q * x2 + 4.89352518554385e-03
        let r = xc * p / q
        // Below 0.0004 tanh(x) rounds to x; the quotient is a few ulp off there.
        return Swift.abs(x) < 0.0004 ? x : r
    }

    /// erf: its Taylor series below 0.5; above, 1 − e^(−x²)·Q(1/(1+x)) with Q fitted to
    /// erfc(x)·e^(x²) on [0.5, 3.92] (relative error below 3e-7); 1 beyond.
    @inline(__always)
    static func erf(_ x: Float) -> Float {
        let a = Swift.abs(x)
        let a2 = a * a
        var s: Float = 1.205533298e-04
        s = s * a2 - 8.548327023e-04
        s = s * a2 + 5.223977625e-03
        s = s * a2 - 2.686617065e-02
        s = s * a2 + 1.128379167e-01
        s = s * a2 - 3.761263890e-01
        s = s * a2 + 1.128379167
        let small = a * s
        let ac = Swift.min(a, 3.92)
        let u = 1 / (1 + ac)
        var q: Float = 5.773503969e-01
        q = q * u - 2.112458361
        q = q * u + 2.987691344
        q = q * u - 1.663540924
        q = q * u - 2.366866677e-01
        q = q * u + 3.358258712e-01
        q = q * u + 5.477140006e-01
        q = q * u + 5.662379322e-01
        q = q * u - 9.792307234e-05
        let large = 1 - exp(-ac * ac) * q
        // Selects only (NaN falls through to itself), so the loop stays vectorizable.
        let m = a < 3.92 ? (a < 0.5 ? small : large) : (a >= 3.92 ? 1 : a)
        return Float(signOf: x, magnitudeOf: m)
    }

    /// 1 / (1 + e^−x); exp overflows to ∞ for very negative x, giving 0.
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    // Whole-buffer forms, in place: the kernels call these once per tensor, so the loops
    // vectorize whether or not a closure would have been inlined.

    static func exp(_ p: UnsafeMutableBufferPointer<Float>) { for k in 0..<p.count { p[k] = exp(p[k]) } }
    static func tanh(_ p: UnsafeMutableBufferPointer<Float>) { for k in 0..<p.count { p[k] = tanh(p[k]) } }
    static func erf(_ p: UnsafeMutableBufferPointer<Float>) { for k in 0..<p.count { p[k] = erf(p[k]) } }
    static func sigmoid(_ p: UnsafeMutableBufferPointer<Float>) { for k in 0..<p.count { p[k] = sigmoid(p[k]) } }

    /// x·Φ(x) = x/2 · (1 + erf(x/√2)).
    static func gelu(_ p: UnsafeMutableBufferPointer<Float>) {
        for k in 0..<p.count { let x = p[k]; p[k] = 0.5 * x * (1 + erf(x * 0.70710678118654752)) }
    }

    /// Gelu's tanh approximation: x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³))).
    static func geluTanh(_ p: UnsafeMutableBufferPointer<Float>) {
        for k in 0..<p.count {
            let x = p[k]
            p[k] = 0.5 * x * (1 + tanh(0.79788456080286536 * (x + 0.044715 * x * x * x)))
        }
    }
}
