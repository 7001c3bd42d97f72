/// The closed-form refit of one compressed linear layer against the original model's output
/// (layer-wise distillation without gradients, as in Kwon et al.'s mask tuning and OBS-style
/// structured updates):
///
///     Ŵ = argmin ‖X̃·Ŵ − Y‖² + λ‖Ŵ − W‖²  =  (X̃ᵀX̃ + λI)⁻¹ (X̃ᵀY + λW)
///
/// X̃ holds the student's inputs to the layer (one row per token or sample), with a column of
/// ones when the bias is refit with the weight; Y the teacher's output on the same rows; W the
/// layer as compression left it. λ = damping · mean(diag X̃ᵀX̃), chosen on held-out samples: a
/// direction no sample excites (a dead channel) keeps W. Sums are Float64, one sample at a time,
/// so memory is the layer's 2·((k+1)² + (k+1)·n) sums, whatever the number of samples.
///
/// Because Ŵ minimises ‖X̃Ŵ − Y‖² + λ‖Ŵ − W‖², its error is never above W's on these samples;
/// `solve` still measures both and keeps W if rounding ever says otherwise.
struct LeastSquaresRefit {
    /// Rows of Ŵ: the layer's inputs, plus one for the bias.
    let width: Int
    let outputs: Int
    let withBias: Bool
    /// Sums over every other sample, and over the rest: λ is chosen by fitting on one and
    /// measuring on the other, since a layer wider than its calibration rows can match them
    /// exactly and generalise worse than the compressed W.
    private var halves: [Sums]
    private(set) var rows = 0
    private var samples = 0
    /// ‖Y‖² over every sample.
    var energy: Double { halves[0].targetEnergy + halves[1].targetEnergy }

    /// X̃ᵀX̃, X̃ᵀY and ‖Y‖² over some samples.
    struct Sums {
        var gram: Matrix
        var cross: Matrix
        var targetEnergy = 0.0

        static func + (a: Sums, b: Sums) -> Sums {
            var s = a
            for i in 0..<s.gram.values.count { s.gram.values[i] += b.gram.values[i] }
            for i in 0..<s.cross.values.count { s.cross.values[i] += b.cross.values[i] }
            s.targetEnergy += b.targetEnergy
            return s
        }

        /// ‖X̃W − Y‖² / ‖Y‖² = (Σ W∘(GW) − 2 Σ W∘C + ‖Y‖²) / ‖Y‖².
        func relativeError(_ w: Matrix) -> Double {
            let gw = gram * w
            var quadratic = 0.0, linear = 0.0
            for i in 0..<w.values.count {
                quadratic += w.values[i] * gw.values[i]
                linear += w.values[i] * cross.values[i]
            }
            return max(0, quadratic - 2 * linear + targetEnergy) / max(targetEnergy, .leastNormalMagnitude)
        }

        /// argmin ‖X̃Ŵ − Y‖² + λ‖Ŵ − W‖², λ = damping · mean(diag G) (raised if G + λI does not factor).
        func solve(from w: Matrix, damping: Double) throws -> Matrix {
            var l = gram
            let lambda = try LAPACK.factorDampedCholesky(&l, damping: damping)
            var rhs = cross
            for i in 0..<rhs.values.count { rhs.values[i] += lambda * w.values[i] }
            // (L Lᵀ) Ŵ = rhs: L Z = rhs, then Lᵀ Ŵ = Z.
            let z = LAPACK.solveTriangular(l, lower: true, rhs)
            return LAPACK.solveTriangular(l, lower: true, transposed: true, z)
        }
    }

    init(inputs: Int, outputs: Int, withBias: Bool) {
        width = inputs + (withBias ? 1 : 0)
        self.outputs = outputs
        self.withBias = withBias
        let empty = Sums(gram: Matrix(zeros: width, width), cross: Matrix(zeros: width, outputs))
        halves = [empty, empty]
    }

    /// Adds one sample: `x` (rows × inputs, the student's) and `y` (rows × its width, the
    /// teacher's), of which `columns` are this layer's outputs (nil: all, in order).
    mutating func add(x: [Float], y: [Float], rows n: Int, yWidth: Int, columns: [Int]?) {
        let k = width - (withBias ? 1 : 0)
        var xa = [Double](repeating: 1, count: n * width)
        var ya = [Double](repeating: 0, count: n * outputs)
        for r in 0..<n {
            for j in 0..<k { xa[r * width + j] = Double(x[r * k + j]) }
            if let columns {
                for (j, c) in columns.enumerated() { ya[r * outputs + j] = Double(y[r * yWidth + c]) }
            } else {
                for j in 0..<outputs { ya[r * outputs + j] = Double(y[r * yWidth + j]) }
            }
        }
        let h = samples % 2, w = width, o = outputs
        for v in ya { halves[h].targetEnergy += v * v }
        halves[h].gram.values.withUnsafeMutableBufferPointer { g in
            BLAS.dgemm(transA: true, m: w, n: w, k: n, a: xa, lda: w, b: xa, ldb: w, c: g.baseAddress!, ldc: w, beta: 1)
        }
        halves[h].cross.values.withUnsafeMutableBufferPointer { c in
            BLAS.dgemm(transA: true, m: w, n: o, k: n, a: xa, lda: w, b: ya, ldb: o, c: c.baseAddress!, ldc: o, beta: 1)
        }
        rows += n
        samples += 1
    }

    /// Dampings tried, as fractions of the mean diagonal; the smallest is `--repair-damping`.
    static let dampingSteps = [1.0, 10, 100, 1000, 10000]

    /// The refit from `w` (width × outputs, bias last), with the relative errors of `w` and Ŵ on
    /// every sample and the damping chosen. The damping is the one whose fit on even samples
    /// best predicts the odd ones (from `damping` up, tenfold steps); when none beats `w` there,
    /// `w` is kept. With one sample there is nothing to hold out: `damping` is used.
    func solve(from w: Matrix, damping: Double) throws -> (weight: Matrix, before: Double, after: Double, damping: Double?) {
        precondition(w.rows == width && w.cols == outputs)
        let all = halves[0] + halves[1]
        let before = all.relativeError(w)
        var chosen: Double? = samples < 2 ? damping : nil
        if samples >= 2 {
            var best = halves[1].relativeError(w)
            for step in Self.dampingSteps where damping * step < 100 {
                let held = halves[1].relativeError(try halves[0].solve(from: w, damping: damping * step))
                if held < best { best = held; chosen = damping * step }
            }
        }
        guard let chosen else { return (w, before, before, nil) }
        let refit = try all.solve(from: w, damping: chosen)
        let after = all.relativeError(refit)
        return after <= before ? (refit, before, after, chosen) : (w, before, before, nil)
    }
}
