import Glibc

/// DFT and STFT. Signals are real ([…, 1]) or complex ([…, 2]) along their last dim; transforms
/// are direct O(L²) sums over a table of twiddle factors, in Double.
enum Fourier {
    static let table: [String: Kernel] = ["DFT": dft, "STFT": stft]

    /// Transforms of length `length` of complex signals handed in one at a time.
    struct Transform {
        let length: Int
        let cosines: [Double], sines: [Double]

        init(length: Int) {
            self.length = length
            cosines = (0..<length).map { cos(2 * Double.pi * Double($0) / Double(length)) }
            sines = (0..<length).map { sin(2 * Double.pi * Double($0) / Double(length)) }
        }

        /// The first `bins` coefficients Σ x[t]·e^(∓2πi·k·t/L) of `re`/`im` (length L, zero-padded).
        func apply(_ re: [Double], _ im: [Double], bins: Int, inverse: Bool,
                   into outRe: inout [Double], _ outIm: inout [Double]) {
            let sign: Double = inverse ? 1 : -1
            for k in 0..<bins {
                var sr = 0.0, si = 0.0
                var phase = 0
                for t in 0..<length {
                    let c = cosines[phase], s = sign * sines[phase]
                    sr += re[t] * c - im[t] * s
                    si += re[t] * s + im[t] * c
                    phase += k
                    if phase >= length { phase -= length }
                }
                outRe[k] = sr
                outIm[k] = si
            }
        }
    }

    static func dft(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        guard let v = x.floats else { throw call.failure("input must be floating, not \(x.dataType)") }
        guard x.rank >= 2, let parts = x.shape.last, parts == 1 || parts == 2 else {
            throw call.failure("input shape \(x.shape) must end in 1 (real) or 2 (complex)")
        }
        let axisValue = call.opset >= 20 ? (try call.optionalTensor(2)?.asInts.first ?? -2) : call.int("axis", 1)
        let axis = try Axes.normalize(axisValue, rank: x.rank)
        guard axis < x.rank - 1 else { throw call.failure("axis \(axisValue) is the complex dim") }
        let inverse = call.int("inverse", 0) != 0, onesided = call.int("onesided", 0) != 0
        let n = x.shape[axis]
        var length = inverse && onesided ? 2 * (n - 1) : n
        if let l = try call.optionalTensor(1)?.asInts.first { length = l }
        guard length > 0 else { throw call.failure("dft_length must be positive") }
        let outer = Axes.product(x.shape, 0..<axis), inner = Axes.product(x.shape, (axis + 1)..<(x.rank - 1))
        let bins = !inverse && onesided ? length / 2 + 1 : length
        let outParts = inverse && onesided ? 1 : 2
        let transform = Transform(length: length)
        var out = [Float](repeating: 0, count: outer * bins * inner * outParts)
        var re = [Double](repeating: 0, count: length), im = re, outRe = re, outIm = re
        for o in 0..<outer {
            for i in 0..<inner {
                for t in 0..<length { re[t] = 0; im[t] = 0 }
                if inverse && onesided {
                    // One-sided spectrum: the rest follows by Hermitian symmetry.
                    let given = Swift.min(n, length / 2 + 1)
                    for t in 0..<given {
                        let p = ((o * n + t) * inner + i) * parts
                        re[t] = Double(v[p]); im[t] = parts == 2 ? Double(v[p + 1]) : 0
                    }
                    for t in given..<length where length - t < given { re[t] = re[length - t]; im[t] = -im[length - t] }
                } else {
                    for t in 0..<Swift.min(n, length) {
                        let p = ((o * n + t) * inner + i) * parts
                        re[t] = Double(v[p]); im[t] = parts == 2 ? Double(v[p + 1]) : 0
                    }
                }
                transform.apply(re, im, bins: bins, inverse: inverse, into: &outRe, &outIm)
                let scale = inverse ? 1 / Double(length) : 1
                for k in 0..<bins {
                    let q = ((o * bins + k) * inner + i) * outParts
                    out[q] = Float(outRe[k] * scale)
                    if outParts == 2 { out[q + 1] = Float(outIm[k] * scale) }
                }
            }
        }
        var shape = x.shape
        shape[axis] = bins
        shape[x.rank - 1] = outParts
        return [.tensor(NDArray(floats: out, shape: shape, type: x.dataType))]
    }

    /// STFT of [batch, length, 1|2] signals: windowed frames every `frame_step` samples, each
    /// transformed with length `frame_length`; output [batch, frames, bins, 2].
    static func stft(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        guard let v = x.floats else { throw call.failure("signal must be floating, not \(x.dataType)") }
        guard x.rank == 3, x.shape[2] == 1 || x.shape[2] == 2 else {
            throw call.failure("signal shape \(x.shape) is not [batch, length, 1|2]")
        }
        let batch = x.shape[0], total = x.shape[1], parts = x.shape[2]
        guard let step = try call.tensor(1).asInts.first, step > 0 else { throw call.failure("frame_step must be positive") }
        let window = try call.optionalTensor(2)?.asFloats
        let frameLength = try call.optionalTensor(3)?.asInts.first ?? window?.count ?? total
        guard frameLength > 0 && frameLength <= total else { throw call.failure("frame_length \(frameLength) does not fit the signal") }
        let weights = window.map { $0.map(Double.init) } ?? [Double](repeating: 1, count: frameLength)
        let frames = 1 + (total - frameLength) / step
        let onesided = call.int("onesided", 1) != 0
        let bins = onesided ? frameLength / 2 + 1 : frameLength
        let transform = Transform(length: frameLength)
        var out = [Float](repeating: 0, count: batch * frames * bins * 2)
        var re = [Double](repeating: 0, count: frameLength), im = re, outRe = re, outIm = re
        for b in 0..<batch {
            for f in 0..<frames {
                for t in 0..<frameLength { re[t] = 0; im[t] = 0 }
                for t in 0..<Swift.min(weights.count, frameLength) where f * step + t < total {
                    let p = (b * total + f * step + t) * parts
                    re[t] = Double(v[p]) * weights[t]
                    im[t] = parts == 2 ? Double(v[p + 1]) * weights[t] : 0
                }
                transform.apply(re, im, bins: bins, inverse: false, into: &outRe, &outIm)
                for k in 0..<bins {
                    let q = ((b * frames + f) * bins + k) * 2
                    out[q] = Float(outRe[k]); out[q + 1] = Float(outIm[k])
                }
            }
        }
        return [.tensor(NDArray(floats: out, shape: [batch, frames, bins, 2], type: x.dataType))]
    }
}

extension Fourier {
    /// DFT: the transformed axis holds dft_length values (half plus one when onesided); the last
    /// dim holds real and imaginary parts. STFT: [batch, frames, bins, 2].
    static let shapeRules: [String: ShapeRule] = [
        "DFT": { call in
            let s = try call.shape(0)
            guard s.count >= 2 else { throw call.gap("needs a trailing complex dim") }
            let axisValue: Int
            if call.opset >= 20 {
                axisValue = call.has(2) ? try call.optionalInts(2, "axis")?.first ?? { throw call.gap("axis is empty") }() : -2
            } else {
                axisValue = call.int("axis", 1)
            }
            let axis = try ShapeRules.axis(axisValue, rank: s.count, call)
            let inverse = call.int("inverse", 0) != 0, onesided = call.int("onesided", 0) != 0
            var length = inverse && onesided ? (s[axis] - 1) * 2 : s[axis]
            if call.has(1) { length = try call.requiredDims(1, "dft_length").first ?? length }
            var out = s
            out[axis] = !inverse && onesided ? length.floorDiv(2) + 1 : length
            out[s.count - 1] = inverse && onesided ? 1 : 2
            return [.tensor(try call.type(0), out)]
        },
        "STFT": { call in
            let s = try call.shape(0)
            guard s.count == 3 else { throw call.gap("the signal must be [batch, length, 1 or 2]") }
            guard let step = call.constantInts(1)?.first, step > 0 else { throw call.gap("frame_step is computed at run time") }
            var frameLength: DimExpr
            if call.has(3) { frameLength = try call.requiredDims(3, "frame_length").first ?? s[1] }
            else if call.has(2) { frameLength = try call.shape(2).first ?? s[1] }
            else { frameLength = s[1] }
            let frames = (s[1] - frameLength).floorDiv(step) + 1
            let bins = call.int("onesided", 1) != 0 ? frameLength.floorDiv(2) + 1 : frameLength
            return [.tensor(try call.type(0), [s[0], frames, bins, 2])]
        },
    ]
}
