/// Transpose and the block rearrangements built on it (DepthToSpace, SpaceToDepth): each is a
/// reshape into blocks, a permutation of dims, and a reshape back.
enum TransposeOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let perm = call.ints("perm") ?? Array((0..<x.rank).reversed())
        guard perm.count == x.rank, perm.sorted() == Array(0..<x.rank) else {
            throw call.failure("perm \(perm) is not a permutation of \(x.rank) dims")
        }
        if perm == Array(0..<x.rank) { return [.tensor(x)] }
        return [.tensor(x.transposed(perm))]
    }

    static func depthToSpace(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let b = call.int("blocksize", 0)
        guard x.rank == 4, b > 0, x.shape[1] % (b * b) == 0 else {
            throw call.failure("needs a rank-4 input whose channels divide by blocksize² (shape \(x.shape), blocksize \(b))")
        }
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let cb = c / (b * b)
        let moved: NDArray
        switch call.string("mode", "DCR") {
        case "DCR": moved = x.reshaped([n, b, b, cb, h, w]).transposed([0, 3, 4, 1, 5, 2])
        case "CRD": moved = x.reshaped([n, cb, b, b, h, w]).transposed([0, 1, 4, 2, 5, 3])
        case let m: throw call.failure("unknown mode \(m)")
        }
        return [.tensor(moved.reshaped([n, cb, h * b, w * b]))]
    }

    static func spaceToDepth(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        let b = call.int("blocksize", 0)
        guard x.rank == 4, b > 0, x.shape[2] % b == 0, x.shape[3] % b == 0 else {
            throw call.failure("needs a rank-4 input whose height and width divide by blocksize (shape \(x.shape), blocksize \(b))")
        }
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let moved = x.reshaped([n, c, h / b, b, w / b, b]).transposed([0, 3, 5, 1, 2, 4])
        return [.tensor(moved.reshaped([n, c * b * b, h / b, w / b]))]
    }
}

extension TransposeOp {
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let x = try call.input(0), s = try call.shape(0)
        let perm = call.ints("perm") ?? Array((0..<s.count).reversed())
        guard perm.count == s.count, Set(perm) == Set(0..<s.count) else { throw call.gap("perm \(perm) does not fit rank \(s.count)") }
        return [.tensor(x.elemType, perm.map { s[$0] })]
    }

    /// [N, C, H, W] → [N, C/b², H·b, W·b].
    static func inferDepthToSpace(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0), b = call.int("blocksize", 0)
        guard s.count == 4, b > 0 else { throw call.gap("needs rank 4 and a blocksize") }
        return [.tensor(try call.type(0), [s[0], s[1].floorDiv(b * b), s[2] * DimExpr(b), s[3] * DimExpr(b)])]
    }

    /// [N, C, H, W] → [N, C·b², H/b, W/b].
    static func inferSpaceToDepth(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0), b = call.int("blocksize", 0)
        guard s.count == 4, b > 0 else { throw call.gap("needs rank 4 and a blocksize") }
        return [.tensor(try call.type(0), [s[0], s[1] * DimExpr(b * b), s[2].floorDiv(b), s[3].floorDiv(b)])]
    }
}

extension TransposeOp {
    /// Output axis i is input axis perm[i] (perm defaults to reversing the axes).
    static func axes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard let rank = call.rank(.input(0)) ?? call.rank(.output(0)) else { return .opaque("rank unknown") }
        let perm = call.ints("perm") ?? Array((0..<rank).reversed())
        if from == .input(0), let i = perm.firstIndex(of: u.axis) { return .tied([(.output(0), u.on(axis: i))]) }
        if from == .output(0), u.axis < perm.count { return .tied([(.input(0), u.on(axis: perm[u.axis]))]) }
        return .opaque("Transpose perm does not cover the axis")
    }
}
