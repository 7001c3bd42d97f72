import XCTest
@testable import OnnxSlim

/// The math of `--low-rank`: whitened SVD factors and the rank allocation across layers.
final class LowRankTests: XCTestCase {
    private func random(_ rows: Int, _ cols: Int, seed: UInt64, scale: Double = 1) -> Matrix {
        var rng = SplitMix64(seed: seed)
        return Matrix(rows: rows, cols: cols, values: (0..<(rows * cols)).map { _ in Double(rng.normal()) * scale })
    }

    /// Inputs with per-feature scales from 1 down to 1e-3, mixed by a random rotation: an
    /// anisotropic input distribution like a trained layer's.
    private func anisotropicInputs(rows: Int, width: Int, seed: UInt64) throws -> Matrix {
        var z = random(rows, width, seed: seed)
        for j in 0..<width {
            let s = pow(1e-3, Double(j) / Double(width - 1))
            for i in 0..<rows { z[i, j] *= s }
        }
        let q = try LAPACK.svd(random(width, width, seed: seed + 1)).u
        return z * q
    }

    private func second(_ x: Matrix) -> Matrix {
        var g = x.multiplied(by: x, transposingSelf: true)
        for i in g.values.indices { g.values[i] /= Double(x.rows) }
        return g
    }

    /// E[x xᵀ] over every row of every observed value, packed and unpacked back symmetric.
    func testGramOfObservedValuesIsTheirSecondMoment() {
        let x = GraphIndex.Key(path: .main, name: "x"), inBranch = GraphIndex.Key(path: GraphPath.main.appending(node: 0, attribute: 0, graph: -1), name: "x")
        let statistics = ActivationStatistics(grams: [x: -1, inBranch: -1])
        let a = random(6, 5, seed: 11), b = random(4, 5, seed: 12)
        statistics.observe("x", NDArray(floats: a.values.map { Float($0) }, shape: [2, 3, 5], type: .float))
        statistics.observe("x", NDArray(floats: b.values.map { Float($0) }, shape: [4, 5], type: .float))
        statistics.observe("y", NDArray(floats: b.values.map { Float($0) }, shape: [4, 5], type: .float))
        // The same name in a subgraph is another value.
        statistics.observe(inBranch.path, "x", NDArray(floats: b.values.map { Float($0) }, shape: [4, 5], type: .float))
        let got = try? XCTUnwrap(statistics.grams[x])
        XCTAssertEqual(got?.rows, 10)
        XCTAssertEqual(statistics.grams[inBranch]?.rows, 4)
        XCTAssertNil(statistics.grams[GraphIndex.Key(path: .main, name: "y")])
        let both = Matrix(rows: 10, cols: 5, values: a.values + b.values)
        let want = second(both)
        XCTAssertLessThan(((got?.second ?? Matrix(zeros: 5, 5)) - want).norm / want.norm, 1e-6)
    }

    func testALowRankWeightIsFactoredExactly() throws {
        let w = random(64, 8, seed: 1) * random(8, 48, seed: 2)
        let x = try anisotropicInputs(rows: 500, width: 64, seed: 3)
        for g in [second(x), nil] {
            let svd = try WhitenedSVD(w, second: g, damping: 1e-6)
            let (a, b) = try svd.factors(rank: 8)
            XCTAssertEqual(a.rows, 64); XCTAssertEqual(a.cols, 8); XCTAssertEqual(b.rows, 8); XCTAssertEqual(b.cols, 48)
            XCTAssertLessThan((a * b - w).norm / w.norm, 1e-9)
            // The spectrum is eigenvalues of MᵀM: zero to ε·σ_max².
            let layer = RankAllocation.Layer(inputs: 64, outputs: 48, spectrum: try svd.spectrum())
            XCTAssertLessThan(layer.loss(rank: 8) / layer.total, 1e-12)
        }
    }

    /// An indefinite covariance (rounding can make a near-singular one so) is damped further until
    /// it factors, from its untouched upper triangle: the result is the whitened SVD of a damped G.
    func testAnIndefiniteCovarianceIsDampedUntilItFactors() throws {
        var g = Matrix(zeros: 3, 3)
        g[0, 0] = 1; g[1, 1] = 1; g[2, 2] = -0.5; g[0, 1] = 0.2; g[1, 0] = 0.2
        let w = random(3, 2, seed: 9)
        let svd = try WhitenedSVD(w, second: g, damping: 0.01)
        let (a, b) = try svd.factors(rank: 2)
        XCTAssertLessThan((a * b - w).norm / w.norm, 1e-9)
        XCTAssertTrue(try svd.spectrum().allSatisfy { $0.isFinite && $0 >= 0 })
    }

    func testFullRankReconstructsTheWeight() throws {
        let w = random(40, 24, seed: 4)
        let g = second(try anisotropicInputs(rows: 300, width: 40, seed: 5))
        let (a, b) = try WhitenedSVD(w, second: g, damping: 1e-6).factors(rank: 24)
        XCTAssertLessThan((a * b - w).norm / w.norm, 1e-9)
    }

    /// On anisotropic inputs the whitened truncation has the smaller output error ‖X(W − Ŵ)‖, and
    /// its predicted loss Σ_{i≥r} σ_i² is the measured one.
    func testWhitenedBeatsPlainSVDOnAnisotropicInputs() throws {
        let w = random(48, 32, seed: 6)
        let x = try anisotropicInputs(rows: 800, width: 48, seed: 7)
        func outputError(_ svd: WhitenedSVD) throws -> Double {
            let (a, b) = try svd.factors(rank: 8)
            return (x * (w - a * b)).norm
        }
        let whitened = try WhitenedSVD(w, second: second(x), damping: 1e-9)
        let plain = try WhitenedSVD(w, second: nil, damping: 0)
        let (ew, ep) = (try outputError(whitened), try outputError(plain))
        XCTAssertLessThan(ew, 0.5 * ep, "whitened \(ew), plain \(ep)")
        let predicted = RankAllocation.Layer(inputs: 48, outputs: 32, spectrum: try whitened.spectrum()).loss(rank: 8) * Double(x.rows)
        XCTAssertEqual(ew * ew, predicted, accuracy: 1e-6 * predicted)
    }

    /// One budget across layers: the layer whose spectrum decays fast takes the whole cut and the
    /// flat one stays dense, a smaller summed loss than the equal-rank split of the same budget.
    func testRanksFollowTheSpectraUnderOneBudget() {
        let steep = RankAllocation.Layer(inputs: 64, outputs: 64, spectrum: (0..<64).map { pow(0.8, Double($0)) })
        let flat = RankAllocation.Layer(inputs: 64, outputs: 64, spectrum: (0..<64).map { 1 - Double($0) / 128 })
        // 75% of 2 x 4096 parameters: rank r costs 128 r.
        let ranks = RankAllocation.underBudget([steep, flat], keep: 0.75, roundTo: 4)
        XCTAssertEqual(ranks, [16, nil])
        func loss(_ l: RankAllocation.Layer, _ r: Int) -> Double { l.spectrum[r...].reduce(0, +) / l.total }
        XCTAssertLessThan(loss(steep, 16), loss(steep, 24) + loss(flat, 24))
        // Every budget: the summed loss is the least of all feasible choices (found by brute force).
        let options = [steep, flat].map { RankAllocation.candidates($0, roundTo: 4) }
        for keep in [0.2, 0.3, 0.4, 0.6, 0.75, 0.9] {
            let picked = RankAllocation.underBudget([steep, flat], keep: keep, roundTo: 4)
            var best = Double.infinity, got = Double.nan
            for a in options[0] { for b in options[1] where Double(a.cost + b.cost) <= keep * 8192 {
                best = min(best, a.loss + b.loss)
                if a.rank == picked[0] && b.rank == picked[1] { got = a.loss + b.loss }
            } }
            XCTAssertEqual(got, best, accuracy: 1e-12, "keep \(keep): \(picked)")
        }
        // Everything kept: nothing is factored; per-layer energy: the steep layer needs few ranks.
        XCTAssertEqual(RankAllocation.underBudget([steep, flat], keep: 1, roundTo: 8), [nil, nil])
        XCTAssertEqual(RankAllocation.byEnergy([steep, flat], energy: 0.95, roundTo: 8), [16, nil])
    }
}
