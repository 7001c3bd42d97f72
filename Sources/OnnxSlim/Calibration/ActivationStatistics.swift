/// What passes learn about activations on calibration samples, accumulated in Float64 over the
/// samples in memory proportional to the channel counts (not the samples). One collector for
/// pruning importance, low-rank whitening and least-squares repair:
///
/// - moments: E[x_i] and E[x_i²] for each index i of a watched axis, every other axis averaged
///   over (pruning scores units by E[x_i²]·‖W_i‖² and compensates removed ones with E[x_i]);
/// - Gram matrices: E[x xᵀ] over a feature axis (the last for MatMul inputs, the channel axis
///   for convs), every other position (token, pixel) one sample of x: the input covariance a
///   dense layer's whitened SVD and least-squares refit need. Keyed by graph path and name:
///   a layer inside an If branch or Loop body reads a value of that subgraph.
public final class ActivationStatistics {
    public struct Moments {
        public var sum: [Double]
        public var sumSquares: [Double]
        public var count: Int = 0

        public var mean: [Double] { sum.map { $0 / Double(max(count, 1)) } }
        public var meanSquare: [Double] { sumSquares.map { $0 / Double(max(count, 1)) } }
    }

    /// Σ x xᵀ over `rows` rows of width `width`, its upper triangle packed row by row (half the
    /// memory: SmolLM2's 120 layer inputs take 405 MB).
    public struct Gram {
        public var width: Int
        public var packed: [Double]
        public var rows: Int = 0
        /// Σ x (the column sums), for E[x].
        public var sum: [Double]

        init(width: Int) {
            self.width = width
            packed = [Double](repeating: 0, count: width * (width + 1) / 2)
            sum = [Double](repeating: 0, count: width)
        }

        /// E[x] (zero before any row).
        public var mean: [Double] { sum.map { $0 / Double(max(rows, 1)) } }

        /// E[x xᵀ] (zero before any row).
        public var second: Matrix {
            var m = Matrix(zeros: width, width)
            let scale = 1 / Double(max(rows, 1))
            var k = 0
            for i in 0..<width {
                for j in i..<width {
                    let v = packed[k] * scale
                    m.values[i * width + j] = v
                    m.values[j * width + i] = v
                    k += 1
                }
            }
            return m
        }

        /// Bytes a Gram of this width holds.
        public static func bytes(width: Int) -> Int { width * (width + 1) / 2 * 8 }
    }

    /// The axis watched per activation name.
    private let watched: [String: Int]
    /// The feature axis per value whose Gram is collected (negative: from the end).
    private let gramAxes: [GraphIndex.Key: Int]
    public private(set) var moments: [String: Moments] = [:]
    public private(set) var grams: [GraphIndex.Key: Gram] = [:]
    /// One sample's Gram in Float32 (BLAS), reused; and its rows when the axis is not the last.
    private var scratch: [Float] = []
    private var rowsScratch: [Float] = []

    public init(watching watched: [String: Int] = [:], grams: [GraphIndex.Key: Int] = [:]) {
        self.watched = watched
        gramAxes = grams
    }

    /// Adds one value of the main graph (call from `Evaluator.observe`; moments are collected
    /// for main-graph values only).
    public func observe(_ name: String, _ value: NDArray) {
        observe(.main, name, value)
    }

    /// Adds one value of the graph at `path` (call from `Evaluator.observeSubgraphs` too).
    public func observe(_ path: GraphPath, _ name: String, _ value: NDArray) {
        let key = GraphIndex.Key(path: path, name: name)
        if let axis = gramAxes[key] { addGram(key, value, axis: axis < 0 ? axis + value.rank : axis) }
        guard path == .main, let axis = watched[name], axis < value.rank, case .float(let v) = value.storage else { return }
        let length = value.shape[axis]
        let inner = value.shape[(axis + 1)...].reduce(1, *), outer = value.shape[..<axis].reduce(1, *)
        var m = moments.removeValue(forKey: name)
            ?? Moments(sum: [Double](repeating: 0, count: length), sumSquares: [Double](repeating: 0, count: length))
        guard m.sum.count == length else { moments[name] = m; return }
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

    /// XᵀX of one value (rows × width) in Float32 through BLAS (ssyrk: the upper triangle
    /// only), added to the Float64 sum: the products within one sample stay in single precision,
    /// the sum over samples does not.
    private func addGram(_ key: GraphIndex.Key, _ value: NDArray, axis: Int) {
        guard axis >= 0, axis < value.rank, case .float(var v) = value.storage else { return }
        let width = value.shape[axis]
        guard width > 0 else { return }
        let rows = v.count / width
        if axis != value.rank - 1 {
            // Rows (outer, inner) of the [outer, width, inner] layout, gathered contiguous.
            let inner = value.shape[(axis + 1)...].reduce(1, *), outer = value.shape[..<axis].reduce(1, *)
            if rowsScratch.count != v.count { rowsScratch = [Float](repeating: 0, count: v.count) }
            for o in 0..<outer {
                for c in 0..<width {
                    let from = (o * width + c) * inner
                    for p in 0..<inner { rowsScratch[(o * inner + p) * width + c] = v[from + p] }
                }
            }
            v = rowsScratch
        }
        // Taken out while it grows, so the sum is updated in place, not copied.
        var g = grams.removeValue(forKey: key) ?? Gram(width: width)
        guard g.width == width, rows > 0 else { grams[key] = g; return }
        if scratch.count != width * width { scratch = [Float](repeating: 0, count: width * width) }
        v.withUnsafeBufferPointer { x in scratch.withUnsafeMutableBufferPointer { c in
            guard let xp = x.baseAddress, let cp = c.baseAddress else { return }
            BLAS.ssyrkUpper(n: width, k: rows, a: xp, lda: width, c: cp, ldc: width)
        } }
        g.packed.withUnsafeMutableBufferPointer { p in scratch.withUnsafeBufferPointer { c in
            var k = 0
            for i in 0..<width {
                let row = i * width
                for j in i..<width { p[k] += Double(c[row + j]); k += 1 }
            }
        } }
        g.sum.withUnsafeMutableBufferPointer { s in v.withUnsafeBufferPointer { x in
            for r in 0..<rows {
                let row = r * width
                for c in 0..<width { s[c] += Double(x[row + c]) }
            }
        } }
        g.rows += rows
        grams[key] = g
    }
}
