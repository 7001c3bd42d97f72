/// Per-channel first and second moments of activations along one axis, accumulated in Float64
/// over calibration samples in memory proportional to the channel count (not the samples):
/// E[x_i] and E[x_i²] for each index i of the axis, every other axis averaged over.
///
/// Pruning scores units by them (E[x_i²]·‖W_i‖² is the energy channel i adds to the next
/// layer's output) and compensates removed units with E[x_i] (FLAP's bias compensation).
public final class ChannelStatistics {
    public struct Moments {
        public var sum: [Double]
        public var sumSquares: [Double]
        public var count: Int = 0

        public var mean: [Double] { sum.map { $0 / Double(max(count, 1)) } }
        public var meanSquare: [Double] { sumSquares.map { $0 / Double(max(count, 1)) } }
    }

    /// The axis watched per activation name.
    private let watched: [String: Int]
    public private(set) var moments: [String: Moments] = [:]

    public init(watching watched: [String: Int]) { self.watched = watched }

    /// Adds one value (call from `Evaluator.observe`).
    public func observe(_ name: String, _ value: NDArray) {
        guard let axis = watched[name], axis < value.rank, case .float(let v) = value.storage else { return }
        let length = value.shape[axis]
        let inner = value.shape[(axis + 1)...].reduce(1, *), outer = value.shape[..<axis].reduce(1, *)
        var m = moments[name] ?? Moments(sum: [Double](repeating: 0, count: length), sumSquares: [Double](repeating: 0, count: length))
        guard m.sum.count == length else { return }
        v.withUnsafeBufferPointer { p in
            m.sum.withUnsafeMutableBufferPointer { s in m.sumSquares.withUnsafeMutableBufferPointer { q in
                for o in 0..<outer {
                    for i in 0..<length {
                        let base = (o * length + i) * inner
                        var a = 0.0, b = 0.0
                        for k in 0..<inner { let x = Double(p[base + k]); a += x; b += x * x }
                        s[i] += a; q[i] += b
                    }
                }
            } }
        }
        m.count += outer * inner
        moments[name] = m
    }
}
