import COpenBLAS

/// The factorizations low-rank and repair need, on `Matrix` (row-major Float64), through the
/// LAPACK routines Debian's OpenBLAS bundles (its Fortran entry points, found in the library
/// `BLASLibrary` opens, so one copy of OpenBLAS with the kernels chosen there serves both; the
/// separate liblapacke would load a second through liblapack.so.3).
///
/// Fortran is column-major: a row-major buffer is the transpose there. Each wrapper says how it
/// maps. Integers are 32-bit (Debian's build is not INTERFACE64); the trailing `Int`s are the
/// hidden lengths gfortran passes for character arguments.
public enum LAPACK {
    public struct Failure: Error, CustomStringConvertible {
        public var routine: String
        public var info: Int32
        public var description: String { "\(routine) failed (info \(info))" }
    }

    typealias I = UnsafeMutablePointer<Int32>
    typealias D = UnsafeMutablePointer<Double>
    typealias C = UnsafePointer<CChar>
    typealias Dsyevd = @convention(c) (C, C, I, D, I, D, D, I, I, I, I, Int, Int) -> Void
    typealias Dgesdd = @convention(c) (C, I, I, D, I, D, D, I, D, I, D, I, I, I, Int) -> Void
    typealias Dpotrf = @convention(c) (C, I, D, I, I, Int) -> Void
    typealias Dtrsm = @convention(c) (CBLAS_ORDER, CBLAS_SIDE, CBLAS_UPLO, CBLAS_TRANSPOSE, CBLAS_DIAG, blasint, blasint, Double,
                                      UnsafePointer<Double>?, blasint, D?, blasint) -> Void

    static let dsyevdEntry = BLASLibrary.symbol("dsyevd_", as: Dsyevd.self)
    static let dgesdd = BLASLibrary.symbol("dgesdd_", as: Dgesdd.self)
    static let dpotrf = BLASLibrary.symbol("dpotrf_", as: Dpotrf.self)
    static let dtrsm = BLASLibrary.symbol("cblas_dtrsm", as: Dtrsm.self)

    /// A = Q Λ Qᵀ for symmetric A: eigenvalues ascending, Q's columns the eigenvectors (dsyevd).
    /// A symmetric row-major buffer is itself in column-major; the eigenvectors come back as the
    /// columns of a column-major matrix, so the row-major buffer holds Qᵀ.
    public static func symmetricEigen(_ a: Matrix) throws -> (values: [Double], vectors: Matrix) {
        let (values, buffer) = try dsyevd(a, vectors: true)
        return (values, Matrix(rows: a.rows, cols: a.rows, values: buffer).transposed)
    }

    /// The eigenvalues of symmetric A, ascending (without vectors: several times faster).
    public static func symmetricEigenvalues(_ a: Matrix) throws -> [Double] { try dsyevd(a, vectors: false).values }

    /// dsyevd on A's buffer, the workspace sized by a first query: eigenvalues, and the buffer
    /// (the eigenvectors when asked).
    private static func dsyevd(_ a: Matrix, vectors: Bool) throws -> (values: [Double], buffer: [Double]) {
        precondition(a.rows == a.cols)
        var n = Int32(a.rows), lda = n, info: Int32 = 0
        var buffer = a.values
        var w = [Double](repeating: 0, count: a.rows)
        var lwork: Int32 = -1, liwork: Int32 = -1
        var workSize = 0.0, iworkSize: Int32 = 0
        let job = vectors ? "V" : "N"
        dsyevdEntry(job, "U", &n, &buffer, &lda, &w, &workSize, &lwork, &iworkSize, &liwork, &info, 1, 1)
        guard info == 0 else { throw Failure(routine: "dsyevd", info: info) }
        lwork = max(Int32(workSize), 1); liwork = max(iworkSize, 1)
        var work = [Double](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
        dsyevdEntry(job, "U", &n, &buffer, &lda, &w, &work, &lwork, &iwork, &liwork, &info, 1, 1)
        guard info == 0 else { throw Failure(routine: "dsyevd", info: info) }
        return (w, buffer)
    }

    /// Thin SVD A = U Σ Vᵀ (dgesdd, divide and conquer): U m×k, σ descending, Vᵀ k×n, k = min(m, n).
    /// The row-major A is Aᵀ (n×m) to Fortran; Aᵀ = U' Σ V'ᵀ gives A = V'ᵀᵀ Σ U'ᵀ, and the
    /// column-major V'ᵀ (k×m) read row-major is U (m×k), the column-major U' (n×k) is Vᵀ (k×n).
    public static func svd(_ a: Matrix) throws -> (u: Matrix, s: [Double], vt: Matrix) {
        let m = a.rows, n = a.cols, k = min(m, n)
        var fm = Int32(n), fn = Int32(m), lda = Int32(n), ldu = Int32(n), ldvt = Int32(k), info: Int32 = 0
        var buffer = a.values
        var s = [Double](repeating: 0, count: k)
        var uPrime = [Double](repeating: 0, count: n * k), vtPrime = [Double](repeating: 0, count: k * m)
        var iwork = [Int32](repeating: 0, count: 8 * k)
        var lwork: Int32 = -1, workSize = 0.0
        dgesdd("S", &fm, &fn, &buffer, &lda, &s, &uPrime, &ldu, &vtPrime, &ldvt, &workSize, &lwork, &iwork, &info, 1)
        guard info == 0 else { throw Failure(routine: "dgesdd", info: info) }
        lwork = Int32(workSize)
        var work = [Double](repeating: 0, count: Int(lwork))
        dgesdd("S", &fm, &fn, &buffer, &lda, &s, &uPrime, &ldu, &vtPrime, &ldvt, &work, &lwork, &iwork, &info, 1)
        guard info == 0 else { throw Failure(routine: "dgesdd", info: info) }
        return (Matrix(rows: m, cols: k, values: vtPrime), s, Matrix(rows: k, cols: n, values: uPrime))
    }

    /// Lower-triangular L with A = L Lᵀ (dpotrf), or nil when A is not positive definite.
    public static func cholesky(_ a: Matrix) throws -> Matrix? {
        var l = a
        return try factorCholesky(&l) ? l : nil
    }

    /// `cholesky` in place (no second copy of a large covariance): false, and `a` spoilt, when
    /// A is not positive definite. Fortran's upper factor U (A = UᵀU) of the same symmetric
    /// buffer, read row-major, is L.
    public static func factorCholesky(_ a: inout Matrix) throws -> Bool {
        precondition(a.rows == a.cols)
        var n = Int32(a.rows), lda = n, info: Int32 = 0
        a.values.withUnsafeMutableBufferPointer { p in dpotrf("U", &n, p.baseAddress!, &lda, &info, 1) }
        if info > 0 { return false }
        guard info == 0 else { throw Failure(routine: "dpotrf", info: info) }
        // The other triangle still holds A's entries.
        let cols = a.cols
        a.values.withUnsafeMutableBufferPointer { p in
            for i in 0..<cols { for j in (i + 1)..<max(i + 1, cols) { p[i * cols + j] = 0 } }
        }
        return true
    }

    /// L with G + λI = L Lᵀ, in place, for a covariance G: λ starts at `damping`·mean(diag G) and
    /// grows tenfold until G + λI factors (a covariance from fewer samples than its width is only
    /// semi-definite, and rounding can make it indefinite). dpotrf overwrites the lower triangle
    /// and the diagonal only, so a retry restores them from the upper one. Returns λ.
    @discardableResult
    public static func factorDampedCholesky(_ g: inout Matrix, damping: Double) throws -> Double {
        let scale = max(g.meanDiagonal, .leastNormalMagnitude)
        var lambda = damping * scale
        let diagonal = (0..<g.rows).map { g[$0, $0] }
        for attempt in 0..<8 {
            if attempt > 0 { for i in 0..<g.rows { for j in 0..<i { g[i, j] = g[j, i] } } }
            for i in 0..<g.rows { g[i, i] = diagonal[i] + lambda }
            if try factorCholesky(&g) { return lambda }
            lambda = max(lambda * 10, 1e-10 * scale)
        }
        throw OnnxSlimError(.badInput, "the layer's input covariance is not positive definite even when damped")
    }

    /// X with op(T)·X = B (`left`) or X·op(T) = B, for triangular T (dtrsm); op is the transpose
    /// when `transposed`.
    public static func solveTriangular(_ t: Matrix, lower: Bool, transposed: Bool = false, left: Bool = true, _ b: Matrix) -> Matrix {
        precondition(t.rows == t.cols && (left ? b.rows : b.cols) == t.rows)
        var x = b
        t.values.withUnsafeBufferPointer { tp in x.values.withUnsafeMutableBufferPointer { xp in
            dtrsm(CblasRowMajor, left ? CblasLeft : CblasRight, lower ? CblasLower : CblasUpper,
                  transposed ? CblasTrans : CblasNoTrans, CblasNonUnit, blasint(b.rows), blasint(b.cols), 1,
                  tp.baseAddress, blasint(t.cols), xp.baseAddress, blasint(b.cols))
        } }
        return x
    }
}
