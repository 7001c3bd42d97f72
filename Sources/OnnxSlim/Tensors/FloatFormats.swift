/// Conversions between float32 and the narrow float formats ONNX stores: float16, bfloat16 and
/// float8 E4M3FN. Round to nearest even; E4M3FN saturates to ±448 (it has no infinities).
public enum FloatFormats {
    @inline(__always)
    public static func bfloat16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x40 }
        let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    @inline(__always)
    public static func float(bfloat16 bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    @inline(__always)
    public static func float16Bits(_ x: Float) -> UInt16 { Float16(x).bitPattern }

    @inline(__always)
    public static func float(float16 bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

    /// The largest finite float8 E4M3FN value.
    public static let e4m3fnMax: Float = 448

    /// float32 → float8 E4M3FN (1 sign, 4 exponent bits with bias 7, 3 mantissa bits), saturating.
    public static func e4m3fnBits(_ x: Float) -> UInt8 {
        if x.isNaN { return 0x7F }
        let sign: UInt8 = x.sign == .minus ? 0x80 : 0
        let a = min(abs(x), e4m3fnMax)
        if a == 0 { return sign }
        // Smallest normal is 2^-6; subnormals step by 2^-9.
        if a < 0x1p-6 {
            let m = (a / 0x1p-9).rounded(.toNearestOrEven)
            return sign | UInt8(m)   // m == 8 rolls into the smallest normal (0x08), which is right
        }
        var e = Int(a.exponent)                       // a = 1.f × 2^e
        var m = ((a / Float(sign: .plus, exponent: e, significand: 1)) - 1) * 8
        m = m.rounded(.toNearestOrEven)
        if m == 8 { m = 0; e += 1 }
        let biased = e + 7
        if biased > 15 || (biased == 15 && m > 6) { return sign | 0x7E }   // saturate to 448
        return sign | UInt8(biased << 3) | UInt8(m)
    }

    /// float8 E4M3FN → float32.
    public static func float(e4m3fn bits: UInt8) -> Float {
        let sign: Float = bits & 0x80 != 0 ? -1 : 1
        let e = Int((bits >> 3) & 0x0F)
        let m = Float(bits & 0x07)
        if e == 15 && bits & 0x07 == 7 { return .nan }
        if e == 0 { return sign * m * 0x1p-9 }
        return sign * (1 + m / 8) * Float(sign: .plus, exponent: e - 7, significand: 1)
    }
}
