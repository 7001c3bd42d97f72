/// RNN: H_t = f(X_t·Wᵀ + H_{t-1}·Rᵀ + Wb + Rb), f = Tanh unless `activations` says otherwise.
enum RNNOp {
    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let layer = try RecurrentLayer(call, gates: 1)
        let acts = try RecurrentActivation.parse(call, defaults: [.tanh], directions: layer.directions)
        let seq = layer.seqLength, batch = layer.batch, hidden = layer.hidden, dirs = layer.directions
        let state = FloatScratch(try layer.initialState(call, 5))
        let y = FloatScratch(seq * dirs * batch * hidden)
        let hr = FloatScratch(batch * hidden), pre = FloatScratch(hidden)
        for d in 0..<dirs {
            let (wb, rb) = layer.biases(d)
            let xw = layer.inputProjection(direction: d, rowBias: zip(wb, rb).map { $0 + $1 })
            let h = state.p + d * batch * hidden
            xw.withUnsafeBufferPointer { xp in
                guard let xwp = xp.baseAddress else { return }
                for s in 0..<seq {
                    layer.hiddenProjection(direction: d, state: h, firstRow: 0, count: hidden, out: hr.p, ldc: hidden)
                    for b in 0..<batch {
                        guard let t = layer.time(step: s, batch: b, direction: d) else { continue }
                        let g = xwp + (t * batch + b) * hidden, r = hr.p + b * hidden, p = pre.p
                        for j in 0..<hidden { p[j] = g[j] + r[j] }
                        layer.clipped(p, hidden)
                        acts[d][0].apply(p, hidden)
                        let hb = h + b * hidden, yb = y.p + ((t * dirs + d) * batch + b) * hidden
                        for j in 0..<hidden { hb[j] = p[j]; yb[j] = p[j] }
                    }
                }
            }
        }
        return layer.outputs(y: y.array, states: [state.array], call: call)
    }
}
