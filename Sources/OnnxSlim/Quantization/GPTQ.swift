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
    var groups: Int
    /// Output error tr(ΔᵀHΔ) / tr(WᵀHW) on the undamped H, of GPTQ and of rounding to nearest.
    var error: Double
    var nearestError: Double

    static let rowBlock = 128
    static let clipCandidates: [Double] = [1, 0.95, 0.9, 0.85, 0.8, 0.75]

    init(_ w: Matrix, second h: Matrix, grid: QuantGrid, group: Int, damping: Double, clipSearch: Bool) throws {
        let n = w.rows, m = w.cols
        precondition(h.rows == n && h.cols == n, "GPTQ: input covariance does not match the weight")
        let group = max(1, min(group, n))
        groups = (n + group - 1) / group
        let diagonal = (0..<n).map { h[$0, $0] }
        let u = try Self.upperFactorOfInverse(h, damping: damping)

        var wq = w
        var scales = [Float](repeating: 1, count: groups * m)
        var err = Matrix(zeros: Self.rowBlock, m)
        for start in stride(from: 0, to: n, by: Self.rowBlock) {
            let end = min(n, start + Self.rowBlock)
            for i in start..<end {
                if i % group == 0 {
                    let g = i / group
                    for o in 0..<m {
                        scales[g * m + o] = grid.scale(rows: i..<min(n, i + group), column: o, of: wq,
                                                       weights: diagonal, clipSearch: clipSearch)
                    }
                }
                let g = i / group, d = u[i, i]
                wq.values.withUnsafeMutableBufferPointer { p in err.values.withUnsafeMutableBufferPointer { e in
                    let row = i * m, erow = (i - start) * m
                    for o in 0..<m {
                        let x = p[row + o], q = grid.dequantized(x, scale: scales[g * m + o])
                        p[row + o] = q
                        e[erow + o] = diagonal[i] > 0 ? (x - q) / d : 0
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
        self.values = wq
        self.scales = scales

        // Rounding to nearest with the unshrunk scales, for the report (and as the fallback).
        var nearest = w
        var nearestScales = [Float](repeating: 1, count: groups * m)
        for g in 0..<groups {
            for o in 0..<m {
                nearestScales[g * m + o] = grid.scale(rows: g * group..<min(n, (g + 1) * group), column: o, of: w, weights: diagonal, clipSearch: false)
            }
        }
        for i in 0..<n { for o in 0..<m { nearest[i, o] = grid.dequantized(w[i, o], scale: nearestScales[(i / group) * m + o]) } }
        let total = Self.outputEnergy(w, h)
        error = Self.outputEnergy(w - wq, h) / max(total, .leastNormalMagnitude)
        nearestError = Self.outputEnergy(w - nearest, h) / max(total, .leastNormalMagnitude)
        if nearestError < error {
            // (Never worse than rounding to nearest on the calibration inputs.)
            values = nearest
            self.scales = nearestScales
            error = nearestError
        }
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

    /// tr(ΔᵀHΔ): the output energy of x·Δ for inputs with second moment H.
    static func outputEnergy(_ delta: Matrix, _ h: Matrix) -> Double {
        let hd = h.multiplied(by: delta)
        var sum = 0.0
        for k in 0..<delta.values.count { sum += delta.values[k] * hd.values[k] }
        return sum
    }
}

/// A quantizer's grid in centred codes (q − zero point) and its rule for a group's scale, as
/// `WeightQuantizer` applies them: symmetric 4-bit maps the value of largest magnitude to −8 (the
/// scale carries its sign); other symmetric formats map max|x| to the largest code.
struct QuantGrid {
    var low: Double
    var high: Double
    var signedExtreme: Bool
    var symmetricMax: Double

    /// nil for formats GPTQ does not round (fp8) and asymmetric ranges.
    init?(format: QuantFormat, symmetric: Bool, maxCode: Int?) {
        guard symmetric, format != .fp8, let range = format.range else { return nil }
        let narrow = format == .int8 ? maxCode : nil
        let zero = Double(format.symmetricZeroPoint)
        low = narrow.map { Double(-$0) } ?? Double(range.min) - zero
        high = narrow.map(Double.init) ?? Double(range.max) - zero
        signedExtreme = format.isSubByte
        symmetricMax = narrow.map(Double.init) ?? Double(format.symmetricMax)
    }

    /// The scale of column `column`'s rows `rows` of `w` (Float32, as stored), shrunk by the clip
    /// with the least `weights`-weighted rounding error when `clipSearch`.
    func scale(rows: Range<Int>, column: Int, of w: Matrix, weights: [Double], clipSearch: Bool) -> Float {
        var lo = 0.0, hi = 0.0
        for r in rows { let x = w[r, column]; lo = min(lo, x); hi = max(hi, x) }
        let base: Double
        if signedExtreme {
            let extreme = abs(lo) >= abs(hi) ? lo : hi
            base = extreme != 0 ? Double(Float(extreme) / Float(low)) : 1
        } else {
            let amax = max(abs(lo), abs(hi))
            base = amax > 0 ? Double(Float(amax) / Float(symmetricMax)) : 1
        }
        guard clipSearch, lo != hi else { return Float(base) }
        var best = Float(base), bestError = Double.infinity
        for alpha in GPTQ.clipCandidates {
            let s = Float(base * alpha)
            var e = 0.0
            for r in rows {
                let x = w[r, column], d = x - dequantized(x, scale: s)
                e += max(weights[r], 0) * d * d
            }
            if e < bestError { bestError = e; best = s }
        }
        return best
    }

    /// x rounded to the grid of `scale`: Float32(q)·scale, q = clamp(round(x/scale)), as the
    /// quantizer encodes and DequantizeLinear decodes it.
    @inline(__always)
    func dequantized(_ x: Double, scale: Float) -> Double {
        let q = min(high, max(low, (Double(Float(x) * (1 / scale))).rounded(.toNearestOrEven)))
        return Double(Float(q) * scale)
    }
}
