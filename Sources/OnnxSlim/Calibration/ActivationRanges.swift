#if canImport(Glibc)
import Glibc
#endif

/// Activation ranges collected while the evaluator runs calibration samples, in bounded memory:
/// a running min/max and a fixed-size histogram per observed tensor, whatever the sample count.
public final class ActivationRanges {
    public enum Method: String, Sendable, CaseIterable {
        /// The smallest and largest value seen.
        case minmax
        /// Both tails trimmed: the range holding `percentile`% of the values (default 99.99).
        case percentile
        /// The threshold whose 8-bit quantization loses the least information (KL divergence
        /// between the clipped and the quantized histogram, as TensorRT calibrates).
        case entropy
    }

    public let method: Method
    public var percentile: Double = 99.99
    private var histograms: [String: Histogram] = [:]
    private var extremes: [String: (Float, Float)] = [:]
    private let watched: Set<String>

    /// Observes the tensors named in `watched` (all float tensors when empty).
    public init(method: Method, watched: Set<String> = []) {
        self.method = method
        self.watched = watched
    }

    /// Adds one value of tensor `name` (call from `Evaluator.observe`).
    public func observe(_ name: String, _ value: NDArray) {
        guard watched.isEmpty || watched.contains(name), case .float(let v) = value.storage, !v.isEmpty else { return }
        v.withUnsafeBufferPointer { p in
            var lo = Float.infinity, hi = -Float.infinity
            for x in p where x.isFinite { lo = min(lo, x); hi = max(hi, x) }
            if lo > hi { return }
            let old = extremes[name] ?? (lo, hi)
            extremes[name] = (min(old.0, lo), max(old.1, hi))
            if method != .minmax { histograms[name, default: Histogram()].add(p) }
        }
    }

    /// Names observed so far.
    public var names: [String] { extremes.keys.sorted() }

    /// The calibrated range of `name`, widened to include 0 (so zero is exactly representable).
    public func range(_ name: String) -> (lower: Float, upper: Float)? {
        guard let (lo, hi) = extremes[name] else { return nil }
        var lower = lo, upper = hi
        switch method {
        case .minmax: break
        case .percentile:
            if let h = histograms[name] {
                let tail = (100 - percentile) / 200
                lower = max(lo, h.quantile(tail))
                upper = min(hi, h.quantile(1 - tail))
            }
        case .entropy:
            if let h = histograms[name] {
                let t = Self.entropyThreshold(h)
                lower = max(lo, -t)
                upper = min(hi, t)
            }
        }
        return (min(lower, 0), max(upper, 0))
    }

    /// The symmetric threshold minimising KL(P‖Q), P the |x| histogram clipped at the threshold,
    /// Q it squeezed into 128 levels.
    static func entropyThreshold(_ h: Histogram) -> Float {
        // Fold the histogram onto |x| with 2048 bins.
        let bins = 2048
        let limit = max(abs(h.lower), abs(h.upper))
        guard limit > 0 else { return 0 }
        var folded = [Double](repeating: 0, count: bins)
        for (k, c) in h.counts.enumerated() where c > 0 {
            let centre = abs(h.lower + (Float(k) + 0.5) * h.binWidth)
            folded[min(Int(centre / limit * Float(bins)), bins - 1)] += c
        }
        let levels = 128
        var best = (divergence: Double.infinity, edge: bins)
        var edge = levels
        while edge <= bins {
            // P: the first `edge` bins, the clipped tail added to the last one.
            var p = Array(folded[0..<edge])
            p[edge - 1] += folded[edge...].reduce(0, +)
            // Q: P's first `edge` bins merged into `levels` groups, spread back over their non-empty bins.
            var q = [Double](repeating: 0, count: edge)
            let per = Double(edge) / Double(levels)
            for g in 0..<levels {
                let start = Int(Double(g) * per), stop = g == levels - 1 ? edge : Int(Double(g + 1) * per)
                var sum = 0.0, nonzero = 0
                for j in start..<stop { sum += folded[j]; if folded[j] > 0 { nonzero += 1 } }
                if nonzero > 0 { for j in start..<stop where folded[j] > 0 { q[j] = sum / Double(nonzero) } }
            }
            let ps = p.reduce(0, +), qs = q.reduce(0, +)
            var divergence = 0.0
            if ps > 0 && qs > 0 {
                for j in 0..<edge where p[j] > 0 {
                    let pj = p[j] / ps, qj = q[j] / qs
                    divergence += qj > 0 ? pj * log(pj / qj) : pj * 20   // an empty Q bin: heavy penalty
                }
            }
            if divergence < best.divergence { best = (divergence, edge) }
            edge += 16
        }
        return Float(best.edge) / Float(bins) * limit
    }
}
