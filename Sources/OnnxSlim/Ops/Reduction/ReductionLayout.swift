/// How a reduction walks memory. Adjacent dims that are all reduced (or all kept) merge, so most
/// reductions are `outer × reduced × inner` blocks of contiguous memory; when the reduced axes are
/// not one run, the input is first permuted so they come last (`inner == 1`).
struct ReductionLayout {
    var outer: Int
    var reduced: Int
    var inner: Int
    /// Source indices that bring the reduced axes last; nil when the input is read as it is.
    var permutation: [Int]?
    var outShape: [Int]

    /// `axes` are normalized (0..<rank); duplicates are ignored.
    init(shape: [Int], axes: [Int], keepDims: Bool) {
        var isReduced = [Bool](repeating: false, count: shape.count)
        for a in axes { isReduced[a] = true }
        outShape = []
        for (d, n) in shape.enumerated() {
            if !isReduced[d] { outShape.append(n) } else if keepDims { outShape.append(1) }
        }
        // Runs of equally flagged dims; dims of size 1 never change the layout.
        var runs: [(reduced: Bool, size: Int)] = []
        for (d, n) in shape.enumerated() where n != 1 {
            if let last = runs.last, last.reduced == isReduced[d] { runs[runs.count - 1].size *= n }
            else { runs.append((isReduced[d], n)) }
        }
        let reducedRuns = runs.indices.filter { runs[$0].reduced }
        permutation = nil
        switch reducedRuns.count {
        case 0:
            outer = runs.reduce(1) { $0 * $1.size }; reduced = 1; inner = 1
        case 1:
            let g = reducedRuns[0]
            outer = runs[..<g].reduce(1) { $0 * $1.size }
            reduced = runs[g].size
            inner = runs[(g + 1)...].reduce(1) { $0 * $1.size }
        default:
            let kept = shape.indices.filter { !isReduced[$0] }, gone = shape.indices.filter { isReduced[$0] }
            outer = kept.reduce(1) { $0 * shape[$1] }
            reduced = gone.reduce(1) { $0 * shape[$1] }
            inner = 1
            permutation = NDArray.transposeIndices(shape, perm: kept + gone)
        }
    }

    var outCount: Int { outer * inner }

    /// The input values in the order this layout reads them.
    func arranged<T>(_ v: [T]) -> [T] {
        guard let p = permutation else { return v }
        return v.withUnsafeBufferPointer { src in p.map { src[$0] } }
    }
}

/// The shared reduction loop: every output is `combine`d from `initial` and `map(x)` of its
/// reduced elements. Rows along the last axis use eight independent accumulators (so float sums
/// vectorize and lose less precision); other layouts accumulate whole inner rows at a time.
enum ReduceEngine {
    @inline(__always)
    static func run<T>(_ values: [T], _ layout: ReductionLayout, initial: T,
                       map: (T) -> T, combine: (T, T) -> T) -> [T] {
        let outer = layout.outer, r = layout.reduced, inner = layout.inner
        let n = outer * inner
        let x = layout.arranged(values)
        if r == 0 || n == 0 { return [T](repeating: initial, count: n) }
        return x.withUnsafeBufferPointer { xb in
            let xp = xb.baseAddress!
            if inner == 1 {
                return [T](unsafeUninitializedCapacity: n) { out, count in
                    for o in 0..<outer {
                        let row = xp + o * r
                        var a0 = initial, a1 = initial, a2 = initial, a3 = initial
                        var a4 = initial, a5 = initial, a6 = initial, a7 = initial
                        var j = 0
                        while j + 8 <= r {
                            a0 = combine(a0, map(row[j])); a1 = combine(a1, map(row[j + 1]))
                            a2 = combine(a2, map(row[j + 2])); a3 = combine(a3, map(row[j + 3]))
                            a4 = combine(a4, map(row[j + 4])); a5 = combine(a5, map(row[j + 5]))
                            a6 = combine(a6, map(row[j + 6])); a7 = combine(a7, map(row[j + 7]))
                            j += 8
                        }
                        var acc = combine(combine(combine(a0, a1), combine(a2, a3)), combine(combine(a4, a5), combine(a6, a7)))
                        while j < r { acc = combine(acc, map(row[j])); j += 1 }
                        (out.baseAddress! + o).initialize(to: acc)
                    }
                    count = n
                }
            }
            var result = [T](repeating: initial, count: n)
            result.withUnsafeMutableBufferPointer { ob in
                let op = ob.baseAddress!
                for o in 0..<outer {
                    let dst = op + o * inner
                    for j in 0..<r {
                        let src = xp + (o * r + j) * inner
                        for i in 0..<inner { dst[i] = combine(dst[i], map(src[i])) }
                    }
                }
            }
            return result
        }
    }
}
