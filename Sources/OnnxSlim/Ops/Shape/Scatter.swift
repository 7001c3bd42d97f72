/// ScatterElements (and its deprecated alias Scatter) and ScatterND: a copy of `data` with blocks
/// of `updates` written, or combined by `reduction`, at the addressed offsets, in index order.
enum ScatterOp {
    static func elements(_ call: KernelCall) throws -> [Value] {
        let indices = try call.tensor(1), updates = try call.tensor(2)
        var data = try call.take(0)
        let axis = try Axes.normalize(call.int("axis", 0), rank: data.rank)
        guard updates.shape == indices.shape else {
            throw call.failure("updates of shape \(updates.shape) do not match indices of shape \(indices.shape)")
        }
        let offsets = try GatherOp.elementOffsets(call, dataShape: data.shape, indices: indices, axis: axis)
        try write(&data, updates, offsets: offsets, length: 1, call)
        return [.tensor(data)]
    }

    static func nd(_ call: KernelCall) throws -> [Value] {
        let indices = try call.tensor(1), updates = try call.tensor(2)
        var data = try call.take(0)
        let (offsets, length) = try GatherOp.tupleOffsets(call, dataShape: data.shape, indices: indices, batchDims: 0)
        let expected = Array(indices.shape.dropLast()) + Array(data.shape[indices.shape[indices.rank - 1]...])
        guard updates.shape == expected else {
            throw call.failure("updates have shape \(updates.shape), expected \(expected)")
        }
        try write(&data, updates, offsets: offsets, length: length, call)
        return [.tensor(data)]
    }

    private static func write(_ data: inout NDArray, _ updates: NDArray, offsets: [Int], length: Int, _ call: KernelCall) throws {
        let reduction = call.string("reduction", "none")
        switch (data.storage, updates.storage) {
        case (.float(var v), .float(let u)):
            data.storage = .float([])
            let f: ((Float, Float) -> Float)?
            switch reduction {
            case "none": f = nil
            case "add": f = { $0 + $1 }
            case "mul": f = { $0 * $1 }
            case "max": f = { Swift.max($0, $1) }
            case "min": f = { Swift.min($0, $1) }
            default: throw call.failure("unknown reduction \(reduction)")
            }
            apply(&v, u, offsets, length, f)
            data.storage = .float(v)
        case (.int(var v), .int(let u)):
            data.storage = .int([])
            let f: ((Int64, Int64) -> Int64)?
            switch reduction {
            case "none": f = nil
            case "add": f = { $0 &+ $1 }
            case "mul": f = { $0 &* $1 }
            case "max": f = { Swift.max($0, $1) }
            case "min": f = { Swift.min($0, $1) }
            default: throw call.failure("unknown reduction \(reduction)")
            }
            apply(&v, u, offsets, length, f)
            data.storage = .int(v)
        case (.bool(var v), .bool(let u)) where reduction == "none":
            data.storage = .bool([])
            apply(&v, u, offsets, length, nil)
            data.storage = .bool(v)
        case (.string(var v), .string(let u)) where reduction == "none":
            data.storage = .string([])
            apply(&v, u, offsets, length, nil)
            data.storage = .string(v)
        default:
            throw call.failure("cannot scatter \(updates.dataType) into \(data.dataType) with reduction \(reduction)")
        }
    }

    private static func apply<T>(_ v: inout [T], _ u: [T], _ offsets: [Int], _ length: Int, _ f: ((T, T) -> T)?) {
        v.withUnsafeMutableBufferPointer { d in
            var k = 0
            for o in offsets {
                if let f {
                    for j in 0..<length { d[o + j] = f(d[o + j], u[k + j]) }
                } else {
                    for j in 0..<length { d[o + j] = u[k + j] }
                }
                k += length
            }
        }
    }
}

extension ScatterOp {
    /// Scatters write into a copy of the data: same type and shape.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        [.tensor(try call.type(0), try call.shape(0))]
    }
}
