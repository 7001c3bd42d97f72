#if canImport(Glibc)
import Glibc
#endif

/// `--smoothing auto|off|α`.
public enum SmoothingStrength: Equatable, Sendable {
    case off, search, fixed(Double)
}

/// SmoothQuant's per-input-channel scales, with the migration strength chosen per layer by the
/// error it leaves on calibration activations.
///
/// A MatMul Y = X·W (X rows × K, W K × N) is unchanged by Y = (X·diag(1/s))·(diag(s)·W). Dynamic
/// int8 quantizes X with one scale per tensor, so a few outlier channels of X (trained
/// transformers have them: LayerNorm and GELU outputs) spend the 255 levels that every other
/// channel needs. With s_k = max|X_k|^α / max|W_k|^(1−α) the outlier channels shrink and the
/// weight rows absorb them; per-output-channel weight scales cope with that far better.
///
/// α is searched on the layer's own activations (as neural-compressor's "auto" α): for each α,
/// the squared error of the simulated integer product ‖q_a(X/s)·q_w(diag(s)·W) − X·W‖², with
/// q_a the runtime's dynamic uint8 quantization (range [min(x,0), max(x,0)], 255 steps, per
/// sample) and q_w exactly the weight quantizer's codes. "No smoothing" is a candidate too, so a
/// layer is only changed when that lowers its error.
struct SmoothingScales {
    /// Calibration rows of the layer's input: one [rows × K] block per sample.
    var samples: [[Float]]
    let channels: Int
    /// The layers reading this input: weights [K × N_j] (row-major), quantized as `quantize` does.
    var weights: [(values: [Float], columns: Int)]
    /// Quantize-then-dequantize of a weight with the pass's format, layout and codes.
    var roundTrip: (_ values: [Float], _ columns: Int) -> [Float]

    /// The candidates: nil (no smoothing), then α from 0.2 to 0.9.
    static let alphas: [Double?] = [nil] + (2...9).map { Double($0) / 10 }

    struct Choice {
        var alpha: Double?
        /// s per input channel (all 1 for nil).
        var scales: [Float]
        /// Simulated error with the chosen scales and without any, summed over samples and layers.
        var error: Double
        var unsmoothedError: Double
        /// Σ‖X·W‖²: the chosen error relative to it is the layer's remaining int8 noise.
        var signal: Double = 0
        var relativeError: Double { signal > 0 ? error / signal : 0 }
    }

    /// `.search`: the α with the least simulated error among `alphas`; `.fixed`: that α;
    /// `.off`: no smoothing (the choice still carries the layer's error).
    func choose(_ strength: SmoothingStrength = .search) -> Choice {
        let activationMax = columnMax(samples.flatMap { $0 })
        var weightMax = [Float](repeating: 0, count: channels)
        for w in weights { for (k, m) in rowMax(w.values, columns: w.columns).enumerated() { weightMax[k] = max(weightMax[k], m) } }
        let references = samples.map { x in weights.map { product(x, $0.values, $0.columns) } }
        let ones = [Float](repeating: 1, count: channels)
        let unsmoothed = error(scales: ones, references: references)
        var best = Choice(alpha: nil, scales: ones, error: unsmoothed, unsmoothedError: unsmoothed)
        let candidates: [Double]
        switch strength {
        case .off: candidates = []
        case .search: candidates = Self.alphas.compactMap { $0 }
        case .fixed(let a): candidates = [a]
        }
        for a in candidates {
            let s = scales(alpha: a, activationMax: activationMax, weightMax: weightMax)
            let e = error(scales: s, references: references)
            if strength != .search || e < best.error { best = Choice(alpha: a, scales: s, error: e, unsmoothedError: unsmoothed) }
        }
        best.signal = references.joined().reduce(0.0) { acc, y in acc + y.reduce(0.0) { $0 + Double($1) * Double($1) } }
        return best
    }

    /// s_k = max|X_k|^α / max|W_k|^(1−α), 1 for channels that are zero on either side; limited
    /// to [1e-3, 1e3] so no scale leaves float32's comfortable range.
    func scales(alpha: Double, activationMax: [Float], weightMax: [Float]) -> [Float] {
        (0..<channels).map { k in
            let a = Double(activationMax[k]), w = Double(weightMax[k])
            guard a > 1e-8, w > 1e-8 else { return 1 }
            return Float(min(max(pow(a, alpha) / pow(w, 1 - alpha), 1e-3), 1e3))
        }
    }

    /// Σ over samples and layers of ‖q_a(X/s)·q_w(diag(s)·W) − X·W‖².
    func error(scales s: [Float], references: [[[Float]]]) -> Double {
        let quantizedWeights = weights.map { w -> [Float] in
            var scaled = w.values
            for k in 0..<channels { for n in 0..<w.columns { scaled[k * w.columns + n] *= s[k] } }
            return roundTrip(scaled, w.columns)
        }
        var total = 0.0
        for (b, x) in samples.enumerated() {
            var divided = x
            for i in 0..<divided.count { divided[i] /= s[i % channels] }
            let q = Self.dynamicRoundTrip(divided)
            for (j, w) in weights.enumerated() {
                let y = product(q, quantizedWeights[j], w.columns)
                let r = references[b][j]
                var e = 0.0
                for i in 0..<y.count { let d = Double(y[i] - r[i]); e += d * d }
                total += e
            }
        }
        return total
    }

    /// The values DynamicQuantizeLinear → integer product sees: uint8 with the tensor's range
    /// widened to include 0, scale (max − min)/255, zero point rounded and saturated.
    static func dynamicRoundTrip(_ x: [Float]) -> [Float] {
        var lo: Float = 0, hi: Float = 0
        for v in x { lo = min(lo, v); hi = max(hi, v) }
        let scale = (hi - lo) / 255
        guard scale > 0 else { return x }
        let zero = min(max((-lo / scale).rounded(.toNearestOrEven), 0), 255)
        return x.map { v in (min(max((v / scale).rounded(.toNearestOrEven) + zero, 0), 255) - zero) * scale }
    }

    private func product(_ x: [Float], _ w: [Float], _ columns: Int) -> [Float] {
        let rows = x.count / channels
        var y = [Float](repeating: 0, count: rows * columns)
        x.withUnsafeBufferPointer { a in
            w.withUnsafeBufferPointer { b in
                y.withUnsafeMutableBufferPointer { c in
                    BLAS.sgemm(m: rows, n: columns, k: channels, a: a.baseAddress!, lda: channels,
                               b: b.baseAddress!, ldb: columns, c: c.baseAddress!, ldc: columns)
                }
            }
        }
        return y
    }

    private func columnMax(_ x: [Float]) -> [Float] {
        var m = [Float](repeating: 0, count: channels)
        for (i, v) in x.enumerated() where v.isFinite { m[i % channels] = max(m[i % channels], abs(v)) }
        return m
    }

    private func rowMax(_ w: [Float], columns: Int) -> [Float] {
        (0..<channels).map { k in
            var m: Float = 0
            for n in 0..<columns { m = max(m, abs(w[k * columns + n])) }
            return m
        }
    }
}
