import XCTest
@testable import OnnxSlim

/// LAPACK through `LAPACK` on random and ill-conditioned matrices: each factorization
/// reconstructs its input, its factors have the structure promised, and two independent routines
/// agree where the math says they must (a symmetric positive definite matrix's singular values
/// are its eigenvalues).
final class LinearAlgebraTests: XCTestCase {
    private func random(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix {
        var rng = SplitMix64(seed: seed)
        return Matrix(rows: rows, cols: cols, values: (0..<(rows * cols)).map { _ in Double(rng.normal()) })
    }

    private func hilbert(_ n: Int) -> Matrix {
        var h = Matrix(zeros: n, n)
        for i in 0..<n { for j in 0..<n { h[i, j] = 1 / Double(i + j + 1) } }
        return h
    }

    private func diagonal(_ s: [Double]) -> Matrix {
        var d = Matrix(zeros: s.count, s.count)
        for (i, v) in s.enumerated() { d[i, i] = v }
        return d
    }

    private func assertOrthonormalColumns(_ q: Matrix, accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
        let gram = q.multiplied(by: q, transposingSelf: true)
        XCTAssertLessThan((gram - .identity(q.cols)).norm, accuracy, file: file, line: line)
    }

    func testSVDReconstructsWideTallAndSquare() throws {
        for (m, n) in [(37, 23), (23, 37), (16, 16)] {
            let a = random(m, n, seed: UInt64(m * 100 + n))
            let (u, s, vt) = try LAPACK.svd(a)
            XCTAssertEqual(u.rows, m); XCTAssertEqual(u.cols, min(m, n)); XCTAssertEqual(vt.rows, min(m, n)); XCTAssertEqual(vt.cols, n)
            XCTAssertEqual(s, s.sorted(by: >))
            XCTAssertLessThan((u * diagonal(s) * vt - a).norm / a.norm, 1e-13)
            assertOrthonormalColumns(u, accuracy: 1e-12)
            assertOrthonormalColumns(vt.transposed, accuracy: 1e-12)
        }
    }

    /// A rank-5 product: five singular values, the rest zero to rounding.
    func testSVDFindsTheRankOfALowRankMatrix() throws {
        let a = random(40, 5, seed: 1) * random(5, 30, seed: 2)
        let s = try LAPACK.svd(a).s
        XCTAssertGreaterThan(s[4], 1e-3 * s[0])
        XCTAssertLessThan(s[5], 1e-12 * s[0])
    }

    /// Hilbert 12 (condition number ~1.7e16): the SVD and the symmetric eigensolver agree on
    /// its spectrum to double rounding relative to the largest value.
    func testIllConditionedSpectrumAgreesAcrossRoutines() throws {
        let h = hilbert(12)
        let s = try LAPACK.svd(h).s
        let (values, vectors) = try LAPACK.symmetricEigen(h)
        XCTAssertEqual(values, values.sorted())
        for (a, b) in zip(s, values.reversed()) { XCTAssertEqual(a, b, accuracy: 1e-14 * s[0]) }
        XCTAssertLessThan(s[11] / s[0], 1e-15)
        assertOrthonormalColumns(vectors, accuracy: 1e-12)
        XCTAssertLessThan((vectors * diagonal(values) * vectors.transposed - h).norm / h.norm, 1e-13)
    }

    func testCholeskyOfPositiveDefiniteAndRefusalOfIndefinite() throws {
        let b = random(30, 12, seed: 3)
        let a = b.multiplied(by: b, transposingSelf: true)   // 12x12, positive definite
        let l = try XCTUnwrap(try LAPACK.cholesky(a))
        for i in 0..<12 { for j in (i + 1)..<12 { XCTAssertEqual(l[i, j], 0) } }
        XCTAssertLessThan((l.multiplied(by: l, transposingOther: true) - a).norm / a.norm, 1e-14)
        var indefinite = a
        indefinite[5, 5] = -1
        XCTAssertNil(try LAPACK.cholesky(indefinite))
    }

    func testTriangularSolvesEveryForm() throws {
        let b = random(20, 8, seed: 4)
        let l = try XCTUnwrap(try LAPACK.cholesky(b.multiplied(by: b, transposingSelf: true)))   // 8x8 lower
        let rhs = random(8, 5, seed: 5), rhsRight = random(5, 8, seed: 6)
        let x1 = LAPACK.solveTriangular(l, lower: true, rhs)
        XCTAssertLessThan((l * x1 - rhs).norm / rhs.norm, 1e-12)
        let x2 = LAPACK.solveTriangular(l, lower: true, transposed: true, rhs)
        XCTAssertLessThan((l.transposed * x2 - rhs).norm / rhs.norm, 1e-12)
        let x3 = LAPACK.solveTriangular(l, lower: true, left: false, rhsRight)
        XCTAssertLessThan((x3 * l - rhsRight).norm / rhsRight.norm, 1e-12)
    }
}
