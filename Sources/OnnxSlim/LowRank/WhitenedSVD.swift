/// The best rank-r approximation of a dense layer's weight for the layer's own inputs
/// (SVD-LLM's truncation-aware whitening).
///
/// For y = x·W (W: in×out) the output error of Ŵ on inputs with second moment G = E[x xᵀ] is
/// E‖x(W − Ŵ)‖² = ‖Lᵀ(W − Ŵ)‖²_F with G = L Lᵀ (Cholesky). So with the SVD Lᵀ W = U Σ Vᵀ, the
/// truncation Ŵ = L⁻ᵀ U_r Σ_r V_rᵀ is optimal and loses exactly Σ_{i>r} σ_i²: each singular
/// value squared is the output energy its component carries. Plain SVD is the case G = I (it
/// minimises the weight error, which on trained weights is not the output error).
///
/// G is damped, G + λ·mean(diag G)·I: calibration sees fewer tokens than a wide layer has inputs
/// (MiniLM's 1536-wide FFN output on ~600 tokens), and undamped null directions of G would be
/// amplified by L⁻ᵀ on inputs the calibration never showed.
struct WhitenedSVD {
    private let whitening: Matrix?   // L (lower), nil for plain SVD
    private let whitened: Matrix     // Lᵀ W

    /// `second`: E[x xᵀ] of the layer input (in×in), nil for plain SVD of `w` (in×out).
    init(_ w: Matrix, second: consuming Matrix?, damping: Double) throws {
        var l: Matrix?
        if var g = consume second {
            precondition(g.rows == w.rows && g.cols == w.rows, "WhitenedSVD: input covariance does not match the weight")
            // Factored in place: no copy of a large covariance.
            try LAPACK.factorDampedCholesky(&g, damping: damping)
            l = g
        }
        whitened = l.map { $0.multiplied(by: w, transposingSelf: true) } ?? w
        whitening = l
    }

    /// σ_i², descending: the output energy per row of each component. From the eigenvalues of
    /// the smaller of MᵀM and MMᵀ (M = LᵀW), several times faster than the SVD, which `factors`
    /// runs only for the layers that are factored.
    func spectrum() throws -> [Double] {
        let m = whitened
        let gram = m.rows >= m.cols ? m.multiplied(by: m, transposingSelf: true) : m.multiplied(by: m, transposingOther: true)
        return try LAPACK.symmetricEigenvalues(gram).reversed().map { max($0, 0) }
    }

    /// W ≈ A·B with A (in×r) = L⁻ᵀ U_r √Σ_r and B (r×out) = √Σ_r V_rᵀ from the SVD of LᵀW: the
    /// singular values split evenly, so both factors have comparable ranges for quantization.
    func factors(rank r: Int) throws -> (a: Matrix, b: Matrix) {
        let (u, s, vt) = try LAPACK.svd(whitened)
        let r = min(r, s.count)
        var ur = u.columns(0..<r), br = vt.rows(0..<r)
        for j in 0..<r {
            let root = s[j].squareRoot()
            for i in 0..<ur.rows { ur[i, j] *= root }
            for k in 0..<br.cols { br[j, k] *= root }
        }
        let a = whitening.map { LAPACK.solveTriangular($0, lower: true, transposed: true, ur) } ?? ur
        return (a, br)
    }
}
