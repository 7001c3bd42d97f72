/// GPTQ (Frantar et al., 2022): a dense layer's weight rounded to the quantization grid one input
/// row at a time, each row's rounding error compensated on the rows not yet rounded, so the
/// layer's output on calibration inputs moves least.
///
/// For y = x·W (W: in×out) and inputs with second moment H = E[x xᵀ], the output error of Ŵ is
/// tr((W − Ŵ)ᵀ H (W − Ŵ)). Rounding row i to q_i and correcting the rows j > i optimally (the
/// OBS update restricted to the unrounded rows) gives δw_j = −U_ij·e_i with e_i = (w_i − q_i)/U_ii,
/// where U is the upper Cholesky factor of H⁻¹ (H⁻¹ = UᵀU): one factorization stands for the
/// inverses of every shrinking H. Rows go in blocks of 128, the update of later blocks applied
/// as one matrix product (the paper's lazy batch).
///
/// Scales: one per group of `group` rows and output column, chosen when the group's first row is
/// reached, from the weights as updated so far, by the quantizer's own rule (`QuantGrid`); with
/// `clipSearch`, shrunk by the α in 1, 0.95 … 0.75 with the least H_ii-weighted rounding error
/// of the group (the clipping search of AWQ/HQQ-style methods). An input never active in
/// calibration (H_ii = 0) is rounded to nearest without compensation (GPTQ zeroes such weights;
/// we keep them for inputs the calibration did not show).
struct GPTQ {
    /// Dequantized Ŵ (in×out): every value q·s on its group's grid, in Float32 arithmetic.
    var values: Matrix
    /// Scales [group][out], group-major.
    var scales: [Float]
    /// Float zero points' offsets, like `scales`; nil on grids without them.
    var offsets: [Float]?
    var groups: Int
    /// Output error tr(ΔᵀHΔ) / tr(WᵀHW) on the undamped H, of GPTQ and of rounding to nearest.
    var error: Double
    var nearestError: Double

    static let rowBlock = 128
    static let clipCandidates: [Double] = [1, 0.95, 0.9, 0.85, 0.8, 0.75]

    /// `activationOrder`: rows in decreasing H_ii (the paper's act-order: the inputs carrying most
    /// energy are rounded first, while the most rows remain to absorb their error), with every
    /// group's scale chosen from W beforehand (static groups: the blocks stay contiguous, as
    /// DequantizeLinear's block_size needs).
    init(_ w: Matrix, second h: Matrix, grid: QuantGrid, group: Int, damping: Double, clipSearch: Bool,
         activationOrder: Bool = false) throws {
        let n = w.rows, m = w.cols
        precondition(h.rows == n && h.cols == n, "GPTQ: input covariance does not match the weight")
        let group = max(1, min(group, n))
        groups = (n + group - 1) / group
        let diagonal = (0..<n).map { h[$0, $0] }
        // Position i of the rounding order is row order[i] of W.
        let order = activationOrder ? (0..<n).sorted { diagonal[$0] > diagonal[$1] || (diagonal[$0] == diagonal[$1] && $0 < $1) }
                                    : Array(0..<n)
        let u = try Self.upperFactorOfInverse(activationOrder ? Self.permuted(h, order) : h, damping: damping)

        var wq = activationOrder ? Self.permutedRows(w, order) : w
        var steps = [GridStep](repeating: GridStep(scale: 1), count: groups * m)
        if activationOrder {
            for g in 0..<groups {
                for o in 0..<m {
                    steps[g * m + o] = grid.step(rows: g * group..<min(n, (g + 1) * group), column: o, of: w,
                                                 weights: diagonal, clipSearch: clipSearch)
                }
            }
        }
        var err = Matrix(zeros: Self.rowBlock, m)
        for start in stride(from: 0, to: n, by: Self.rowBlock) {
            let end = min(n, start + Self.rowBlock)
            for i in start..<end {
                if !activationOrder && i % group == 0 {
                    let g = i / group
                    for o in 0..<m {
                        steps[g * m + o] = grid.step(rows: i..<min(n, i + group), column: o, of: wq,
                                                     weights: diagonal, clipSearch: clipSearch)
                    }
                }
                let row = order[i], g = row / group, d = u[i, i], live = diagonal[row] > 0
                wq.values.withUnsafeMutableBufferPointer { p in err.values.withUnsafeMutableBufferPointer { e in
                    let at = i * m, erow = (i - start) * m
                    for o in 0..<m {
                        let x = p[at + o], q = grid.dequantized(x, steps[g * m + o])
                        p[at + o] = q
                        e[erow + o] = live ? (x - q) / d : 0
                    }
                    // Compensate the later rows of this block now, the rest after it.
                    for j in (i + 1)..<max(i + 1, end) {
                        let c = u[i, j]
                        if c == 0 { continue }
                        for o in 0..<m { p[j * m + o] -= c * e[erow + o] }
                    }
                } }
            }
            if end < n {
                // W[end..., :] -= U[start..<end, end...]ᵀ · E
                wq.values.withUnsafeMutableBufferPointer { p in u.values.withUnsafeBufferPointer { up in err.values.withUnsafeBufferPointer { e in
                    BLAS.dgemm(transA: true, m: n - end, n: m, k: end - start, a: up.baseAddress! + start * n + end, lda: n,
                               b: e.baseAddress!, ldb: m, c: p.baseAddress! + end * m, ldc: m, alpha: -1, beta: 1)
                } } }
            }
        }
        if activationOrder {
            var back = wq
            for (i, row) in order.enumerated() {
                for o in 0..<m { back.values[row * m + o] = wq.values[i * m + o] }
            }
            wq = back
        }
        // Rounding to nearest with the unshrunk scales, for the report and as the fallback.
        let nearest = Self.nearestSteps(w, grid: grid, group: group, groups: groups, weights: diagonal)
        let total = Self.outputEnergy(w, h) { _, _, x in x }
        error = Self.outputEnergy(w, h) { i, o, x in x - wq[i, o] } / max(total, .leastNormalMagnitude)
        nearestError = Self.outputEnergy(w, h) { i, o, x in x - grid.dequantized(x, nearest[(i / group) * m + o]) }
            / max(total, .leastNormalMagnitude)
        if nearestError < error {
            // (Never worse than rounding to nearest on the calibration inputs.)
            for i in 0..<n { for o in 0..<m { wq[i, o] = grid.dequantized(w[i, o], nearest[(i / group) * m + o]) } }
            steps = nearest
            error = nearestError
        }
        values = wq
        scales = steps.map(\.scale)
        offsets = grid.floatZeroPoint ? steps.map(\.offset) : nil
    }

    static func nearestSteps(_ w: Matrix, grid: QuantGrid, group: Int, groups: Int, weights: [Double]) -> [GridStep] {
        var steps = [GridStep](repeating: GridStep(scale: 1), count: groups * w.cols)
        for g in 0..<groups {
            for o in 0..<w.cols {
                steps[g * w.cols + o] = grid.step(rows: g * group..<min(w.rows, (g + 1) * group), column: o, of: w,
                                                  weights: weights, clipSearch: false)
            }
        }
        return steps
    }

    /// P H Pᵀ for the row order `order`.
    static func permuted(_ h: Matrix, _ order: [Int]) -> Matrix {
        var out = h
        for (i, r) in order.enumerated() { for (j, c) in order.enumerated() { out.values[i * h.cols + j] = h.values[r * h.cols + c] } }
        return out
    }

    static func permutedRows(_ w: Matrix, _ order: [Int]) -> Matrix {
        var out = w
        for (i, r) in order.enumerated() { for o in 0..<w.cols { out.values[i * w.cols + o] = w.values[r * w.cols + o] } }
        return out
    }

    /// U upper triangular with (H + λI)⁻¹ = UᵀU, H's dead diagonal entries set to 1 first.
    static func upperFactorOfInverse(_ h: Matrix, damping: Double) throws -> Matrix {
        var g = h
        for i in 0..<g.rows where g[i, i] <= 0 {
            for j in 0..<g.rows { g[i, j] = 0; g[j, i] = 0 }
            g[i, i] = 1
        }
        try LAPACK.factorDampedCholesky(&g, damping: damping)
        // (L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹; its lower Cholesky factor, transposed, is U.
        let lInverse = LAPACK.solveTriangular(g, lower: true, .identity(g.rows))
        var inverse = lInverse.multiplied(by: lInverse, transposingSelf: true)
        guard try LAPACK.factorCholesky(&inverse) else {
            throw OnnxSlimError(.badInput, "GPTQ: the inverse input covariance is not positive definite")
        }
        return inverse.transposed
    }

    /// tr(ΔᵀHΔ), the output energy of x·Δ for inputs with second moment H, with Δ_io =
    /// `delta(i, o, w_io)` built a band of columns at a time (a vocabulary-wide LM head would
    /// otherwise take two more copies of itself).
    static func outputEnergy(_ w: Matrix, _ h: Matrix, _ delta: (Int, Int, Double) -> Double) -> Double {
        let n = w.rows, m = w.cols, band = 512
        var sum = 0.0
        for start in stride(from: 0, to: m, by: band) {
            let width = min(band, m - start)
            var d = Matrix(zeros: n, width)
            for i in 0..<n { for o in 0..<width { d[i, o] = delta(i, start + o, w[i, start + o]) } }
            let hd = h.multiplied(by: d)
            for k in 0..<d.values.count { sum += d.values[k] * hd.values[k] }
        }
        return sum
    }
}

/// One group's grid: codes q in the grid's range, values q · scale + offset (offset 0 unless the
/// grid has float zero points).
struct GridStep: Equatable {
    var scale: Float
    var offset: Float = 0
}

/// A quantizer's grid in centred codes (q − zero point) and its rule for a group's step, as
/// `WeightQuantizer` applies them: symmetric 4-bit maps the value of largest magnitude to −8 (the
/// scale carries its sign); other symmetric formats map max|x| to the largest code; float zero
/// points map the group's minimum to −8 and its maximum to 7 (`FloatZeroPoint`).
struct QuantGrid {
    var low: Double
    var high: Double
    var signedExtreme: Bool
    var symmetricMax: Double
    var floatZeroPoint = false

    /// nil for formats GPTQ does not round (fp8) and asymmetric integer ranges.
    init?(format: QuantFormat, symmetric: Bool, maxCode: Int?, floatZeroPoints: Bool = false) {
        guard symmetric || floatZeroPoints, format != .fp8, let range = format.range else { return nil }
        let narrow = format == .int8 ? maxCode : nil
        let zero = Double(format.symmetricZeroPoint)
        low = narrow.map { Double(-$0) } ?? Double(range.min) - zero
        high = narrow.map(Double.init) ?? Double(range.max) - zero
        signedExtreme = format.isSubByte
        symmetricMax = narrow.map(Double.init) ?? Double(format.symmetricMax)
        floatZeroPoint = floatZeroPoints && format == .int4
        if floatZeroPoints && !floatZeroPoint { return nil }
    }

    /// The step of column `column`'s rows `rows` of `w` (in×out), the clipping search weighting
    /// row r by `weights[r]`.
    func step(rows: Range<Int>, column: Int, of w: Matrix, weights: [Double], clipSearch: Bool) -> GridStep {
        w.values.withUnsafeBufferPointer { p in weights.withUnsafeBufferPointer { h in
            step(p.baseAddress! + rows.lowerBound * w.cols + column, count: rows.count, stride: w.cols,
                 weights: h.baseAddress! + rows.lowerBound, clipSearch: clipSearch)
        } }
    }

    /// The step of `count` values at `x` (`stride` apart) by the quantizer's rule, as Float32
    /// computes it; with `clipSearch`, the range shrunk by the α with the least rounding error
    /// weighted by `weights` (one per value, contiguous; nil: uniform). Symmetric grids shrink
    /// toward 0, float zero points toward the range's middle.
    func step(_ x: UnsafePointer<Double>, count: Int, stride: Int, weights: UnsafePointer<Double>?, clipSearch: Bool) -> GridStep {
        var lo = floatZeroPoint ? Double.infinity : 0, hi = floatZeroPoint ? -Double.infinity : 0
        for k in 0..<count { let v = x[k * stride]; lo = min(lo, v); hi = max(hi, v) }
        func candidate(_ alpha: Double) -> GridStep {
            if floatZeroPoint {
                let middle = (lo + hi) / 2, half = (hi - lo) / 2 * alpha
                let (s, o) = FloatZeroPoint.step(low: Float(middle - half), high: Float(middle + half))
                return GridStep(scale: s, offset: o)
            }
            let base: Double
            if signedExtreme {
                let extreme = abs(lo) >= abs(hi) ? lo : hi
                base = extreme != 0 ? Double(Float(extreme) / Float(low)) : 1
            } else {
                let amax = max(abs(lo), abs(hi))
                base = amax > 0 ? Double(Float(amax) / Float(symmetricMax)) : 1
            }
            return GridStep(scale: Float(base * alpha))
        }
        guard clipSearch, lo < hi else { return candidate(1) }
        var best = candidate(1), bestError = Double.infinity
        for alpha in GPTQ.clipCandidates {
            let step = candidate(alpha)
            var e = 0.0
            for k in 0..<count {
                let v = x[k * stride], d = v - dequantized(v, step)
                e += (weights.map { max($0[k], 0) } ?? 1) * d * d
            }
            if e < bestError { bestError = e; best = step }
        }
        return best
    }

    /// Rows of `rowLength` values rounded in place, blocks of `block` along each row, each block's
    /// scale with the clipping search (uniform weights): an embedding table, whose values are
    /// read as they are. Returns the scales (row-major [rows, blocks]) and the relative weight
    /// error rounded to nearest and as rounded. (Symmetric grids: lookups have no float zero points.)
    func roundRows(_ values: inout [Float], rowLength: Int, block: Int, clipSearch: Bool) -> (scales: [Float], nearest: Double, error: Double) {
        precondition(!floatZeroPoint, "QuantGrid.roundRows: embedding tables round on symmetric grids")
        let blocks = (rowLength + block - 1) / block, rows = values.count / max(rowLength, 1)
        var scales = [Float](repeating: 1, count: rows * blocks)
        var scratch = [Double](repeating: 0, count: block)
        var total = 0.0, nearest = 0.0, error = 0.0
        values.withUnsafeMutableBufferPointer { v in scratch.withUnsafeMutableBufferPointer { x in
            for r in 0..<rows {
                for b in 0..<blocks {
                    let start = r * rowLength + b * block, n = min(block, rowLength - b * block)
                    for k in 0..<n { x[k] = Double(v[start + k]) }
                    let plain = step(x.baseAddress!, count: n, stride: 1, weights: nil, clipSearch: false)
                    let s = clipSearch ? step(x.baseAddress!, count: n, stride: 1, weights: nil, clipSearch: true) : plain
                    scales[r * blocks + b] = s.scale
                    for k in 0..<n {
                        let q = dequantized(x[k], s), d0 = x[k] - dequantized(x[k], plain)
                        total += x[k] * x[k]
                        nearest += d0 * d0
                        error += (x[k] - q) * (x[k] - q)
                        v[start + k] = Float(q)
                    }
                }
            }
        } }
        let t = max(total, .leastNormalMagnitude)
        return (scales, nearest / t, error / t)
    }

    /// x rounded to the grid of `step`: Float32(q)·scale + offset, q = clamp(round((x − offset)/scale)),
    /// as the quantizer encodes and DequantizeLinear (plus the offset term) decodes it.
    @inline(__always)
    func dequantized(_ x: Double, _ step: GridStep) -> Double {
        let q = min(high, max(low, (Double((Float(x) - step.offset) * (1 / step.scale))).rounded(.toNearestOrEven)))
        return Double(Float(q) * step.scale + step.offset)
    }
}
