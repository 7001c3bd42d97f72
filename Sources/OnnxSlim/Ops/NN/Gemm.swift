/// Gemm: Y = alpha · A' · B' + beta · C. B is [K, N], or [N, K] with transB = 1.
enum GemmOp: OperatorKnowledge {
    static let opType = "Gemm"

    static func weightUse(_ node: Node, weightRank: Int) -> WeightUse? {
        guard weightRank == 2 else { return nil }
        let transposed = node.intAttribute("transB", default: 0) != 0
        return WeightUse(input: 1, channelAxis: transposed ? 0 : 1, reductionAxis: transposed ? 1 : 0)
    }
}

extension GemmOp {
    /// One sgemm: the output starts as beta·C broadcast to [M, N], then accumulates alpha·A'·B'.
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let a = try call.tensor(0), b = try call.tensor(1), c = try call.optionalTensor(2)
        let ta = call.int("transA", 0) != 0, tb = call.int("transB", 0) != 0
        let alpha = call.float("alpha", 1), beta = call.float("beta", 1)
        guard a.rank == 2, b.rank == 2 else { throw call.failure("A \(a.shape) and B \(b.shape) must be matrices") }
        let (m, k) = ta ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (kb, n) = tb ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        guard k == kb else { throw call.failure("inner dims differ: A \(a.shape), B \(b.shape)") }
        var bias: NDArray? = nil
        if let c, beta != 0 {
            guard c.rank <= 2, (try? Broadcast.shape(c.shape, [m, n])) == [m, n] else {
                throw call.failure("C \(c.shape) does not broadcast to [\(m), \(n)]")
            }
            // A bias row (the usual case) repeats without an index map.
            if let cv = c.floats, c.count == n, c.shape.last == n || n == 1 {
                bias = NDArray(floats: [Float]((0..<m).map { _ in cv }.joined()), shape: [m, n], type: c.dataType)
            } else {
                bias = c.expanded(to: [m, n])
            }
        }
        guard let av = a.floats, let bv = b.floats else {
            return [.tensor(try integerGemm(a, b, bias, ta, tb, m, n, k, alpha, beta))]
        }
        var out = bias.map { $0.asFloats } ?? [Float](repeating: 0, count: m * n)
        av.withUnsafeBufferPointer { pa in bv.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { pc in
            guard let ca = pa.baseAddress, let cb = pb.baseAddress, let cc = pc.baseAddress else { return }
            let lda = a.shape[1], ldb = b.shape[1], cBeta: Float = bias == nil ? 0 : beta
            if m == 1 && k > 0 {
                // One row (a classifier head): a matrix-vector product, much faster than sgemm.
                BLAS.sgemv(transA: !tb, m: b.shape[0], n: b.shape[1], alpha: alpha, a: cb, lda: ldb,
                           x: ca, incx: ta ? lda : 1, beta: cBeta, y: cc)
            } else {
                BLAS.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, a: ca, lda: lda,
                           b: cb, ldb: ldb, beta: cBeta, c: cc, ldc: n)
            }
        } } }
        return [.tensor(NDArray(floats: out, shape: [m, n], type: a.dataType))]
    }

    /// Integer Gemm through dgemm (exact while sums stay below 2^53).
    static func integerGemm(_ a: NDArray, _ b: NDArray, _ c: NDArray?, _ ta: Bool, _ tb: Bool,
                            _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ beta: Float) throws -> NDArray {
        let av = a.asInt64s.map { Double($0) }, bv = b.asInt64s.map { Double($0) }
        var prod = [Double](repeating: 0, count: m * n)
        av.withUnsafeBufferPointer { pa in bv.withUnsafeBufferPointer { pb in prod.withUnsafeMutableBufferPointer { pc in
            guard let ca = pa.baseAddress, let cb = pb.baseAddress, let cc = pc.baseAddress else { return }
            BLAS.dgemm(transA: ta, transB: tb, m: m, n: n, k: k, a: ca, lda: a.shape[1], b: cb, ldb: b.shape[1], c: cc, ldc: n)
        } } }
        let cv = c?.asInt64s
        var out = [Int64](repeating: 0, count: m * n)
        for i in 0..<(m * n) {
            var v = Double(alpha) * prod[i]
            if let cv { v += Double(beta) * Double(cv[i]) }
            out[i] = Int64(max(-9.2e18, min(9.2e18, v.rounded(.towardZero))))
        }
        return NDArray(int64s: out, shape: [m, n], type: a.dataType)
    }
}

extension GemmOp {
    /// [M, K]·[K, N] (+ C) → [M, N]. MACs = M·N·K, plus M·N for C (as onnx-tool counts a bias).
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let a = try call.shape(0), b = try call.shape(1)
        guard a.count == 2, b.count == 2 else { throw call.gap("A and B must be matrices") }
        let ta = call.int("transA", 0) != 0, tb = call.int("transB", 0) != 0
        let m = ta ? a[1] : a[0], k = ta ? a[0] : a[1], n = tb ? b[0] : b[1]
        let mn = m * n
        let bias = call.has(2) ? mn : DimExpr(0)
        call.macs = mn * k + bias
        call.flops = mn * k * 2 + bias
        return [.tensor(try call.type(0), [m, n])]
    }
}

extension GemmOp {
    /// A' [M, K] · B' [K, N] + C: A's K axis and B's K axis are the reduction; A's M and B's N
    /// go to the output's rows and columns, with C's along them where C is not broadcast.
    static func axes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        let ta = call.int("transA", 0) != 0, tb = call.int("transB", 0) != 0
        let aK = ta ? 0 : 1, bK = tb ? 1 : 0
        // Output axis `o` and every port aligned with it.
        func outputAxis(_ o: Int) -> AxisAnswer {
            var links: [(port: NodePort, units: AxisUnits)] = [(.output(0), u.on(axis: o))]
            links.append(o == 0 ? (.input(0), u.on(axis: 1 - aK)) : (.input(1), u.on(axis: 1 - bK)))
            if call.hasInput(2), let rc = call.rank(.input(2)) {
                let axis = o - (2 - rc)
                if axis >= 0 {
                    guard let dim = call.dim(.input(2), axis) else { return .opaque("cannot tell whether C broadcasts") }
                    if dim != 1 || u.length == 1 { links.append((.input(2), u.on(axis: axis))) }
                }
            }
            return .tied(links.filter { $0.port != from })
        }
        switch from {
        case .input(0): return u.axis == aK ? .tied([(.input(1), u.on(axis: bK))]) : outputAxis(0)
        case .input(1): return u.axis == bK ? .tied([(.input(0), u.on(axis: aK))]) : outputAxis(1)
        case .input(2):
            let rc = call.rank(.input(2)) ?? 2
            return outputAxis(u.axis + (2 - rc))
        default: return outputAxis(u.axis)
        }
    }
}
