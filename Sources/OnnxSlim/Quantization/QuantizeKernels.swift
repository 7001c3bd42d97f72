/// The inner loops of quantization, over contiguous buffers. Written without trapping operations
/// (select-style min/max, rounding by the 1.5·2²³ trick, integer results read from the float's
/// bit pattern) so LLVM vectorizes them: about 1 ns per weight for range + codes on one core.
enum QuantizeKernels {
    /// Adding this to a float of magnitude < 2²² rounds it to the nearest integer (ties to even)
    /// and leaves that integer in the low bits of the result's bit pattern.
    static let roundingMagic: Float = 12_582_912

    /// Minimum and maximum of a run (NaNs are ignored).
    @inline(__always)
    static func range(_ x: UnsafePointer<Float>, _ n: Int) -> (Float, Float) {
        var lo = Float.infinity, hi = -Float.infinity
        for k in 0..<n {
            let v = x[k]
            lo = v < lo ? v : lo
            hi = v > hi ? v : hi
        }
        return (lo, hi)
    }

    /// Widens per-element ranges: lo[k] = min(lo[k], x[k]), hi[k] = max(hi[k], x[k]).
    @inline(__always)
    static func widen(_ x: UnsafePointer<Float>, _ n: Int, _ lo: UnsafeMutablePointer<Float>, _ hi: UnsafeMutablePointer<Float>) {
        for k in 0..<n {
            let v = x[k]
            lo[k] = v < lo[k] ? v : lo[k]
            hi[k] = v > hi[k] ? v : hi[k]
        }
    }

    /// Codes for a run under one scale: clamp(round((x − shift) · inverse) + zero, qmin, qmax), as
    /// bytes (`shift`: a float zero point's offset, else 0).
    @inline(__always)
    static func encode(_ x: UnsafePointer<Float>, _ n: Int, inverse: Float, zero: Int32, shift: Float = 0, qmin: Float, qmax: Float,
                       _ out: UnsafeMutablePointer<UInt8>) {
        let lo = qmin - Float(zero), hi = qmax - Float(zero)
        let z = UInt32(bitPattern: zero)
        for k in 0..<n {
            let c = Swift.min(Swift.max((x[k] - shift) * inverse, lo), hi)
            out[k] = UInt8(truncatingIfNeeded: (c + roundingMagic).bitPattern &+ z)
        }
    }

    /// Codes for a run whose elements each have their own scale and zero point.
    @inline(__always)
    static func encode(_ x: UnsafePointer<Float>, _ n: Int, inverse: UnsafePointer<Float>, zero: UnsafePointer<Int32>,
                       shift: UnsafePointer<Float>, qmin: Float, qmax: Float, _ out: UnsafeMutablePointer<UInt8>) {
        for k in 0..<n {
            let zf = Float(zero[k])
            let c = Swift.min(Swift.max((x[k] - shift[k]) * inverse[k], qmin - zf), qmax - zf)
            out[k] = UInt8(truncatingIfNeeded: (c + roundingMagic).bitPattern &+ UInt32(bitPattern: zero[k]))
        }
    }
}

/// A contiguous run of elements and the scale groups it uses: one group for the whole run
/// (`stride` 0) or one group per element starting at `group` (`stride` 1).
struct QuantSegment {
    var start: Int
    var count: Int
    var group: Int
    var stride: Int

    /// The runs a layout divides a tensor of `dims` into, and the number of groups.
    static func segments(dims: [Int], layout: QuantLayout) -> (segments: [QuantSegment], groups: Int) {
        let count = dims.reduce(1, *)
        guard let axis = layout.axis else { return ([QuantSegment(start: 0, count: count, group: 0, stride: 0)], 1) }
        let length = dims[axis]
        let inner = dims[(axis + 1)...].reduce(1, *)
        let outer = dims[..<axis].reduce(1, *)
        var out: [QuantSegment] = []
        if let block = layout.blockSize {
            let blocks = (length + block - 1) / block
            if inner == 1 {
                out.reserveCapacity(outer * blocks)
                for o in 0..<outer {
                    for b in 0..<blocks {
                        out.append(QuantSegment(start: o * length + b * block, count: Swift.min(block, length - b * block),
                                                group: o * blocks + b, stride: 0))
                    }
                }
            } else {
                out.reserveCapacity(outer * length)
                for o in 0..<outer {
                    for a in 0..<length {
                        out.append(QuantSegment(start: (o * length + a) * inner, count: inner,
                                                group: (o * blocks + a / block) * inner, stride: 1))
                    }
                }
            }
            return (out, outer * blocks * inner)
        }
        if inner == 1 {
            for o in 0..<outer { out.append(QuantSegment(start: o * length, count: length, group: 0, stride: 1)) }
        } else {
            out.reserveCapacity(outer * length)
            for o in 0..<outer {
                for a in 0..<length { out.append(QuantSegment(start: (o * length + a) * inner, count: inner, group: a, stride: 0)) }
            }
        }
        return (out, length)
    }
}
