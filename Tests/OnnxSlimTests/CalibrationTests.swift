import XCTest
@testable import OnnxSlim

/// Activation-range collection: histograms that grow without growing memory, and the three methods.
final class CalibrationTests: XCTestCase {
    func testHistogramQuantilesAfterRangeGrows() {
        var h = Histogram(bins: 1000)
        // Two batches, the second widening the range: counts must survive the re-binning.
        let a = (0..<5000).map { Float($0) / 5000 }          // [0, 1)
        let b = (0..<5000).map { 1 + Float($0) / 5000 }      // [1, 2)
        a.withUnsafeBufferPointer { h.add($0) }
        b.withUnsafeBufferPointer { h.add($0) }
        XCTAssertEqual(h.total, 10000)
        XCTAssertEqual(h.counts.reduce(0, +), 10000)
        XCTAssertEqual(h.quantile(0.5), 1, accuracy: 0.01)
        XCTAssertEqual(h.quantile(0.25), 0.5, accuracy: 0.01)
        XCTAssertEqual(h.lower, 0)
        XCTAssertEqual(h.upper, 1.9998, accuracy: 1e-3)
    }

    func testMinMaxIsExactAndIncludesZero() {
        let r = ActivationRanges(method: .minmax)
        r.observe("x", NDArray(floats: [1, 2, 3], shape: [3]))
        r.observe("x", NDArray(floats: [5, 0.5], shape: [2]))
        r.observe("ids", NDArray(int64s: [1, 2], shape: [2]))    // not a float: ignored
        let range = r.range("x")
        XCTAssertEqual(range?.lower, 0)   // widened to hold zero
        XCTAssertEqual(range?.upper, 5)
        XCTAssertNil(r.range("ids"))
    }

    func testPercentileTrimsOutliers() {
        let r = ActivationRanges(method: .percentile)
        r.percentile = 99.9
        var rng = SplitMix64(seed: 7)
        var values = (0..<20000).map { _ in rng.normal() }
        values[17] = 400   // one outlier
        r.observe("x", NDArray(floats: values, shape: [values.count]))
        let range = r.range("x")!
        XCTAssertLessThan(range.upper, 5)
        XCTAssertGreaterThan(range.upper, 2.5)
        XCTAssertLessThan(range.lower, -2.5)
        let minmax = ActivationRanges(method: .minmax)
        minmax.observe("x", NDArray(floats: values, shape: [values.count]))
        XCTAssertEqual(minmax.range("x")?.upper, 400)
    }

    func testEntropyClipsTheLongTail() {
        let r = ActivationRanges(method: .entropy)
        var rng = SplitMix64(seed: 3)
        var values = (0..<50000).map { _ in rng.normal() }
        for k in 0..<5 { values[k * 1000] = 60 + Float(k) }
        r.observe("x", NDArray(floats: values, shape: [values.count]))
        let range = r.range("x")!
        XCTAssertGreaterThan(range.upper, 2)      // keeps the bulk of a standard normal
        XCTAssertLessThan(range.upper, 30)        // but not the outliers at 60
        XCTAssertEqual(range.lower, -range.upper, accuracy: 1e-3 * range.upper + 1e-6)
    }
}
