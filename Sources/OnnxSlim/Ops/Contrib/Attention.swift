#if canImport(Glibc)
import Glibc
#endif

/// com.microsoft Attention: multi-head self-attention with one packed projection.
///
///     QKV = X [B,S,D] · W [D, Q+K+V] + bias        (Q = K = H·d unless qkv_hidden_sizes)
///     head h: softmax(scale · Q_h K_hᵀ + mask) · V_h   → Y [B,S,V]
///
/// mask_index (input 3): [B] valid lengths (right padding), or [B,S] 1/0 mask; masked
/// positions get -10000 before the softmax, as onnxruntime's default `mask_filter_value`.
/// `unidirectional` masks the future. Past state and attention bias are not implemented.
enum AttentionOp {
    /// Q, K and V widths.
    static func sizes(_ node: AttributeReading, packed: Int) -> (q: Int, k: Int, v: Int)? {
        sizes(node.ints("qkv_hidden_sizes"), packed: packed)
    }

    static func sizes(_ given: [Int]?, packed: Int) -> (q: Int, k: Int, v: Int)? {
        if let s = given, s.count == 3 { return (s[0], s[1], s[2]) }
        guard packed % 3 == 0 else { return nil }
        return (packed / 3, packed / 3, packed / 3)
    }

    /// One unit per head of a packed weight: its Q, K and V columns.
    static func headUnits(_ node: Node, packed: Int) -> AxisUnits? {
        let heads = Int(node.attribute("num_heads")?.i ?? 0)
        guard heads > 0, let (qs, ks, vs) = sizes(node.attribute("qkv_hidden_sizes")?.ints.map { Int($0) }, packed: packed),
              qs + ks + vs == packed, ks == qs,
              qs % heads == 0, vs % heads == 0 else { return nil }
        let d = qs / heads, dv = vs / heads
        let units = (0..<heads).map { h in
            Array((h * d)..<((h + 1) * d)) + Array((qs + h * d)..<(qs + (h + 1) * d)) + Array((2 * qs + h * dv)..<(2 * qs + (h + 1) * dv))
        }
        return AxisUnits(axis: 1, length: packed, units: units)
    }

    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0), w = try call.tensor(1)
        guard x.rank == 3, w.rank == 2, w.shape[0] == x.shape[2] else { throw call.failure("input [B,S,D] and weights [D, Q+K+V] expected") }
        if call.has(4) || call.has(5) { throw call.unsupported("past state and attention bias") }
        let (batch, length, hidden) = (x.shape[0], x.shape[1], x.shape[2])
        let packed = w.shape[1], heads = call.int("num_heads", 0)
        guard heads > 0, let (qs, ks, vs) = sizes(call, packed: packed), qs + ks + vs == packed,
              qs % heads == 0, ks == qs, vs % heads == 0 else { throw call.failure("num_heads does not divide the projections") }
        let dq = qs / heads, dv = vs / heads
        // QKV for every token in one product, the bias added per column.
        var qkv = [Float](repeating: 0, count: batch * length * packed)
        let xv = x.asFloats, wv = w.asFloats
        xv.withUnsafeBufferPointer { a in wv.withUnsafeBufferPointer { b in qkv.withUnsafeMutableBufferPointer { c in
            BLAS.sgemm(m: batch * length, n: packed, k: hidden, a: a.baseAddress!, lda: hidden, b: b.baseAddress!, ldb: packed,
                       c: c.baseAddress!, ldc: packed)
        } } }
        if let bias = try call.optionalTensor(2)?.asFloats, bias.count == packed {
            for i in qkv.indices { qkv[i] += bias[i % packed] }
        }
        let masked = try KeyMask(call, input: 3, batch: batch, keys: length)
        var out = [Float](repeating: 0, count: batch * length * vs)
        qkv.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in
            guard let base = p.baseAddress, let ob = o.baseAddress else { return }
            let rows = HeadRows(row: packed, batch: length * packed)
            ScaledDotProductAttention(batch: batch, queries: length, keys: length, heads: heads, dq: dq, dv: dv,
                                      scale: call.float("scale", 1 / sqrtf(Float(dq))), causal: call.int("unidirectional", 0) != 0)
                .run(q: (base, rows), k: (base + qs, rows), v: (base + qs + ks, rows), mask: masked, out: ob)
        } }
        return [.tensor(NDArray(floats: out, shape: [batch, length, vs], type: x.dataType))]
    }

    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let s = try call.shape(0), w = try call.shape(1)
        guard s.count == 3, w.count == 2, let packed = w[1].constant, let (_, _, v) = sizes(call, packed: packed) else {
            throw call.gap("input [B,S,D] and weights [D, Q+K+V] expected")
        }
        call.macs = call.macs + s[0] * s[1] * (s[2] * DimExpr(packed) + s[1] * DimExpr(2 * v))
        return [.tensor(try call.type(0), [s[0], s[1], DimExpr(v)])]
    }

    /// Head h owns columns [h·d, (h+1)·d) of each of the Q, K and V parts of the packed weight
    /// and bias, and [h·dv, (h+1)·dv) of the output; the input's hidden axis is the reduction.
    /// `num_heads` (and qkv_hidden_sizes) follow the kept heads.
    static func axes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard let packed = call.dim(.input(1), 1), let (qs, ks, vs) = sizes(call, packed: packed) else {
            return .opaque("Attention weights of unknown width")
        }
        let heads = call.int("num_heads", 0)
        guard heads > 0, qs % heads == 0, vs % heads == 0, ks == qs else { return .opaque("num_heads does not divide the projections") }
        let dq = qs / heads, dv = vs / heads
        switch from {
        case .input(0):
            return u.axis == 2 ? .tied([(.input(1), u.on(axis: 0))]) : .opaque("Attention mixes tokens")
        case .input(1) where u.axis == 0:
            return .tied([(.input(0), u.on(axis: 2))])
        case .input(1), .input(2), .output(0):
            let axis = from == .output(0) ? 2 : from == .input(1) ? 1 : 0
            guard u.axis == axis else { return .opaque("Attention mixes tokens") }
            // Heads of each unit: whole blocks of the output (or of each packed part).
            var headsOf: [[Int]] = []
            for unit in u.units {
                var hs = Set<Int>()
                for i in unit {
                    if from == .output(0) { hs.insert(i / dv) }
                    else if i < qs { hs.insert(i / dq) } else if i < qs + ks { hs.insert((i - qs) / dq) } else { hs.insert((i - qs - ks) / dv) }
                }
                let expected = hs.count * (from == .output(0) ? dv : 2 * dq + dv)
                guard unit.count == expected else { return .opaque("Attention units split a head") }
                headsOf.append(hs.sorted())
            }
            /// Head h's columns: its block of Q, of K and of V.
            func columns(_ h: Int) -> [Int] {
                let q = h * dq, k = qs + h * dq, v = qs + ks + h * dv
                return Array(q..<(q + dq)) + Array(k..<(k + dq)) + Array(v..<(v + dv))
            }
            func packedUnits() -> AxisUnits {
                AxisUnits(axis: 0, length: packed, units: headsOf.map { hs in hs.flatMap(columns) })
            }
            let outputUnits = AxisUnits(axis: 2, length: vs, units: headsOf.map { hs in hs.flatMap { h in Array((h * dv)..<((h + 1) * dv)) } })
            var links: [(port: NodePort, units: AxisUnits)] = [(.input(1), packedUnits().on(axis: 1)), (.output(0), outputUnits)]
            if call.hasInput(2) { links.append((.input(2), packedUnits())) }
            var edits = [LengthEdit(site: .attribute("num_heads", element: nil), tracks: .output(0), axis: 2, divisor: dv)]
            if call.ints("qkv_hidden_sizes") != nil {
                guard dq == dv else { return .opaque("qkv_hidden_sizes with different Q and V head sizes") }
                edits += (0..<3).map { LengthEdit(site: .attribute("qkv_hidden_sizes", element: $0), tracks: .output(0), axis: 2) }
            }
            return .tied(links.filter { $0.port != from }, edits: edits)
        default:
            return .tied([])
        }
    }
}

/// Row strides of one of Q, K, V in memory: the next token, the next batch element.
struct HeadRows {
    var row: Int
    var batch: Int
}

/// Which keys each batch element masks: none, the positions at or past a valid length ([B]),
/// or the zeros of a [B, L] 0/1 mask (com.microsoft Attention's mask_index, MultiHeadAttention's
/// key_padding_mask).
struct KeyMask {
    private var lengths: [Int]?
    private var raw: [Int]?
    private var keys = 0

    init(_ call: KernelCall, input: Int, batch: Int, keys: Int) throws {
        self.keys = keys
        guard let mask = try call.optionalTensor(input) else { return }
        if mask.rank == 1 && mask.count == batch { lengths = mask.asInts }
        else if mask.rank == 2 && mask.count == batch * keys { raw = mask.asInts }
        else { throw call.unsupported("key mask of shape \(mask.shape)") }
    }

    func masks(batch b: Int, key j: Int) -> Bool {
        if let lengths { return j >= lengths[b] }
        if let raw { return raw[b * keys + j] == 0 }
        return false
    }
}

/// softmax(scale · Q_h K_hᵀ + mask) · V_h for every batch element and head, into Y [B, S, H·dv].
/// Masked positions get -10000 before the softmax (onnxruntime's default `mask_filter_value`);
/// `causal` masks keys after the query's position.
struct ScaledDotProductAttention {
    var batch, queries, keys, heads, dq, dv: Int
    var scale: Float
    var causal: Bool

    func run(q: (UnsafePointer<Float>, HeadRows), k: (UnsafePointer<Float>, HeadRows), v: (UnsafePointer<Float>, HeadRows),
             mask: KeyMask, out: UnsafeMutablePointer<Float>) {
        let width = heads * dv
        var scores = [Float](repeating: 0, count: queries * keys)
        scores.withUnsafeMutableBufferPointer { sc in
            guard let sb = sc.baseAddress else { return }
            for b in 0..<batch {
                let qb = q.0 + b * q.1.batch, kb = k.0 + b * k.1.batch, vb = v.0 + b * v.1.batch
                for h in 0..<heads {
                    // scores = scale · Q_h · K_hᵀ
                    BLAS.sgemm(transB: true, m: queries, n: keys, k: dq, alpha: scale, a: qb + h * dq, lda: q.1.row,
                               b: kb + h * dq, ldb: k.1.row, c: sb, ldc: keys)
                    for i in 0..<queries {
                        let row = sb + i * keys
                        for j in 0..<keys where (causal && j > i) || mask.masks(batch: b, key: j) { row[j] += -10000 }
                        let top = RowMath.maximum(row, keys)
                        var total: Float = 0
                        for j in 0..<keys { row[j] = expf(row[j] - top); total += row[j] }
                        for j in 0..<keys { row[j] /= total }
                    }
                    // Y_h = P · V_h
                    BLAS.sgemm(m: queries, n: dv, k: keys, a: sb, lda: keys, b: vb + h * dv, ldb: v.1.row,
                               c: out + b * queries * width + h * dv, ldc: width)
                }
            }
        }
    }
}
