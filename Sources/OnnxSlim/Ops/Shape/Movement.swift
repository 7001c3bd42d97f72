/// The two copy primitives the movement operators share, for every storage kind:
/// - a strided view copy (Transpose, Slice, Expand, Tile, Split, DepthToSpace): output element at
///   index i reads `base + sum(i[d] * strides[d])`; dims the source reads contiguously are merged
///   first, so a contiguous inner run becomes one block copy instead of per-element reads;
/// - a block gather (Gather, GatherND, Compress): the output is `length`-element runs starting at
///   the given source offsets.
/// Callers check that every offset they describe lies inside the source.
enum Movement {
    /// `shape`/`strides` with size-1 dims dropped and neighbours merged where the outer dim steps
    /// exactly over the inner one (so the copy loop sees as few, as long rows as possible).
    static func simplified(_ shape: [Int], _ strides: [Int]) -> (shape: [Int], strides: [Int]) {
        var s: [Int] = [], st: [Int] = []
        for (d, t) in zip(shape, strides) where d != 1 {
            if let last = st.last, last == t * d {
                s[s.count - 1] *= d
                st[st.count - 1] = t
            } else {
                s.append(d)
                st.append(t)
            }
        }
        return (s, st)
    }

    static func strided<T>(_ src: [T], base: Int, shape: [Int], strides: [Int]) -> [T] {
        let n = shape.reduce(1, *)
        if n == 0 { return [] }
        let (sh, st) = simplified(shape, strides)
        if sh.isEmpty { return [src[base]] }
        let rank = sh.count, inner = sh[rank - 1], innerStride = st[rank - 1]
        return src.withUnsafeBufferPointer { p in
            [T](unsafeUninitializedCapacity: n) { r, count in
                let s = p.baseAddress!, d = r.baseAddress!
                var counter = [Int](repeating: 0, count: rank)
                var off = base, k = 0
                while k < n {
                    if innerStride == 1 {
                        (d + k).initialize(from: s + off, count: inner)
                    } else if innerStride == 0 {
                        (d + k).initialize(repeating: s[off], count: inner)
                    } else {
                        var o = off
                        for j in 0..<inner { (d + k + j).initialize(to: s[o]); o += innerStride }
                    }
                    k += inner
                    var dim = rank - 2
                    while dim >= 0 {
                        counter[dim] += 1
                        off += st[dim]
                        if counter[dim] < sh[dim] { break }
                        off -= st[dim] * counter[dim]
                        counter[dim] = 0
                        dim -= 1
                    }
                }
                count = n
            }
        }
    }

    static func blocks<T>(_ src: [T], offsets: [Int], length: Int) -> [T] {
        let n = offsets.count * length
        if n == 0 { return [] }
        return src.withUnsafeBufferPointer { p in
            [T](unsafeUninitializedCapacity: n) { r, count in
                let s = p.baseAddress!
                var d = r.baseAddress!
                if length == 1 {
                    for o in offsets { d.initialize(to: s[o]); d += 1 }
                } else {
                    for o in offsets { d.initialize(from: s + o, count: length); d += length }
                }
                count = n
            }
        }
    }

    /// Parts joined block by block: for each of `outer` rounds, `chunks[i]` elements of part i.
    static func interleaved<T>(_ parts: [[T]], chunks: [Int], outer: Int) -> [T] {
        let total = chunks.reduce(0, +) * outer
        if total == 0 { return [] }
        return [T](unsafeUninitializedCapacity: total) { r, count in
            var d = r.baseAddress!
            for o in 0..<outer {
                for (part, c) in zip(parts, chunks) where c > 0 {
                    part.withUnsafeBufferPointer { p in d.initialize(from: p.baseAddress! + o * c, count: c) }
                    d += c
                }
            }
            count = total
        }
    }
}

extension NDArray.Storage {
    func strided(base: Int, shape: [Int], strides: [Int]) -> NDArray.Storage {
        switch self {
        case .float(let v): return .float(Movement.strided(v, base: base, shape: shape, strides: strides))
        case .int(let v): return .int(Movement.strided(v, base: base, shape: shape, strides: strides))
        case .bool(let v): return .bool(Movement.strided(v, base: base, shape: shape, strides: strides))
        case .string(let v): return .string(Movement.strided(v, base: base, shape: shape, strides: strides))
        }
    }

    func blocks(_ offsets: [Int], length: Int) -> NDArray.Storage {
        switch self {
        case .float(let v): return .float(Movement.blocks(v, offsets: offsets, length: length))
        case .int(let v): return .int(Movement.blocks(v, offsets: offsets, length: length))
        case .bool(let v): return .bool(Movement.blocks(v, offsets: offsets, length: length))
        case .string(let v): return .string(Movement.blocks(v, offsets: offsets, length: length))
        }
    }

    /// `count` copies of element 0.
    func repeatingFirst(_ count: Int) -> NDArray.Storage {
        switch self {
        case .float(let v): return .float([Float](repeating: v[0], count: count))
        case .int(let v): return .int([Int64](repeating: v[0], count: count))
        case .bool(let v): return .bool([Bool](repeating: v[0], count: count))
        case .string(let v): return .string([String](repeating: v[0], count: count))
        }
    }
}

extension NDArray {
    /// A strided view of this tensor copied out (see `Movement`).
    func strided(base: Int = 0, shape: [Int], strides: [Int]) -> NDArray {
        NDArray(dataType, shape: shape, storage: storage.strided(base: base, shape: shape, strides: strides))
    }

    /// This tensor with its dims permuted: output dim k is input dim `perm[k]`.
    func transposed(_ perm: [Int]) -> NDArray {
        let st = NDArray.strides(shape)
        return strided(shape: perm.map { shape[$0] }, strides: perm.map { st[$0] })
    }

    /// Index `i` of axis `axis` made non-negative and checked against `dim`.
    static func checkedIndex(_ i: Int, _ dim: Int) -> Int? {
        let j = i < 0 ? i + dim : i
        return j >= 0 && j < dim ? j : nil
    }
}
