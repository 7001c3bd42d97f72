/// A fixed-size histogram whose range grows to cover every value seen: memory stays constant
/// however many samples pass through (a few KiB per observed tensor).
public struct Histogram: Sendable {
    public private(set) var counts: [Double]
    public private(set) var lower: Float
    public private(set) var upper: Float
    public private(set) var total: Double = 0

    public init(bins: Int = 2048) {
        counts = [Double](repeating: 0, count: bins)
        lower = 0
        upper = 0
    }

    public var binWidth: Float { (upper - lower) / Float(counts.count) }

    /// Adds `values` (non-finite values are skipped).
    public mutating func add(_ values: UnsafeBufferPointer<Float>) {
        var lo = Float.infinity, hi = -Float.infinity
        for v in values where v.isFinite { lo = min(lo, v); hi = max(hi, v) }
        guard lo <= hi else { return }
        if total == 0 {
            lower = lo; upper = hi > lo ? hi : lo + 1e-6
        } else if lo < lower || hi > upper {
            rebin(lower: min(lo, lower), upper: max(hi, upper))
        }
        let bins = counts.count
        let scale = Float(bins) / (upper - lower)
        let base = lower
        counts.withUnsafeMutableBufferPointer { c in
            for v in values where v.isFinite {
                let k = Int((v - base) * scale)
                c[min(max(k, 0), bins - 1)] += 1
            }
        }
        total += Double(values.count)
    }

    /// Moves the counts onto a wider range with the same number of bins (each old bin's count
    /// lands in the new bin holding its centre).
    mutating func rebin(lower newLower: Float, upper newUpper: Float) {
        let bins = counts.count
        var moved = [Double](repeating: 0, count: bins)
        let oldWidth = binWidth, scale = Float(bins) / (newUpper - newLower)
        for (k, c) in counts.enumerated() where c > 0 {
            let centre = lower + (Float(k) + 0.5) * oldWidth
            moved[min(max(Int((centre - newLower) * scale), 0), bins - 1)] += c
        }
        counts = moved
        lower = newLower
        upper = newUpper
    }

    /// The value below which `fraction` of the counted values lie (linear within a bin).
    public func quantile(_ fraction: Double) -> Float {
        guard total > 0 else { return 0 }
        let target = fraction * total
        var seen = 0.0
        for (k, c) in counts.enumerated() {
            if seen + c >= target {
                let within = c > 0 ? Float((target - seen) / c) : 0
                return lower + (Float(k) + within) * binWidth
            }
            seen += c
        }
        return upper
    }
}
