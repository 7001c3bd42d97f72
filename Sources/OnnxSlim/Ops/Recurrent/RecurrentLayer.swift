/// What RNN, GRU and LSTM share: inputs brought to time-major form, per-batch sequence lengths,
/// directions, the input projection of all time steps in one sgemm, and the outputs put back in
/// the requested layout.
///
/// Inputs: X [seq, batch, input] (layout 1: [batch, seq, input]), W [dirs, gates·H, input],
/// R [dirs, gates·H, H], B [dirs, 2·gates·H], sequence_lens [batch], initial_h [dirs, batch, H]
/// (layout 1: [batch, dirs, H]). Outputs: Y [seq, dirs, batch, H] (layout 1: [batch, seq, dirs, H])
/// and Y_h (LSTM: also Y_c) [dirs, batch, H] (layout 1: [batch, dirs, H]).
struct RecurrentLayer {
    let seqLength: Int, batch: Int, inputSize: Int, hidden: Int, directions: Int, gates: Int
    let layout: Int
    let dataType: DataType
    /// X time-major [seq, batch, input].
    let x: [Float]
    let w: [Float], r: [Float]
    /// [dirs, 2·gates·H], zeros when B is omitted.
    let bias: [Float]
    /// Steps each batch entry runs (sequence_lens, else seqLength).
    let lengths: [Int]
    let clip: Float?
    /// Direction d runs backwards in time.
    let reversed: [Bool]

    init(_ call: KernelCall, gates: Int) throws {
        self.gates = gates
        let xt = try call.tensor(0), wt = try call.tensor(1), rt = try call.tensor(2)
        guard let xv = xt.floats, let wv = wt.floats, let rv = rt.floats else {
            throw call.failure("X, W and R must be floating (got \(xt.dataType), \(wt.dataType), \(rt.dataType))")
        }
        layout = call.int("layout", 0)
        guard layout == 0 || layout == 1 else { throw call.failure("layout \(layout)") }
        guard xt.rank == 3, wt.rank == 3, rt.rank == 3 else {
            throw call.failure("X \(xt.shape), W \(wt.shape), R \(rt.shape) must be 3-D")
        }
        dataType = xt.dataType
        seqLength = layout == 0 ? xt.shape[0] : xt.shape[1]
        batch = layout == 0 ? xt.shape[1] : xt.shape[0]
        inputSize = xt.shape[2]
        directions = wt.shape[0]
        hidden = rt.shape[2]
        if let h = call.attribute("hidden_size"), Int(h.i) != hidden { throw call.failure("hidden_size \(h.i) differs from R \(rt.shape)") }
        guard wt.shape == [directions, gates * hidden, inputSize], rt.shape == [directions, gates * hidden, hidden] else {
            throw call.failure("W \(wt.shape) / R \(rt.shape) do not fit \(gates) gates of hidden size \(hidden) and input \(inputSize)")
        }
        let direction = call.string("direction", "forward")
        switch direction {
        case "forward": reversed = [false]
        case "reverse": reversed = [true]
        case "bidirectional": reversed = [false, true]
        default: throw call.failure("direction '\(direction)'")
        }
        guard reversed.count == directions else { throw call.failure("direction \(direction) with W for \(directions) direction(s)") }
        x = layout == 0 ? xv : Self.swapLeadingAxes(xv, batch, seqLength, inputSize)
        w = wv; r = rv
        if let bt = try call.optionalTensor(3) {
            guard bt.shape == [directions, 2 * gates * hidden] else { throw call.failure("B \(bt.shape) should be [\(directions), \(2 * gates * hidden)]") }
            bias = bt.asFloats
        } else {
            bias = [Float](repeating: 0, count: directions * 2 * gates * hidden)
        }
        if let lt = try call.optionalTensor(4) {
            let l = lt.asInts
            let steps = seqLength
            guard l.count == batch, l.allSatisfy({ $0 >= 0 && $0 <= steps }) else {
                throw call.failure("sequence_lens \(l) do not fit batch \(batch) and sequence length \(seqLength)")
            }
            lengths = l
        } else {
            lengths = [Int](repeating: seqLength, count: batch)
        }
        clip = call.attribute("clip").map { $0.f }
    }

    /// An initial state input (initial_h, initial_c) as [dirs, batch, H], zeros when omitted.
    func initialState(_ call: KernelCall, _ k: Int) throws -> [Float] {
        guard let t = try call.optionalTensor(k) else { return [Float](repeating: 0, count: directions * batch * hidden) }
        let expected = layout == 0 ? [directions, batch, hidden] : [batch, directions, hidden]
        guard t.shape == expected else { throw call.failure("initial state \(t.shape) should be \(expected)") }
        let v = t.asFloats
        return layout == 0 ? v : Self.swapLeadingAxes(v, batch, directions, hidden)
    }

    /// [a, b, inner] → [b, a, inner].
    static func swapLeadingAxes(_ v: [Float], _ a: Int, _ b: Int, _ inner: Int) -> [Float] {
        var out = [Float](repeating: 0, count: v.count)
        for i in 0..<a {
            for j in 0..<b {
                let from = (i * b + j) * inner, to = (j * a + i) * inner
                for k in 0..<inner { out[to + k] = v[from + k] }
            }
        }
        return out
    }

    /// X · W_dᵀ plus `rowBias` for every time step and batch entry: [seq·batch, gates·H].
    func inputProjection(direction d: Int, rowBias: [Float]) -> [Float] {
        let width = gates * hidden, rows = seqLength * batch
        var out = [Float](repeating: 0, count: rows * width)
        out.withUnsafeMutableBufferPointer { op in
            guard let o = op.baseAddress else { return }
            for row in 0..<rows { for j in 0..<width { o[row * width + j] = rowBias[j] } }
            x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
                guard let xb = xp.baseAddress, let wb = wp.baseAddress else { return }
                BLAS.sgemm(transB: true, m: rows, n: width, k: inputSize, a: xb, lda: inputSize,
                           b: wb + d * width * inputSize, ldb: inputSize, beta: 1, c: o, ldc: width)
            } }
        }
        return out
    }

    /// Bias halves of direction d: (Wb, Rb), each gates·H.
    func biases(_ d: Int) -> (w: ArraySlice<Float>, r: ArraySlice<Float>) {
        let width = gates * hidden, base = d * 2 * width
        return (bias[base..<(base + width)], bias[(base + width)..<(base + 2 * width)])
    }

    /// H = state · R_d[rows]ᵀ for `count` gate rows starting at `firstRow`: [batch, count], into `out` (row stride ldc).
    func hiddenProjection(direction d: Int, state: UnsafePointer<Float>, firstRow: Int, count: Int,
                          out: UnsafeMutablePointer<Float>, ldc: Int) {
        r.withUnsafeBufferPointer { rp in
            guard let rb = rp.baseAddress else { return }
            BLAS.sgemm(transB: true, m: batch, n: count, k: hidden, a: state, lda: hidden,
                       b: rb + (d * gates * hidden + firstRow) * hidden, ldb: hidden, c: out, ldc: ldc)
        }
    }

    /// The time index batch entry b reads at step s of direction d, or nil once its sequence ended.
    @inline(__always)
    func time(step s: Int, batch b: Int, direction d: Int) -> Int? {
        let n = lengths[b]
        guard s < n else { return nil }
        return reversed[d] ? n - 1 - s : s
    }

    @inline(__always)
    func clipped(_ p: UnsafeMutablePointer<Float>, _ count: Int) {
        guard let c = clip else { return }
        for k in 0..<count { p[k] = min(max(p[k], -c), c) }
    }

    /// Outputs in the requested layout: Y from time-major [seq, dirs, batch, H], states from [dirs, batch, H].
    func outputs(y: [Float], states: [[Float]], call: KernelCall) -> [Value] {
        var result: [Value] = []
        if layout == 0 {
            result.append(.tensor(NDArray(floats: y, shape: [seqLength, directions, batch, hidden], type: dataType)))
            for s in states { result.append(.tensor(NDArray(floats: s, shape: [directions, batch, hidden], type: dataType))) }
        } else {
            // [seq, dirs, batch, H] → [batch, seq, dirs, H]
            var yt = [Float](repeating: 0, count: y.count)
            for t in 0..<seqLength {
                for d in 0..<directions {
                    for b in 0..<batch {
                        let from = ((t * directions + d) * batch + b) * hidden, to = ((b * seqLength + t) * directions + d) * hidden
                        for k in 0..<hidden { yt[to + k] = y[from + k] }
                    }
                }
            }
            result.append(.tensor(NDArray(floats: yt, shape: [batch, seqLength, directions, hidden], type: dataType)))
            for s in states {
                result.append(.tensor(NDArray(floats: Self.swapLeadingAxes(s, directions, batch, hidden),
                                              shape: [batch, directions, hidden], type: dataType)))
            }
        }
        return result
    }
}

/// A zeroed Float buffer the step loops work in through a plain pointer (states, gate scratch).
final class FloatScratch {
    let p: UnsafeMutablePointer<Float>
    let count: Int

    init(_ count: Int) {
        self.count = count
        p = .allocate(capacity: max(count, 1))
        p.initialize(repeating: 0, count: max(count, 1))
    }

    convenience init(_ values: [Float]) {
        self.init(values.count)
        for k in 0..<values.count { p[k] = values[k] }
    }

    deinit { p.deallocate() }

    var array: [Float] { Array(UnsafeBufferPointer(start: p, count: count)) }
}

extension RecurrentLayer {
    /// Y [seq, dirs, batch, H] and the final states [dirs, batch, H] (layout 1: batch first).
    /// MACs per step and direction: gates·H·(input + H) for the two products.
    static func inferShape(gates: Int, states: Int) -> ShapeRule {
        { call in
            let x = try call.shape(0), w = try call.shape(1), type = try call.type(0)
            guard x.count == 3, w.count == 3 else { throw call.gap("X and W must be 3-D") }
            let layout = call.int("layout", 0)
            let seq = layout == 0 ? x[0] : x[1], batch = layout == 0 ? x[1] : x[0]
            let dirs = w[0]
            let hidden = call.attribute("hidden_size").map { DimExpr(Int($0.i)) } ?? w[1].floorDiv(gates)
            let y: [DimExpr] = layout == 0 ? [seq, dirs, batch, hidden] : [batch, seq, dirs, hidden]
            let state: [DimExpr] = layout == 0 ? [dirs, batch, hidden] : [batch, dirs, hidden]
            let perStep = DimExpr(gates) * hidden * (x[2] + hidden)
            call.macs = seq * batch * dirs * perStep
            call.flops = call.macs * 2
            return [.tensor(type, y)] + Array(repeating: .tensor(type, state), count: states)
        }
    }
}
