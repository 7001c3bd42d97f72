/// ReverseSequence: for each batch entry b, the first `sequence_lens[b]` steps along the time
/// axis reversed; the rest copied.
enum ReverseSequenceOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let lens = try call.tensor(1).asInts
        guard x.rank >= 2 else { throw call.failure("input must have rank >= 2, not \(x.shape)") }
        let batchAxis = try Axes.normalize(call.int("batch_axis", 1), rank: x.rank)
        let timeAxis = try Axes.normalize(call.int("time_axis", 0), rank: x.rank)
        let batches = x.shape[batchAxis], steps = x.shape[timeAxis]
        guard batchAxis != timeAxis, lens.count == batches, lens.allSatisfy({ $0 >= 0 && $0 <= steps }) else {
            throw call.failure("sequence_lens \(lens) do not fit shape \(x.shape)")
        }
        let st = NDArray.strides(x.shape)
        let map = (0..<x.count).map { k -> Int in
            let b = (k / st[batchAxis]) % batches, t = (k / st[timeAxis]) % steps
            return t < lens[b] ? k + (lens[b] - 1 - 2 * t) * st[timeAxis] : k
        }
        return [.tensor(x.gathered(map, shape: x.shape))]
    }
}

extension ReverseSequenceOp {
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        [.tensor(try call.type(0), try call.shape(0))]
    }
}
