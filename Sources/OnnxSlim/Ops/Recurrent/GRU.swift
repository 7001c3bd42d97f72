/// GRU with gates z (update), r (reset), h (candidate):
///     z = f(X·Wzᵀ + H·Rzᵀ + Wbz + Rbz),  r = f(X·Wrᵀ + H·Rrᵀ + Wbr + Rbr)
///     h = g(X·Whᵀ + (r ⊙ H)·Rhᵀ + Rbh + Wbh)          (linear_before_reset = 0)
///     h = g(X·Whᵀ + r ⊙ (H·Rhᵀ + Rbh) + Wbh)          (linear_before_reset ≠ 0)
///     H' = (1 - z) ⊙ h + z ⊙ H
enum GRUOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let layer = try RecurrentLayer(call, gates: 3)
        let acts = try RecurrentActivation.parse(call, defaults: [.sigmoid, .tanh], directions: layer.directions)
        let linearBeforeReset = call.int("linear_before_reset", 0) != 0
        let seq = layer.seqLength, batch = layer.batch, hidden = layer.hidden, dirs = layer.directions
        let width = 3 * hidden
        let state = FloatScratch(try layer.initialState(call, 5))
        let y = FloatScratch(seq * dirs * batch * hidden)
        let hr = FloatScratch(batch * width), update = FloatScratch(batch * hidden), reset = FloatScratch(batch * hidden)
        for d in 0..<dirs {
            let (wb, rb) = layer.biases(d)
            var rowBias = Array(wb)
            for j in 0..<(linearBeforeReset ? 2 * hidden : width) { rowBias[j] += rb[rb.startIndex + j] }
            let rbh = Array(rb.suffix(hidden))
            let xw = layer.inputProjection(direction: d, rowBias: rowBias)
            let h = state.p + d * batch * hidden
            let f = acts[d][0], g = acts[d][1]
            xw.withUnsafeBufferPointer { xp in
                guard let xwp = xp.baseAddress else { return }
                for s in 0..<seq {
                    layer.hiddenProjection(direction: d, state: h, firstRow: 0, count: linearBeforeReset ? width : 2 * hidden,
                                           out: hr.p, ldc: width)
                    for b in 0..<batch {
                        guard let t = layer.time(step: s, batch: b, direction: d) else { continue }
                        let x = xwp + (t * batch + b) * width, r = hr.p + b * width
                        let z = update.p + b * hidden, rr = reset.p + b * hidden
                        for j in 0..<hidden { z[j] = x[j] + r[j]; rr[j] = x[hidden + j] + r[hidden + j] }
                        layer.clipped(z, hidden); layer.clipped(rr, hidden)
                        f.apply(z, hidden); f.apply(rr, hidden)
                        if !linearBeforeReset {
                            // r ⊙ H, the input of the candidate's hidden projection.
                            let hb = h + b * hidden
                            for j in 0..<hidden { rr[j] *= hb[j] }
                        }
                    }
                    if !linearBeforeReset {
                        layer.hiddenProjection(direction: d, state: reset.p, firstRow: 2 * hidden, count: hidden,
                                               out: hr.p + 2 * hidden, ldc: width)
                    }
                    for b in 0..<batch {
                        guard let t = layer.time(step: s, batch: b, direction: d) else { continue }
                        let x = xwp + (t * batch + b) * width + 2 * hidden, r = hr.p + b * width + 2 * hidden
                        // The candidate is built in the reset scratch row (its value is spent).
                        let c = reset.p + b * hidden, z = update.p + b * hidden
                        if linearBeforeReset {
                            for j in 0..<hidden { c[j] = x[j] + c[j] * (r[j] + rbh[j]) }
                        } else {
                            for j in 0..<hidden { c[j] = x[j] + r[j] }
                        }
                        layer.clipped(c, hidden)
                        g.apply(c, hidden)
                        let hb = h + b * hidden, yb = y.p + ((t * dirs + d) * batch + b) * hidden
                        for j in 0..<hidden {
                            let v = (1 - z[j]) * c[j] + z[j] * hb[j]
                            hb[j] = v; yb[j] = v
                        }
                    }
                }
            }
        }
        return layer.outputs(y: y.array, states: [state.array], call: call)
    }
}
