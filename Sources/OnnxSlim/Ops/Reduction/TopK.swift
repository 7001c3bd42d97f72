/// TopK: the k largest (or smallest) elements along an axis with their indices; equal values
/// keep the lower index first. K is input 1 from opset 10, attribute `k` before.
enum TopK {
    static let table: [String: Kernel] = ["TopK": kernel]

    static func kernel(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let k: Int
        if call.opset >= 10 {
            let kt = try call.tensor(1)
            guard kt.count == 1, let v = kt.asInts.first else { throw call.failure("K must hold one value") }
            k = v
        } else {
            k = call.int("k", -1)
        }
        guard x.rank > 0 else { throw call.failure("input must have rank ≥ 1") }
        let axis = try Axes.normalize(call.int("axis", -1), rank: x.rank)
        let n = x.shape[axis]
        guard k >= 0 && k <= n else { throw call.failure("K = \(k) is outside 0...\(n)") }
        let largest = call.int("largest", 1) != 0
        let outer = Axes.product(x.shape, 0..<axis), inner = Axes.product(x.shape, (axis + 1)..<x.rank)
        var outShape = x.shape
        outShape[axis] = k
        let values: NDArray, indices: [Int64]
        switch x.storage {
        case .float(let v):
            let r = select(v, outer, n, inner, k, largest)
            values = NDArray(floats: r.values, shape: outShape, type: x.dataType); indices = r.indices
        case .int(let v):
            let r = select(v, outer, n, inner, k, largest)
            values = NDArray(int64s: r.values, shape: outShape, type: x.dataType); indices = r.indices
        default:
            throw call.failure("input of type \(x.dataType) is not supported")
        }
        return [.tensor(values), .tensor(NDArray(int64s: indices, shape: outShape))]
    }

    /// Per slice: indices ordered by value (descending when `largest`), ties by ascending index;
    /// the first k are kept. Small k keeps a bounded heap instead of sorting the whole slice.
    static func select<T: Comparable>(_ v: [T], _ outer: Int, _ n: Int, _ inner: Int, _ k: Int,
                                      _ largest: Bool) -> (values: [T], indices: [Int64]) {
        var outIndices = [Int64](repeating: 0, count: outer * k * inner)
        if k == 0 { return ([], outIndices) }
        var picked = [Int](repeating: 0, count: outer * k * inner)
        var order = [Int](repeating: 0, count: n)
        var slice = [T]()
        slice.reserveCapacity(n)
        let useHeap = k * 8 < n
        v.withUnsafeBufferPointer { p in
            for o in 0..<outer {
                for i in 0..<inner {
                    let base = o * n * inner + i
                    // Rows along the last axis are read in place; other slices are copied out.
                    if inner != 1 {
                        slice.removeAll(keepingCapacity: true)
                        for j in 0..<n { slice.append(p[base + j * inner]) }
                    }
                    let rank = { (s: UnsafeBufferPointer<T>) in
                        if useHeap {
                            if largest { topHeap(s, k, &order) { $0 > $1 } } else { topHeap(s, k, &order) { $0 < $1 } }
                        } else {
                            for j in 0..<n { order[j] = j }
                            if largest {
                                order.sort { s[$0] > s[$1] || (s[$0] == s[$1] && $0 < $1) }
                            } else {
                                order.sort { s[$0] < s[$1] || (s[$0] == s[$1] && $0 < $1) }
                            }
                        }
                    }
                    if inner == 1 {
                        rank(UnsafeBufferPointer(rebasing: p[base..<(base + n)]))
                    } else {
                        slice.withUnsafeBufferPointer(rank)
                    }
                    for j in 0..<k {
                        let dst = (o * k + j) * inner + i
                        outIndices[dst] = Int64(order[j])
                        picked[dst] = base + order[j] * inner
                    }
                }
            }
        }
        let values = v.withUnsafeBufferPointer { p in picked.map { p[$0] } }
        return (values, outIndices)
    }

    /// The k first indices of `s` under `above` (ties: lower index first), in order, into
    /// order[0..<k]: a heap whose root is the last of those kept so far, so most elements cost
    /// one comparison with the root's value.
    @inline(__always)
    static func topHeap<T: Comparable>(_ s: UnsafeBufferPointer<T>, _ k: Int, _ order: inout [Int],
                                       _ above: (T, T) -> Bool) {
        @inline(__always) func before(_ a: Int, _ b: Int) -> Bool { s[a] == s[b] ? a < b : above(s[a], s[b]) }
        var heap = [Int]()
        heap.reserveCapacity(k)
        for j in 0..<k {
            heap.append(j)
            var at = j
            while at > 0 {
                let parent = (at - 1) / 2
                if !before(heap[parent], heap[at]) { break }
                heap.swapAt(parent, at)
                at = parent
            }
        }
        var rootValue = s[heap[0]]
        for j in k..<s.count where above(s[j], rootValue) {
            heap[0] = j
            var at = 0
            while true {
                let l = 2 * at + 1, r = l + 1
                var worst = at
                if l < k && before(heap[worst], heap[l]) { worst = l }
                if r < k && before(heap[worst], heap[r]) { worst = r }
                if worst == at { break }
                heap.swapAt(at, worst)
                at = worst
            }
            rootValue = s[heap[0]]
        }
        heap.sort(by: before)
        for j in 0..<k { order[j] = heap[j] }
    }
}

extension TopK {
    /// Values and int64 indices with the axis cut to K.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let x = try call.input(0), s = try call.shape(0)
        let axis = try ShapeRules.axis(call.int("axis", -1), rank: s.count, call)
        let k: DimExpr
        if call.opset >= 10 { k = try call.requiredDims(1, "K").first ?? call.runtimeDim() } else { k = DimExpr(call.int("k", -1)) }
        var out = s
        out[axis] = k
        call.countElementwise(x, 1)
        return [.tensor(x.elemType, out), .tensor(.int64, out)]
    }

    static let shapeRules: [String: ShapeRule] = ["TopK": inferShape]
}
