/// Operators whose output size depends on the values: Compress, NonZero, Unique.
enum SelectionOps {
    /// Compress: the slices along `axis` (or elements of the flattened input) whose condition is true.
    static func compress(_ call: KernelCall) throws -> [Value] {
        var x = try call.tensor(0)
        let condition = try call.tensor(1).asInt64s
        let axis: Int
        if let a = call.attribute("axis") {
            axis = try Axes.normalize(Int(a.i), rank: x.rank)
        } else {
            x = x.reshaped([x.count])
            axis = 0
        }
        let dim = x.shape[axis]
        var picks: [Int] = []
        for (k, c) in condition.enumerated() where c != 0 {
            guard k < dim else { throw call.failure("condition selects index \(k) of a dim of \(dim)") }
            picks.append(k)
        }
        let outer = Axes.product(x.shape, 0..<axis), inner = Axes.product(x.shape, axis + 1..<x.rank)
        var offsets: [Int] = []
        offsets.reserveCapacity(outer * picks.count)
        for o in 0..<outer { for p in picks { offsets.append((o * dim + p) * inner) } }
        var shape = x.shape
        shape[axis] = picks.count
        return [.tensor(NDArray(x.dataType, shape: shape, storage: x.storage.blocks(offsets, length: inner)))]
    }

    /// NonZero: the coordinates of the nonzero elements, one column per element, row-major order.
    static func nonZero(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let flags: [Bool]
        switch x.storage {
        case .float(let v): flags = v.map { $0 != 0 }
        case .int(let v): flags = v.map { $0 != 0 }
        case .bool(let v): flags = v
        case .string(let v): flags = v.map { !$0.isEmpty }
        }
        let shape = x.rank == 0 ? [1] : x.shape
        let st = NDArray.strides(shape)
        let hits = flags.indices.filter { flags[$0] }
        var out = [Int64](repeating: 0, count: shape.count * hits.count)
        for (c, flat) in hits.enumerated() {
            for d in 0..<shape.count { out[d * hits.count + c] = Int64((flat / st[d]) % shape[d]) }
        }
        return [.tensor(NDArray(int64s: out, shape: [shape.count, hits.count]))]
    }

    /// Unique: distinct elements (or slices along `axis`), sorted or in order of first occurrence,
    /// with their first indices, each input's position in the output, and their counts.
    static func unique(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let sorted = call.int("sorted", 1) != 0
        // Rows to compare: slices along the axis moved to the front, or single elements.
        let axis: Int? = try call.attribute("axis").map { try Axes.normalize(Int($0.i), rank: x.rank) }
        var perm = Array(0..<x.rank)
        let rows: NDArray
        if let axis {
            perm.remove(at: axis)
            perm.insert(axis, at: 0)
            rows = x.transposed(perm)
        } else {
            rows = x.reshaped([x.count])
        }
        let n = axis.map { x.shape[$0] } ?? x.count
        let rowLength = n == 0 ? 0 : rows.count / n
        let compare: (Int, Int) -> Int
        switch rows.storage {
        case .float(let v): compare = rowOrder(v, rowLength) { a, b in
            a.isNaN ? (b.isNaN ? 0 : 1) : b.isNaN ? -1 : a < b ? -1 : a > b ? 1 : 0
        }
        case .int(let v) where x.dataType == .uint64: compare = rowOrder(v, rowLength) { a, b in
            let (p, q) = (UInt64(bitPattern: a), UInt64(bitPattern: b)); return p < q ? -1 : p > q ? 1 : 0
        }
        case .int(let v): compare = rowOrder(v, rowLength) { a, b in a < b ? -1 : a > b ? 1 : 0 }
        case .bool(let v): compare = rowOrder(v, rowLength) { a, b in a == b ? 0 : b ? -1 : 1 }
        case .string(let v): compare = rowOrder(v, rowLength) { a, b in
            a.unicodeScalars.elementsEqual(b.unicodeScalars) ? 0
                : a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) ? -1 : 1
        }
        }
        // Stable sort, so each group of equal rows starts with its first occurrence.
        let order = (0..<n).sorted { a, b in
            let c = compare(a, b)
            return c != 0 ? c < 0 : a < b
        }
        var groups: [[Int]] = []
        for i in order {
            if let g = groups.last, compare(g[0], i) == 0 { groups[groups.count - 1].append(i) } else { groups.append([i]) }
        }
        if !sorted { groups.sort { $0[0] < $1[0] } }
        var inverse = [Int64](repeating: 0, count: n)
        for (g, members) in groups.enumerated() { for i in members { inverse[i] = Int64(g) } }
        let firsts = groups.map { $0[0] }

        var yShape = rows.shape
        if !yShape.isEmpty { yShape[0] = firsts.count }
        var y = NDArray(x.dataType, shape: yShape, storage: rows.storage.blocks(firsts.map { $0 * rowLength }, length: rowLength))
        if axis != nil {
            var back = [Int](repeating: 0, count: perm.count)
            for (k, p) in perm.enumerated() { back[p] = k }
            y = y.transposed(back)
        }
        let m = [firsts.count]
        return [.tensor(y),
                .tensor(NDArray(int64s: firsts.map { Int64($0) }, shape: m)),
                .tensor(NDArray(int64s: inverse, shape: [n])),
                .tensor(NDArray(int64s: groups.map { Int64($0.count) }, shape: m))]
    }

    /// Lexicographic three-way order of rows `a` and `b` (each `length` elements of `v`).
    private static func rowOrder<T>(_ v: [T], _ length: Int, _ cmp: @escaping (T, T) -> Int) -> (Int, Int) -> Int {
        return { a, b in
            for j in 0..<length {
                let c = cmp(v[a * length + j], v[b * length + j])
                if c != 0 { return c }
            }
            return 0
        }
    }
}

extension SelectionOps {
    /// How many elements pass is known only when the model runs.
    static func inferCompress(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0), type = try call.type(0)
        guard let a = call.attribute("axis") else { return [.tensor(type, [call.runtimeDim()])] }
        let axis = try ShapeRules.axis(Int(a.i), rank: s.count, call)
        var shape = s
        shape[axis] = call.runtimeDim()
        return [.tensor(type, shape)]
    }

    static func inferNonZero(_ call: ShapeCall) throws -> [InferredValue] {
        [.tensor(.int64, [DimExpr(try call.shape(0).count), call.runtimeDim()])]
    }

    /// Y, indices, inverse indices, counts: only the inverse has a size known before running.
    static func inferUnique(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0), type = try call.type(0)
        let unique = call.runtimeDim()
        var y: [DimExpr] = [unique], inverse: [DimExpr] = [s.reduce(DimExpr(1), *)]
        if let a = call.attribute("axis") {
            let axis = try ShapeRules.axis(Int(a.i), rank: s.count, call)
            y = s
            y[axis] = unique
            inverse = [s[axis]]
        }
        return [.tensor(type, y), .tensor(.int64, [unique]), .tensor(.int64, inverse), .tensor(.int64, [unique])]
    }
}
