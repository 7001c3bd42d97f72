/// Gather with axis 0 on a constant 2-D table is an embedding lookup: rows are read one by one,
/// so each row gets its own scale(s) and only the gathered rows need dequantizing.
enum GatherOp: OperatorKnowledge {
    static let opType = "Gather"

    static func weightUse(_ node: Node, weightRank: Int) -> WeightUse? {
        guard weightRank == 2, node.intAttribute("axis", default: 0) == 0 else { return nil }
        return WeightUse(input: 0, channelAxis: 0, reductionAxis: 1, kind: .lookup)
    }
}

/// Gather evaluation: rows of `inner` elements picked along `axis`, copied as blocks (an embedding
/// lookup on axis 0 copies whole contiguous rows). GatherElements and GatherND live here too.
extension GatherOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let data = try call.tensor(0), indices = try call.tensor(1)
        let axis = try Axes.normalize(call.int("axis", 0), rank: data.rank)
        let dim = data.shape[axis]
        let outer = Axes.product(data.shape, 0..<axis), inner = Axes.product(data.shape, axis + 1..<data.rank)
        let picks = try checked(indices, dim: dim, call)
        var offsets = [Int]()
        offsets.reserveCapacity(outer * picks.count)
        for o in 0..<outer {
            for i in picks { offsets.append((o * dim + i) * inner) }
        }
        let shape = Array(data.shape[..<axis]) + indices.shape + Array(data.shape[(axis + 1)...])
        return [.tensor(NDArray(data.dataType, shape: shape, storage: data.storage.blocks(offsets, length: inner)))]
    }

    /// Index values with negatives counted from the end; throws on any outside `0..<dim`.
    static func checked(_ indices: NDArray, dim: Int, _ call: KernelCall) throws -> [Int] {
        guard indices.kind == .int else { throw call.failure("indices are \(indices.dataType), not integers") }
        var out = indices.asInts
        for k in out.indices {
            guard let j = NDArray.checkedIndex(out[k], dim) else { throw call.failure("index \(out[k]) is out of range for dim \(dim)") }
            out[k] = j
        }
        return out
    }

    /// Flat data offsets of GatherElements/ScatterElements: each index position of `indices` with
    /// its coordinate along `axis` replaced by the index value.
    static func elementOffsets(_ call: KernelCall, dataShape: [Int], indices: NDArray, axis: Int) throws -> [Int] {
        guard indices.rank == dataShape.count,
              indices.shape.indices.allSatisfy({ $0 == axis || indices.shape[$0] <= dataShape[$0] }) else {
            throw call.failure("indices of shape \(indices.shape) do not fit data of shape \(dataShape)")
        }
        let picks = try checked(indices, dim: dataShape[axis], call)
        let st = NDArray.strides(dataShape)
        var walk = st
        walk[axis] = 0
        var offsets = [Int](repeating: 0, count: picks.count)
        let step = st[axis]
        Broadcast.forEachOffset(indices.shape, walk) { k, off in offsets[k] = off + picks[k] * step }
        return offsets
    }

    static func elements(_ call: KernelCall) throws -> [Value] {
        let data = try call.tensor(0), indices = try call.tensor(1)
        let axis = try Axes.normalize(call.int("axis", 0), rank: data.rank)
        let offsets = try elementOffsets(call, dataShape: data.shape, indices: indices, axis: axis)
        return [.tensor(NDArray(data.dataType, shape: indices.shape, storage: data.storage.blocks(offsets, length: 1)))]
    }

    /// Block offsets and block length of GatherND/ScatterND: each index tuple (the last dim of
    /// `indices`) addresses a block of `data` within its batch.
    static func tupleOffsets(_ call: KernelCall, dataShape: [Int], indices: NDArray, batchDims b: Int) throws -> (offsets: [Int], length: Int) {
        let q = indices.rank, r = dataShape.count
        guard q >= 1, let m = indices.shape.last, b >= 0, b < min(q, r), m >= 1, m <= r - b,
              Array(indices.shape[..<b]) == Array(dataShape[..<b]) else {
            throw call.failure("indices of shape \(indices.shape) do not address data of shape \(dataShape) with batch_dims \(b)")
        }
        guard indices.kind == .int else { throw call.failure("indices are \(indices.dataType), not integers") }
        let idx = indices.asInts
        let st = NDArray.strides(dataShape)
        let batches = Axes.product(dataShape, 0..<b), perBatch = Axes.product(dataShape, b..<r)
        let tuples = idx.count / m
        let tuplesPerBatch = batches == 0 ? 0 : tuples / batches
        var offsets = [Int](repeating: 0, count: tuples)
        for t in 0..<tuples {
            var off = tuplesPerBatch == 0 ? 0 : (t / tuplesPerBatch) * perBatch
            for j in 0..<m {
                let dim = dataShape[b + j]
                guard let i = NDArray.checkedIndex(idx[t * m + j], dim) else {
                    throw call.failure("index \(idx[t * m + j]) is out of range for dim \(dim)")
                }
                off += i * st[b + j]
            }
            offsets[t] = off
        }
        return (offsets, Axes.product(dataShape, (b + m)..<r))
    }

    static func nd(_ call: KernelCall) throws -> [Value] {
        let data = try call.tensor(0), indices = try call.tensor(1)
        let b = call.int("batch_dims", 0)
        let (offsets, length) = try tupleOffsets(call, dataShape: data.shape, indices: indices, batchDims: b)
        let shape = Array(indices.shape.dropLast()) + Array(data.shape[(b + indices.shape[indices.rank - 1])...])
        return [.tensor(NDArray(data.dataType, shape: shape, storage: data.storage.blocks(offsets, length: length)))]
    }
}

extension GatherOp {
    /// data[:axis] + indices + data[axis+1:]; picks from known contents (a dim out of a Shape).
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let data = try call.input(0), s = try call.shape(0), idx = try call.shape(1)
        let axis = try ShapeRules.axis(call.int("axis", 0), rank: s.count, call)
        var out = InferredValue.tensor(data.elemType, Array(s[..<axis]) + idx + Array(s[(axis + 1)...]))
        if s.count == 1, let v = data.values, let picks = call.constantInts(1) {
            let normalized = picks.map { $0 < 0 ? $0 + v.count : $0 }
            if normalized.allSatisfy({ $0 >= 0 && $0 < v.count }) { out.values = normalized.map { v[$0] } }
        }
        return [out]
    }

    static func inferElements(_ call: ShapeCall) throws -> [InferredValue] {
        [.tensor(try call.type(0), try call.shape(1))]
    }

    /// indices[:-1] + data[batch_dims + indices[-1]:].
    static func inferND(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0), idx = try call.shape(1), b = call.int("batch_dims", 0)
        guard let last = idx.last?.constant, b + last <= s.count else { throw call.gap("the index tuple length is not known") }
        return [.tensor(try call.type(0), Array(idx.dropLast()) + Array(s[(b + last)...]))]
    }
}
