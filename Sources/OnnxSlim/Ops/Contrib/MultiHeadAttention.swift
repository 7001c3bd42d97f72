#if canImport(Glibc)
import Glibc
#endif

/// com.microsoft MultiHeadAttention: attention over projections made outside the op (what
/// onnxruntime's optimizer writes with `use_multi_head_attention`, and for cross-attention).
///
///     Q = query [B,S,D] + bias[0..<D], K = key [B,L,D] + bias[D..<2D], V = value [B,L,Dv] + bias[2D...]
///     head h: softmax(scale · Q_h K_hᵀ + mask) · V_h   → Y [B,S,Dv]
///
/// key_padding_mask (input 4): [B] valid key lengths or a [B,L] 1/0 mask. Packed QKV forms
/// (query of rank 5, no key), attention bias and past state are not implemented.
enum MultiHeadAttentionOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let query = try call.tensor(0)
        guard call.has(1), call.has(2) else { throw call.unsupported("packed QKV (no separate key and value)") }
        let key = try call.tensor(1), value = try call.tensor(2)
        if (5..<max(call.inputCount, 5)).contains(where: call.has) { throw call.unsupported("attention bias and past state") }
        guard query.rank == 3, key.rank == 3, value.rank == 3, key.shape[2] == query.shape[2],
              key.shape[0] == query.shape[0], value.shape[0] == query.shape[0], value.shape[1] == key.shape[1] else {
            throw call.unsupported("query, key and value other than [B,S,D], [B,L,D], [B,L,Dv]")
        }
        let (batch, queries, width) = (query.shape[0], query.shape[1], query.shape[2])
        let keys = key.shape[1], vWidth = value.shape[2], heads = call.int("num_heads", 0)
        guard heads > 0, width % heads == 0, vWidth % heads == 0 else { throw call.failure("num_heads does not divide the projections") }
        var q = query.asFloats, k = key.asFloats, v = value.asFloats
        if let bias = try call.optionalTensor(3)?.asFloats {
            guard bias.count == 2 * width + vWidth else { throw call.failure("bias must be [D + D + Dv]") }
            for i in q.indices { q[i] += bias[i % width] }
            for i in k.indices { k[i] += bias[width + i % width] }
            for i in v.indices { v[i] += bias[2 * width + i % vWidth] }
        }
        let mask = try KeyMask(call, input: 4, batch: batch, keys: keys)
        let attention = ScaledDotProductAttention(batch: batch, queries: queries, keys: keys, heads: heads,
                                                  dq: width / heads, dv: vWidth / heads,
                                                  scale: call.float("scale", 1 / sqrtf(Float(width / heads))),
                                                  causal: call.int("unidirectional", 0) != 0)
        var out = [Float](repeating: 0, count: batch * queries * vWidth)
        q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
            out.withUnsafeMutableBufferPointer { o in
                guard let qb = qp.baseAddress, let kb = kp.baseAddress, let vb = vp.baseAddress, let ob = o.baseAddress else { return }
                attention.run(q: (qb, HeadRows(row: width, batch: queries * width)), k: (kb, HeadRows(row: width, batch: keys * width)),
                              v: (vb, HeadRows(row: vWidth, batch: keys * vWidth)), mask: mask, out: ob)
            }
        } } }
        if call.outputCount > 1 && (1..<call.outputCount).contains(where: { !call.node.outputs[$0].isEmpty }) {
            throw call.unsupported("present key and value outputs")
        }
        return [.tensor(NDArray(floats: out, shape: [batch, queries, vWidth], type: query.dataType))]
    }

    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let q = try call.shape(0)
        guard q.count == 3, call.has(1), call.has(2) else { throw call.gap("query [B,S,D] with separate key and value expected") }
        let k = try call.shape(1), v = try call.shape(2)
        guard k.count == 3, v.count == 3 else { throw call.gap("key [B,L,D] and value [B,L,Dv] expected") }
        call.macs = call.macs + q[0] * q[1] * k[1] * (q[2] + v[2])
        return [.tensor(try call.type(0), [q[0], q[1], v[2]])]
    }

    /// Head h owns columns [h·d, (h+1)·d) of query and key, [h·dv, (h+1)·dv) of value and
    /// output, and those three blocks of the packed bias; `num_heads` follows the kept heads.
    static func axes(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard call.hasInput(1), call.hasInput(2), call.rank(.input(0)) == 3, call.rank(.input(1)) == 3 else {
            return .opaque("MultiHeadAttention with packed QKV")
        }
        guard let width = call.dim(.input(0), 2), let vWidth = call.dim(.input(2), 2) else {
            return .opaque("MultiHeadAttention projections of unknown width")
        }
        let heads = call.int("num_heads", 0)
        guard heads > 0, width % heads == 0, vWidth % heads == 0 else { return .opaque("num_heads does not divide the projections") }
        if (1..<call.outputCount).contains(where: { !call.node.outputs[$0].isEmpty }) {
            return .opaque("MultiHeadAttention present key and value")
        }
        let d = width / heads, dv = vWidth / heads
        let axis = from == .input(3) ? 0 : 2
        guard [.input(0), .input(1), .input(2), .input(3), .output(0)].contains(from), u.axis == axis else {
            return from == .input(4) ? .tied([]) : .opaque("MultiHeadAttention mixes tokens")
        }
        /// Head of index i on the port the units came from, and the head's index count there.
        func head(_ i: Int) -> Int {
            switch from {
            case .input(2), .output(0): return i / dv
            case .input(3): return i < 2 * width ? (i % width) / d : (i - 2 * width) / dv
            default: return i / d
            }
        }
        let perHead = from == .input(3) ? 2 * d + dv : (from == .input(2) || from == .output(0)) ? dv : d
        var headsOf: [[Int]] = []
        for unit in u.units {
            let hs = Set(unit.map(head))
            guard unit.count == hs.count * perHead else { return .opaque("MultiHeadAttention splits a head inside a unit") }
            headsOf.append(hs.sorted())
        }
        func block(_ size: Int, offset: Int = 0) -> ([Int]) -> [Int] {
            { hs in hs.flatMap { h in Array((offset + h * size)..<(offset + (h + 1) * size)) } }
        }
        let qk = headsOf.map(block(d)), values = headsOf.map(block(dv))
        let bias = headsOf.map { hs in block(d)(hs) + block(d, offset: width)(hs) + block(dv, offset: 2 * width)(hs) }
        var links: [(port: NodePort, units: AxisUnits)] = [
            (.input(0), AxisUnits(axis: 2, length: width, units: qk)),
            (.input(1), AxisUnits(axis: 2, length: width, units: qk)),
            (.input(2), AxisUnits(axis: 2, length: vWidth, units: values)),
            (.output(0), AxisUnits(axis: 2, length: vWidth, units: values)),
        ]
        if call.hasInput(3) { links.append((.input(3), AxisUnits(axis: 0, length: 2 * width + vWidth, units: bias))) }
        let edit = LengthEdit(site: .attribute("num_heads", element: nil), tracks: .output(0), axis: 2, divisor: dv)
        return .tied(links.filter { $0.port != from }, edits: [edit])
    }
}
