/// MatMulInteger and QLinearMatMul: numpy matmul of zero-point-centered integer codes, exact, through
/// BLAS (one call per batch and K slice is what keeps dynamically quantized transformers fast).
enum IntegerMatMul {
    typealias Geometry = MatMulOp.Geometry

    /// `t`'s codes minus its zero point. `rowLength`/`rows` say what a 1-D zero point indexes:
    /// per row of A (M values, each spanning K codes) or per column of B (N values).
    /// Also returns the largest magnitude of a centered code (it bounds the partial sums).
    static func centered<T: BinaryFloatingPoint>(_ t: NDArray, zero: NDArray?, perRow: Bool, rows: Int, rowLength: Int,
                                                 as: T.Type, call: KernelCall) throws -> (values: [T], largest: Int64) {
        guard let q = t.int64s else { throw call.failure("operand has type \(t.dataType), not an integer type") }
        let n = q.count
        var z: [Int64] = [0]
        var general: [Int]? = nil
        if let zero {
            guard let zv = zero.int64s else { throw call.failure("zero point has type \(zero.dataType)") }
            z = zv
            if zv.count != 1 {
                let vectorFits = zero.rank == 1 && zv.count == (perRow ? rows : rowLength)
                if !vectorFits {
                    // N-D zero points ([.., M, 1] for A, [.., 1, N] for B) broadcast against the operand.
                    guard (try? Broadcast.shape(zero.shape, t.shape)) == t.shape else {
                        throw call.failure("zero point shape \(zero.shape) does not fit operand shape \(t.shape)")
                    }
                    general = Broadcast.sourceIndices(zero.shape, in: t.shape)
                }
            }
        }
        var lo: Int64 = 0, hi: Int64 = 0
        let values = [T](unsafeUninitializedCapacity: n) { out, initialized in
            q.withUnsafeBufferPointer { qp in z.withUnsafeBufferPointer { zp in
                if let general {
                    for i in 0..<n { let d = qp[i] - zp[general[i]]; lo = min(lo, d); hi = max(hi, d); out[i] = T(d) }
                } else if zp.count == 1 {
                    let zv = zp[0]
                    for i in 0..<n { let d = qp[i] - zv; lo = min(lo, d); hi = max(hi, d); out[i] = T(d) }
                } else if perRow {
                    var i = 0
                    for r in 0..<(rowLength == 0 ? 0 : n / rowLength) {
                        let zv = zp[r % rows]
                        for _ in 0..<rowLength { let d = qp[i] - zv; lo = min(lo, d); hi = max(hi, d); out[i] = T(d); i += 1 }
                    }
                } else {
                    var i = 0
                    while i < n {
                        for j in 0..<rowLength { let d = qp[i + j] - zp[j]; lo = min(lo, d); hi = max(hi, d); out[i + j] = T(d) }
                        i += rowLength
                    }
                }
            } }
            initialized = n
        }
        return (values, max(hi, 0 &- lo))
    }

    /// The exact integer product of A and B after subtracting zero points, as Double.
    ///
    /// 8-bit codes go through sgemm over slices of K short enough that no partial sum can pass
    /// 2^24 (Float's exact integer range; with 8-bit codes a slice is at least 258 long, usually
    /// all of K), the slices summed in Double. Wider codes go through dgemm.
    static func product(_ a: NDArray, _ aZero: NDArray?, _ b: NDArray, _ bZero: NDArray?, call: KernelCall) throws -> (Geometry, [Double]) {
        let g = try Geometry(a.shape, b.shape, call: call)
        let narrow: Set<DataType> = [.int8, .uint8, .int4, .uint4]
        guard narrow.contains(a.dataType) && narrow.contains(b.dataType) else {
            let av = try centered(a, zero: aZero, perRow: true, rows: g.m, rowLength: g.k, as: Double.self, call: call)
            let bv = try centered(b, zero: bZero, perRow: false, rows: g.k, rowLength: g.n, as: Double.self, call: call)
            return (g, MatMulOp.doubleProduct(av.values, bv.values, g))  // codes wider than 8 bits
        }
        let (av, aLargest) = try centered(a, zero: aZero, perRow: true, rows: g.m, rowLength: g.k, as: Float.self, call: call)
        let (bv, bLargest) = try centered(b, zero: bZero, perRow: false, rows: g.k, rowLength: g.n, as: Float.self, call: call)
        let bound = aLargest * bLargest   // at most 255², codes being 8-bit
        let slice = bound == 0 ? max(g.k, 1) : max(1, min(g.k, (1 << 24) / Int(bound)))
        let batches = g.batch.reduce(1, *)
        var out = [Double](repeating: 0, count: batches * g.m * g.n)
        // One B for every batch: fold the batch into M.
        let folded = g.bBatch.reduce(1, *) == 1 && g.aBatch == g.batch
        let rowsPerCall = folded ? batches * g.m : g.m
        var partial = [Float](repeating: 0, count: rowsPerCall * g.n)
        let ai = folded ? [0] : Broadcast.sourceIndices(g.aBatch, in: g.batch)
        let bi = folded ? [0] : Broadcast.sourceIndices(g.bBatch, in: g.batch)
        av.withUnsafeBufferPointer { pa in bv.withUnsafeBufferPointer { pb in
            out.withUnsafeMutableBufferPointer { pc in partial.withUnsafeMutableBufferPointer { pp in
                guard let ca = pa.baseAddress, let cb = pb.baseAddress, let cc = pc.baseAddress, let cp = pp.baseAddress else { return }
                let count = rowsPerCall * g.n
                for t in 0..<(folded ? 1 : batches) {
                    let aBase = ca + ai[t] * g.m * g.k, bBase = cb + bi[t] * g.k * g.n, cBase = cc + t * g.m * g.n
                    var k0 = 0
                    repeat {
                        let len = min(slice, g.k - k0)
                        BLAS.sgemm(m: rowsPerCall, n: g.n, k: len, a: aBase + k0, lda: g.k,
                                   b: bBase + k0 * g.n, ldb: g.n, c: cp, ldc: g.n)
                        for i in 0..<count { cBase[i] += Double(cp[i]) }
                        k0 += len
                    } while k0 < g.k
                }
            } }
        } }
        return (g, out)
    }


    /// MatMulInteger: int32 Y = (A - a_zero_point) · (B - b_zero_point).
    static func matMulInteger(_ call: KernelCall) throws -> [Value] {
        let (g, y) = try product(try call.tensor(0), try call.optionalTensor(2), try call.tensor(1), try call.optionalTensor(3), call: call)
        let n = y.count
        let values = [Int64](unsafeUninitializedCapacity: n) { out, initialized in
            y.withUnsafeBufferPointer { p in for i in 0..<n { out[i] = Int64(p[i]) } }
            initialized = n
        }
        return [.tensor(NDArray(int64s: values, shape: g.out, type: .int32))]
    }

    /// QLinearMatMul: the integer product requantized to y's scale and zero point. Scales are per
    /// tensor, per row of A (and y) or per column of B; the multiplier a_scale·b_scale/y_scale is
    /// formed in Float and applied in Double, as the reference does.
    static func qlinearMatMul(_ call: KernelCall) throws -> [Value] {
        let a = try call.tensor(0), aScale = try call.tensor(1), aZero = try call.optionalTensor(2)
        let b = try call.tensor(3), bScale = try call.tensor(4), bZero = try call.optionalTensor(5)
        let yScale = try call.tensor(6), yZero = try call.optionalTensor(7)
        let (g, c) = try product(a, aZero, b, bZero, call: call)
        let outType = yZero?.dataType ?? a.dataType
        guard let range = NDArray.integerRange(outType) else { throw call.failure("output type \(outType) is not an integer type") }
        let sa = aScale.asFloats, sb = bScale.asFloats, sy = yScale.asFloats
        guard sa.count == 1 || sa.count == g.m else { throw call.failure("a_scale has \(sa.count) values for \(g.m) rows") }
        guard sb.count == 1 || sb.count == g.n else { throw call.failure("b_scale has \(sb.count) values for \(g.n) columns") }
        guard sy.count == 1 || sy.count == g.m else { throw call.failure("y_scale has \(sy.count) values for \(g.m) rows") }
        let zy = yZero?.asInt64s ?? [0]
        guard zy.count == 1 || zy.count == g.m else { throw call.failure("y_zero_point has \(zy.count) values for \(g.m) rows") }
        let lo = Double(range.lowerBound), hi = Double(range.upperBound)
        var values = [Int64](repeating: 0, count: c.count)
        var multipliers = [Double](repeating: 0, count: g.n)
        let rowsTotal = g.n == 0 ? 0 : c.count / g.n
        for r in 0..<rowsTotal {
            let i = r % g.m
            let ya = sy[sy.count == 1 ? 0 : i], aa = sa[sa.count == 1 ? 0 : i]
            for j in 0..<g.n { multipliers[j] = Double(aa * sb[sb.count == 1 ? 0 : j] / ya) }
            let zero = Double(zy[zy.count == 1 ? 0 : i])
            for j in 0..<g.n {
                let v = (c[r * g.n + j] * multipliers[j] + zero).rounded(.toNearestOrEven)
                values[r * g.n + j] = Int64(v.isNaN ? lo : min(max(v, lo), hi))
            }
        }
        return [.tensor(NDArray(int64s: values, shape: g.out, type: outType))]
    }
}

extension IntegerMatMul {
    /// int32 products with matmul shapes; MACs as MatMul.
    static func inferMatMulInteger(_ call: ShapeCall) throws -> [InferredValue] {
        try product(call, a: 0, b: 1, type: .int32)
    }

    /// A at 0, B at 3, the output's type is y_zero_point's (input 7).
    static func inferQLinearMatMul(_ call: ShapeCall) throws -> [InferredValue] {
        try product(call, a: 0, b: 3, type: call.type(7))
    }

    private static func product(_ call: ShapeCall, a: Int, b: Int, type: DataType) throws -> [InferredValue] {
        let (out, k) = try MatMulOp.productShape(call.shape(a), call.shape(b), call)
        let v = InferredValue.tensor(type, out)
        if let n = v.elementCount { call.macs = n * k; call.flops = n * k * 2 }
        return [v]
    }
}
