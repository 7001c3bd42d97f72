/// MatMul: Y = A · B. A constant B [.., K, N] is a weight: output channels along N (last axis),
/// sums along K (second to last).
enum MatMulOp: OperatorKnowledge {
    static let opType = "MatMul"

    static func weightUse(_ node: Node, weightRank: Int) -> WeightUse? {
        guard weightRank >= 2 else { return nil }
        return WeightUse(input: 1, channelAxis: weightRank - 1, reductionAxis: weightRank - 2)
    }
}

extension MatMulOp {
    /// Numpy matmul: 1-D operands gain a dim that is dropped again; batch dims broadcast.
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let a = try call.tensor(0), b = try call.tensor(1)
        guard let av = a.floats, let bv = b.floats else {
            // Integer MatMul (rare): through Float64, exact for the ranges ONNX tests use.
            return [.tensor(try integerMatMul(a, b, call))]
        }
        let (shape, values) = try product(av, a.shape, bv, b.shape, call)
        return [.tensor(NDArray(floats: values, shape: shape, type: a.dataType))]
    }

    /// Shapes of a numpy matmul; 1-D operands gain a dimension that the output drops again.
    /// MatMul, MatMulInteger and QLinearMatMul all use it.
    struct Geometry {
        var aBatch: [Int], bBatch: [Int], batch: [Int], m: Int, k: Int, n: Int, out: [Int]

        init(_ aShape: [Int], _ bShape: [Int], call: KernelCall) throws {
            guard !aShape.isEmpty, !bShape.isEmpty else { throw call.failure("matmul of a scalar") }
            let a2 = aShape.count == 1 ? [1] + aShape : aShape
            let b2 = bShape.count == 1 ? bShape + [1] : bShape
            m = a2[a2.count - 2]; k = a2[a2.count - 1]; n = b2[b2.count - 1]
            guard k == b2[b2.count - 2] else { throw call.failure("inner dimensions differ: \(aShape) · \(bShape)") }
            aBatch = Array(a2.dropLast(2)); bBatch = Array(b2.dropLast(2))
            batch = try Broadcast.shape(aBatch, bBatch)
            out = batch
            if aShape.count > 1 { out.append(m) }
            if bShape.count > 1 { out.append(n) }
        }
    }

    /// Float matmul through sgemm: one call when B is a plain matrix, else one per batch.
    static func product(_ a: [Float], _ aShape: [Int], _ b: [Float], _ bShape: [Int], _ call: KernelCall) throws -> ([Int], [Float]) {
        let g = try Geometry(aShape, bShape, call: call)
        let batches = g.batch.reduce(1, *)
        var out = [Float](repeating: 0, count: batches * g.m * g.n)
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { pc in
            guard let ca = pa.baseAddress, let cb = pb.baseAddress, let cc = pc.baseAddress else { return }
            if g.bBatch.reduce(1, *) == 1 && g.aBatch == g.batch {
                // B shared by every batch: fold the batch into M.
                BLAS.sgemm(m: batches * g.m, n: g.n, k: g.k, a: ca, lda: g.k, b: cb, ldb: g.n, c: cc, ldc: g.n)
                return
            }
            let ai = Broadcast.sourceIndices(g.aBatch, in: g.batch), bi = Broadcast.sourceIndices(g.bBatch, in: g.batch)
            for t in 0..<batches {
                BLAS.sgemm(m: g.m, n: g.n, k: g.k, a: ca + ai[t] * g.m * g.k, lda: g.k,
                           b: cb + bi[t] * g.k * g.n, ldb: g.n, c: cc + t * g.m * g.n, ldc: g.n)
            }
        } } }
        return (g.out, out)
    }

    /// Integer matmul through dgemm (exact while sums stay below 2^53).
    static func integerMatMul(_ a: NDArray, _ b: NDArray, _ call: KernelCall) throws -> NDArray {
        let g = try Geometry(a.shape, b.shape, call: call)
        let out = doubleProduct(a.asInt64s.map { Double($0) }, b.asInt64s.map { Double($0) }, g)
        return NDArray(int64s: out.map { Int64($0) }, shape: g.out, type: a.dataType)
    }

    /// Batched matmul in Float64 through dgemm, one call per batch.
    static func doubleProduct(_ av: [Double], _ bv: [Double], _ g: Geometry) -> [Double] {
        let batches = g.batch.reduce(1, *)
        var out = [Double](repeating: 0, count: batches * g.m * g.n)
        let ai = Broadcast.sourceIndices(g.aBatch, in: g.batch), bi = Broadcast.sourceIndices(g.bBatch, in: g.batch)
        av.withUnsafeBufferPointer { pa in bv.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { pc in
            guard let ca = pa.baseAddress, let cb = pb.baseAddress, let cc = pc.baseAddress else { return }
            for t in 0..<batches {
                BLAS.dgemm(m: g.m, n: g.n, k: g.k, a: ca + ai[t] * g.m * g.k, lda: g.k,
                           b: cb + bi[t] * g.k * g.n, ldb: g.n, c: cc + t * g.m * g.n, ldc: g.n)
            }
        } } }
        return out
    }
}

extension MatMulOp {
    /// numpy matmul shapes: batch dims broadcast; M×K · K×N → M×N. MACs = output elements × K.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let (out, k) = try productShape(call.shape(0), call.shape(1), call)
        let v = InferredValue.tensor(try call.type(0), out)
        if let n = v.elementCount {
            call.macs = n * k
            call.flops = n * k * 2
        }
        return [v]
    }

    /// The output dims and the reduced dim K of a matmul (shared with MatMulInteger, QLinearMatMul).
    static func productShape(_ a: [DimExpr], _ b: [DimExpr], _ call: ShapeCall) throws -> ([DimExpr], DimExpr) {
        guard !a.isEmpty, !b.isEmpty else { throw call.gap("matmul of a scalar") }
        let a2 = a.count == 1 ? [1] + a : a, b2 = b.count == 1 ? b + [1] : b
        let k = a2[a2.count - 1]
        let batch = try ShapeRules.broadcast([Array(a2.dropLast(2)), Array(b2.dropLast(2))], call)
        var out = batch
        if a.count > 1 { out.append(a2[a2.count - 2]) }
        if b.count > 1 { out.append(b2[b2.count - 1]) }
        return (out, k)
    }
}

extension MatMulOp {
    /// A's last axis and B's rows are the reduction (tied to each other, to no output); A's
    /// rows go to the output's rows, B's columns to its columns; batch axes broadcast.
    static func axes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard let ra = call.rank(.input(0)), let rb = call.rank(.input(1)), let ro = call.rank(.output(0)),
              ra >= 2, rb >= 2 else { return .opaque("MatMul of a vector or of unknown rank") }
        // Axes of each port as (batch position from the right, or a matrix role).
        func batchLinks(_ outAxis: Int, except: NodePort) -> AxisAnswer {
            var links: [(port: NodePort, units: AxisUnits)] = []
            if except != .output(0) { links.append((.output(0), u.on(axis: outAxis))) }
            for (k, r) in [(0, ra), (1, rb)] where except != .input(k) {
                let axis = outAxis - (ro - r)
                guard axis >= 0 else { continue }
                guard let dim = call.dim(.input(k), axis) else { return .opaque("cannot tell whether input \(k) broadcasts along the axis") }
                if dim == 1 && u.length != 1 { continue }
                links.append((.input(k), u.on(axis: axis)))
            }
            return .tied(links)
        }
        switch from {
        case .input(0):
            if u.axis == ra - 1 { return .tied([(.input(1), u.on(axis: rb - 2))]) }
            if u.axis == ra - 2 { return .tied([(.output(0), u.on(axis: ro - 2))]) }
            return batchLinks(u.axis + (ro - ra), except: from)
        case .input(1):
            if u.axis == rb - 2 { return .tied([(.input(0), u.on(axis: ra - 1))]) }
            if u.axis == rb - 1 { return .tied([(.output(0), u.on(axis: ro - 1))]) }
            return batchLinks(u.axis + (ro - rb), except: from)
        default:
            if u.axis == ro - 1 { return .tied([(.input(1), u.on(axis: rb - 1))]) }
            if u.axis == ro - 2 { return .tied([(.input(0), u.on(axis: ra - 2))]) }
            return batchLinks(u.axis, except: from)
        }
    }
}
