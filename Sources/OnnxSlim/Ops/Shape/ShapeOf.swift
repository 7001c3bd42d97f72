/// Shape and Size: facts about the input as int64 tensors.
enum ShapeOfOp {
    /// Shape, optionally the dims `start..<end` (opset 15; negative counts from the end, clamped).
    static func shape(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let r = x.rank
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + r : v, 0), r) }
        let start = clamp(call.int("start", 0)), end = clamp(call.int("end", r))
        let dims = start < end ? x.shape[start..<end].map { Int64($0) } : []
        return [.tensor(NDArray(int64s: dims, shape: [dims.count]))]
    }

    static func size(_ call: KernelCall) throws -> [Value] {
        [.tensor(.scalar(Int64(try call.tensor(0).count)))]
    }
}

extension ShapeOfOp {
    /// The dims become contents: this is where symbolic shape arithmetic starts.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0), r = s.count
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + r : v, 0), r) }
        let start = clamp(call.int("start", 0)), end = clamp(call.int("end", r))
        return [.integers(start < end ? Array(s[start..<end]) : [])]
    }

    static func inferSize(_ call: ShapeCall) throws -> [InferredValue] {
        [.integers([try call.shape(0).reduce(DimExpr(1), *)], scalar: true)]
    }
}
