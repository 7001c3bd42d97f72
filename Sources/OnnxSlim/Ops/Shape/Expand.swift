/// Expand and Tile: repetition as strided views with zero strides, so no index map is built.
enum ExpandOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let target = try call.tensor(1).asInts
        guard target.allSatisfy({ $0 >= 0 }) else { throw call.failure("negative dim in shape \(target)") }
        let shape = try Broadcast.shape(x.shape, target)
        if shape == x.shape { return [.tensor(x)] }
        return [.tensor(x.strided(shape: shape, strides: Broadcast.strides(x.shape, in: shape)))]
    }

    /// Tile: dim d of shape n repeated r times reads as dims (r, n) with strides (0, stride).
    static func tile(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let repeats = try call.tensor(1).asInts
        guard repeats.count == x.rank, repeats.allSatisfy({ $0 >= 0 }) else {
            throw call.failure("repeats \(repeats) do not fit rank \(x.rank)")
        }
        let st = NDArray.strides(x.shape)
        var shape: [Int] = [], strides: [Int] = []
        for d in 0..<x.rank {
            shape += [repeats[d], x.shape[d]]
            strides += [0, st[d]]
        }
        let out = x.strided(shape: shape, strides: strides)
        return [.tensor(out.reshaped(zip(repeats, x.shape).map { $0 * $1 }))]
    }
}

extension ExpandOp {
    /// Broadcast of the input with the requested shape.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let shape = try ShapeRules.broadcast([call.shape(0), call.requiredDims(1, "the target shape")], call)
        return [.tensor(try call.type(0), shape)]
    }

    static func inferTile(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0), repeats = try call.requiredDims(1, "repeats")
        guard repeats.count == s.count else { throw call.gap("\(repeats.count) repeats for rank \(s.count)") }
        return [.tensor(try call.type(0), zip(s, repeats).map { $0 * $1 })]
    }
}
