/// Cutting and joining tensors along one axis, which Loop, Scan and the sequence operators all do.
/// A tensor is seen as [outer, axis, inner]: a run along the axis is one contiguous block per
/// outer index, so both directions are block copies.
enum AxisBlocks {
    /// Elements `start..<start+length` of `t` along `axis` (the axis kept, with size `length`).
    static func slice(_ t: NDArray, axis: Int, start: Int, length: Int) -> NDArray {
        let dim = t.shape[axis]
        let outer = Axes.product(t.shape, 0..<axis)
        let inner = Axes.product(t.shape, (axis + 1)..<t.rank)
        var shape = t.shape
        shape[axis] = length
        if length == dim { return t }
        func cut<T>(_ v: [T]) -> [T] {
            var out: [T] = []
            out.reserveCapacity(outer * length * inner)
            v.withUnsafeBufferPointer { p in
                for o in 0..<outer {
                    let from = (o * dim + start) * inner
                    out.append(contentsOf: p[from..<(from + length * inner)])
                }
            }
            return out
        }
        let storage: NDArray.Storage
        switch t.storage {
        case .float(let v): storage = .float(cut(v))
        case .int(let v): storage = .int(cut(v))
        case .bool(let v): storage = .bool(cut(v))
        case .string(let v): storage = .string(cut(v))
        }
        return NDArray(t.dataType, shape: shape, storage: storage)
    }

    /// Element `index` of `t` along `axis`, that axis removed.
    static func take(_ t: NDArray, axis: Int, index: Int) -> NDArray {
        var shape = t.shape
        shape.remove(at: axis)
        return slice(t, axis: axis, start: index, length: 1).reshaped(shape)
    }

    /// `parts` joined along `axis`. Returns a reason when they differ in element type, rank or
    /// another dim.
    static func concat(_ parts: [NDArray], axis: Int) -> Result<NDArray, Mismatch> {
        guard let first = parts.first else { return .failure(Mismatch("nothing to join")) }
        guard axis >= 0 && axis < first.rank else {
            return .failure(Mismatch("axis \(axis) is out of range for rank \(first.rank)"))
        }
        var total = 0
        for p in parts {
            guard p.dataType == first.dataType else {
                return .failure(Mismatch("element types \(first.dataType) and \(p.dataType) differ"))
            }
            guard p.rank == first.rank,
                  zip(p.shape, first.shape).enumerated().allSatisfy({ $0.offset == axis || $0.element.0 == $0.element.1 })
            else { return .failure(Mismatch("shapes \(first.shape) and \(p.shape) do not fit along axis \(axis)")) }
            total += p.shape[axis]
        }
        var shape = first.shape
        shape[axis] = total
        let outer = Axes.product(first.shape, 0..<axis)
        let inner = Axes.product(first.shape, (axis + 1)..<first.rank)
        func join<T>(_ arrays: [[T]]) -> [T] {
            if outer == 1 { return Array(arrays.joined()) }
            var out: [T] = []
            out.reserveCapacity(outer * total * inner)
            for o in 0..<outer {
                for (a, p) in zip(arrays, parts) {
                    let run = p.shape[axis] * inner
                    out.append(contentsOf: a[(o * run)..<((o + 1) * run)])
                }
            }
            return out
        }
        let storage: NDArray.Storage
        switch first.storage {
        case .float:
            let a = parts.compactMap(\.floats)
            guard a.count == parts.count else { return .failure(Mismatch("storage kinds differ")) }
            storage = .float(join(a))
        case .int:
            let a = parts.compactMap(\.int64s)
            guard a.count == parts.count else { return .failure(Mismatch("storage kinds differ")) }
            storage = .int(join(a))
        case .bool:
            let a = parts.compactMap(\.bools)
            guard a.count == parts.count else { return .failure(Mismatch("storage kinds differ")) }
            storage = .bool(join(a))
        case .string:
            let a = parts.compactMap(\.strings)
            guard a.count == parts.count else { return .failure(Mismatch("storage kinds differ")) }
            storage = .string(join(a))
        }
        return .success(NDArray(first.dataType, shape: shape, storage: storage))
    }

    /// `parts` (all of one shape) stacked along a new axis `axis` (0...rank of a part).
    static func stack(_ parts: [NDArray], axis: Int) -> Result<NDArray, Mismatch> {
        concat(parts.map { p in
            var shape = p.shape
            shape.insert(1, at: min(max(axis, 0), p.rank))
            return p.reshaped(shape)
        }, axis: axis)
    }

    struct Mismatch: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }
}

/// Shared readings of values and declared types.
enum FlowValues {
    /// The truth of a one-element tensor (a condition).
    static func truth(_ t: NDArray) -> Bool? {
        guard t.count == 1 else { return nil }
        switch t.storage {
        case .bool(let v): return v[0]
        case .float(let v): return v[0] != 0
        case .int(let v): return v[0] != 0
        case .string: return nil
        }
    }

    /// The one integer a scalar or one-element tensor holds.
    static func integer(_ t: NDArray) -> Int? {
        guard t.count == 1, t.kind == .int else { return nil }
        return Int(t.asInt64s[0])
    }

    /// The tensor element type a declared type names (directly, or as a sequence's or optional's element).
    static func elementType(_ type: TypeProto?) -> DataType? {
        switch type?.value {
        case .tensor(let t)?: return t.elemType == .undefined ? nil : t.elemType
        case .sequence(let c)?, .optional(let c)?: return elementType(c.elemType)
        default: return nil
        }
    }

    /// An empty tensor for a declared output: its known dims with `zeroAt` set to 0 (unknown dims
    /// become 0 too, the tensor has no elements anyway).
    static func empty(declared: TypeProto?, extraAxis zeroAt: Int) -> NDArray {
        var dims: [Int] = []
        if case .tensor(let t)? = declared?.value, let shape = t.shape {
            dims = shape.dims.map { if case .value(let v) = $0.value, v > 0 { return Int(v) } else { return 0 } }
        }
        dims.insert(0, at: min(max(zeroAt, 0), dims.count))
        return .zeros(elementType(declared) ?? .float, shape: dims)
    }
}
