import COpenBLAS

/// Matrix products through OpenBLAS (row-major). Every dense product in the evaluator (MatMul,
/// Gemm, Conv via im2col, the integer products) goes through here.
public enum BLAS {
    /// C = alpha · op(A) · op(B) + beta · C, with op(A) m×k and op(B) k×n.
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        BLASLibrary.functions.sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// y = alpha · op(A) · x + beta · y, with A m×n (row-major, leading dimension lda).
    public static func sgemv(transA: Bool, m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             x: UnsafePointer<Float>, incx: Int = 1, beta: Float = 0,
                             y: UnsafeMutablePointer<Float>, incy: Int = 1) {
        BLASLibrary.functions.sgemv(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, blasint(m), blasint(n),
                                    alpha, a, blasint(lda), x, blasint(incx), beta, y, blasint(incy))
    }

    /// The upper triangle of C = Aᵀ·A for A k×n (row-major, leading dimension lda): C n×n.
    public static func ssyrkUpper(n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        BLASLibrary.ssyrk(CblasRowMajor, CblasUpper, CblasTrans, blasint(n), blasint(k), 1, a, blasint(lda), 0, c, blasint(ldc))
    }

    /// Sets how many threads BLAS calls may use.
    public static func setThreads(_ n: Int) { BLASLibrary.functions.setThreads(Int32(max(1, n))) }

    /// The kernel family OpenBLAS runs with (see `BLASLibrary`).
    public static var coreName: String { BLASLibrary.coreName }

    /// Double-precision C = α·op(A)·op(B) + β·C, for integer matrix products that must be exact
    /// (sums beyond 2^24) and the linear algebra of `Matrix`.
    public static func dgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                             c: UnsafeMutablePointer<Double>, ldc: Int, alpha: Double = 1, beta: Double = 0) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
            return
        }
        BLASLibrary.functions.dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }
}
