/// A dense row-major Float64 matrix: the working type of the linear algebra behind low-rank
/// factorization and least-squares repair (weights are read from Float32, sums over calibration
/// activations are kept in Float64, factors are written back as Float32).
public struct Matrix: Equatable, Sendable {
    public var rows: Int
    public var cols: Int
    public var values: [Double]

    public init(rows: Int, cols: Int, values: [Double]) {
        precondition(values.count == rows * cols, "Matrix: \(values.count) values for \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    public init(zeros rows: Int, _ cols: Int) {
        self.init(rows: rows, cols: cols, values: [Double](repeating: 0, count: rows * cols))
    }

    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(zeros: n, n)
        for i in 0..<n { m.values[i * n + i] = 1 }
        return m
    }

    /// A 2-D float tensor as a matrix.
    public init(_ a: NDArray) {
        precondition(a.rank == 2, "Matrix: a 2-D tensor expected, not \(a.shape)")
        self.init(rows: a.shape[0], cols: a.shape[1], values: a.asFloats.map(Double.init))
    }

    public subscript(i: Int, j: Int) -> Double {
        get { values[i * cols + j] }
        set { values[i * cols + j] = newValue }
    }

    public var transposed: Matrix {
        var t = Matrix(zeros: cols, rows)
        for i in 0..<rows { for j in 0..<cols { t.values[j * rows + i] = values[i * cols + j] } }
        return t
    }

    /// op(self) · op(other) through BLAS (op: the transpose when asked).
    public func multiplied(by other: Matrix, transposingSelf: Bool = false, transposingOther: Bool = false) -> Matrix {
        let m = transposingSelf ? cols : rows, k = transposingSelf ? rows : cols
        let k2 = transposingOther ? other.cols : other.rows, n = transposingOther ? other.rows : other.cols
        precondition(k == k2, "Matrix: \(m)x\(k) times \(k2)x\(n)")
        var out = Matrix(zeros: m, n)
        values.withUnsafeBufferPointer { a in other.values.withUnsafeBufferPointer { b in out.values.withUnsafeMutableBufferPointer { c in
            guard let ap = a.baseAddress, let bp = b.baseAddress, let cp = c.baseAddress else { return }
            BLAS.dgemm(transA: transposingSelf, transB: transposingOther, m: m, n: n, k: k, a: ap, lda: cols, b: bp, ldb: other.cols,
                       c: cp, ldc: n)
        } } }
        return out
    }

    public static func * (a: Matrix, b: Matrix) -> Matrix { a.multiplied(by: b) }

    /// Columns [start, start + count).
    public func columns(_ range: Range<Int>) -> Matrix {
        var out = Matrix(zeros: rows, range.count)
        for i in 0..<rows { for (k, j) in range.enumerated() { out.values[i * range.count + k] = values[i * cols + j] } }
        return out
    }

    /// Rows [start, start + count).
    public func rows(_ range: Range<Int>) -> Matrix {
        Matrix(rows: range.count, cols: cols, values: Array(values[(range.lowerBound * cols)..<(range.upperBound * cols)]))
    }

    /// Frobenius norm.
    public var norm: Double { values.reduce(0) { $0 + $1 * $1 }.squareRoot() }

    public static func - (a: Matrix, b: Matrix) -> Matrix {
        precondition(a.rows == b.rows && a.cols == b.cols)
        return Matrix(rows: a.rows, cols: a.cols, values: zip(a.values, b.values).map { $0 - $1 })
    }

    /// The mean of the diagonal (of a square matrix).
    public var meanDiagonal: Double {
        let n = min(rows, cols)
        return n == 0 ? 0 : (0..<n).reduce(0) { $0 + values[$1 * cols + $1] } / Double(n)
    }

    /// Float32 tensor of this matrix's shape.
    public func ndarray(type: DataType = .float) -> NDArray {
        NDArray(floats: values.map { Float($0) }, shape: [rows, cols], type: type)
    }
}
