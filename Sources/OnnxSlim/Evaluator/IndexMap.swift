/// Data movement as index maps: operators that only rearrange elements (Transpose, Gather, Slice,
/// Expand, Tile, …) compute, for each output element, the flat index of the input element it
/// copies; `gathered` applies that to any storage kind.
extension NDArray.Storage {
    /// Element `indices[k]` of this storage at position k.
    public func gathered(_ indices: [Int]) -> NDArray.Storage {
        @inline(__always) func pick<T>(_ v: [T]) -> [T] {
            v.withUnsafeBufferPointer { p in indices.map { p[$0] } }
        }
        switch self {
        case .float(let v): return .float(pick(v))
        case .int(let v): return .int(pick(v))
        case .bool(let v): return .bool(pick(v))
        case .string(let v): return .string(pick(v))
        }
    }

    /// The storages joined end to end (all of the same kind as `self`).
    public static func joined(_ parts: [NDArray.Storage]) -> NDArray.Storage? {
        guard let first = parts.first else { return nil }
        switch first {
        case .float:
            var out: [Float] = []
            for p in parts { guard case .float(let v) = p else { return nil }; out += v }
            return .float(out)
        case .int:
            var out: [Int64] = []
            for p in parts { guard case .int(let v) = p else { return nil }; out += v }
            return .int(out)
        case .bool:
            var out: [Bool] = []
            for p in parts { guard case .bool(let v) = p else { return nil }; out += v }
            return .bool(out)
        case .string:
            var out: [String] = []
            for p in parts { guard case .string(let v) = p else { return nil }; out += v }
            return .string(out)
        }
    }
}

extension NDArray {
    /// A tensor of `shape` whose element k is element `indices[k]` of this one.
    public func gathered(_ indices: [Int], shape: [Int]) -> NDArray {
        NDArray(dataType, shape: shape, storage: storage.gathered(indices))
    }

    /// Flat source indices of a transpose of `shape` by `perm`.
    public static func transposeIndices(_ shape: [Int], perm: [Int]) -> [Int] {
        let st = strides(shape)
        let outShape = perm.map { shape[$0] }
        return Broadcast.sourceIndicesStrided(outShape, perm.map { st[$0] })
    }

    /// This tensor broadcast to `shape`.
    public func expanded(to shape: [Int]) -> NDArray {
        if shape == self.shape { return self }
        return gathered(Broadcast.sourceIndices(self.shape, in: shape), shape: shape)
    }
}

extension Broadcast {
    /// For each index of `out` (row-major), the offset `sum(index[d] * st[d])`.
    public static func sourceIndicesStrided(_ out: [Int], _ st: [Int]) -> [Int] {
        var idx = [Int](repeating: 0, count: out.reduce(1, *))
        forEachOffset(out, st) { k, off in idx[k] = off }
        return idx
    }
}
