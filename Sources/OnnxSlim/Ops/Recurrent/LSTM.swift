/// LSTM with gates i (input), o (output), f (forget), c (cell) and optional peepholes P = (Pi, Po, Pf):
///     i = f(X·Wiᵀ + H·Riᵀ + Pi ⊙ C + Wbi + Rbi),  f_ = f(… + Pf ⊙ C …) (1 - i with input_forget)
///     c = g(X·Wcᵀ + H·Rcᵀ + Wbc + Rbc),  C' = f_ ⊙ C + i ⊙ c
///     o = f(X·Woᵀ + H·Roᵀ + Po ⊙ C' + Wbo + Rbo),  H' = o ⊙ h(C')
enum LSTMOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let layer = try RecurrentLayer(call, gates: 4)
        let acts = try RecurrentActivation.parse(call, defaults: [.sigmoid, .tanh, .tanh], directions: layer.directions)
        let inputForget = call.int("input_forget", 0) != 0
        let seq = layer.seqLength, batch = layer.batch, hidden = layer.hidden, dirs = layer.directions
        let width = 4 * hidden
        var peepholes = [Float](repeating: 0, count: dirs * 3 * hidden)
        if let pt = try call.optionalTensor(7) {
            guard pt.shape == [dirs, 3 * hidden] else { throw call.failure("P \(pt.shape) should be [\(dirs), \(3 * hidden)]") }
            peepholes = pt.asFloats
        }
        let hState = FloatScratch(try layer.initialState(call, 5)), cState = FloatScratch(try layer.initialState(call, 6))
        let y = FloatScratch(seq * dirs * batch * hidden)
        let hr = FloatScratch(batch * width), gates = FloatScratch(width)
        for d in 0..<dirs {
            let (wb, rb) = layer.biases(d)
            let xw = layer.inputProjection(direction: d, rowBias: zip(wb, rb).map { $0 + $1 })
            let h = hState.p + d * batch * hidden, cs = cState.p + d * batch * hidden
            let f = acts[d][0], g = acts[d][1], hAct = acts[d][2]
            let pBase = d * 3 * hidden
            let pi = Array(peepholes[pBase..<(pBase + hidden)])
            let po = Array(peepholes[(pBase + hidden)..<(pBase + 2 * hidden)])
            let pf = Array(peepholes[(pBase + 2 * hidden)..<(pBase + 3 * hidden)])
            xw.withUnsafeBufferPointer { xp in
                guard let xwp = xp.baseAddress else { return }
                for s in 0..<seq {
                    layer.hiddenProjection(direction: d, state: h, firstRow: 0, count: width, out: hr.p, ldc: width)
                    for b in 0..<batch {
                        guard let t = layer.time(step: s, batch: b, direction: d) else { continue }
                        let x = xwp + (t * batch + b) * width, r = hr.p + b * width, q = gates.p
                        let c = cs + b * hidden, hb = h + b * hidden
                        let gi = q, go = q + hidden, gf = q + 2 * hidden, gc = q + 3 * hidden
                        for j in 0..<width { q[j] = x[j] + r[j] }
                        for j in 0..<hidden { gi[j] += pi[j] * c[j]; gf[j] += pf[j] * c[j] }
                        layer.clipped(gi, hidden); layer.clipped(gf, hidden); layer.clipped(gc, hidden)
                        f.apply(gi, hidden)
                        if inputForget { for j in 0..<hidden { gf[j] = 1 - gi[j] } } else { f.apply(gf, hidden) }
                        g.apply(gc, hidden)
                        for j in 0..<hidden {
                            c[j] = gf[j] * c[j] + gi[j] * gc[j]
                            go[j] += po[j] * c[j]
                        }
                        layer.clipped(go, hidden)
                        f.apply(go, hidden)
                        // h(C') is built in the spent cell-candidate row.
                        for j in 0..<hidden { gc[j] = c[j] }
                        hAct.apply(gc, hidden)
                        let yb = y.p + ((t * dirs + d) * batch + b) * hidden
                        for j in 0..<hidden {
                            let v = go[j] * gc[j]
                            hb[j] = v; yb[j] = v
                        }
                    }
                }
            }
        }
        return layer.outputs(y: y.array, states: [hState.array, cState.array], call: call)
    }
}
