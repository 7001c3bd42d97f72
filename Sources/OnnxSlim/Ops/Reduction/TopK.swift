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
    /// the first k are kept. A single pass when k is 1.
    static func select<T: Comparable>(_ v: [T], _ outer: Int, _ n: Int, _ inner: Int, _ k: Int,
                                      _ largest: Bool) -> (values: [T], indices: [Int64]) {
        var outValues: [T] = []
        var outIndices = [Int64](repeating: 0, count: outer * k * inner)
        outValues.reserveCapacity(outer * k * inner)
        if k == 0 { return ([], outIndices) }
        var order = [Int](repeating: 0, count: n)
        var slice = [T]()
        slice.reserveCapacity(n)
        var picked = [Int](repeating: 0, count: outer * k * inner)
        v.withUnsafeBufferPointer { p in
            for o in 0..<outer {
                for i in 0..<inner {
                    let base = o * n * inner + i
                    slice.removeAll(keepingCapacity: true)
                    for j in 0..<n { slice.append(p[base + j * inner]) }
                    if k == 1 {
                        var best = 0
                        for j in 1..<n where largest ? slice[j] > slice[best] : slice[j] < slice[best] { best = j }
                        order[0] = best
                    } else {
                        for j in 0..<n { order[j] = j }
                        slice.withUnsafeBufferPointer { s in
                            if largest {
                                order.sort { s[$0] > s[$1] || (s[$0] == s[$1] && $0 < $1) }
                            } else {
                                order.sort { s[$0] < s[$1] || (s[$0] == s[$1] && $0 < $1) }
                            }
                        }
                    }
                    for j in 0..<k {
                        let dst = (o * k + j) * inner + i
                        outIndices[dst] = Int64(order[j])
                        picked[dst] = base + order[j] * inner
                    }
                }
            }
            for q in picked { outValues.append(p[q]) }
        }
        return (outValues, outIndices)
    }
}
