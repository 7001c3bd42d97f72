import Foundation

/// Ranks for the dense layers of a model under one budget, from their (whitened) spectra.
///
/// Each layer may stay dense (m·n parameters, no loss) or take a rank r, a multiple of
/// `roundTo` up to `maxRank` (r·(m+n) parameters; loss Σ_{i≥r} σ_i² over the layer's output
/// energy Σ σ_i², the share of its output lost). One global choice, not one ratio per layer:
/// the least summed loss with the parameters under the budget.
struct RankAllocation {
    struct Layer {
        var inputs: Int
        var outputs: Int
        var spectrum: [Double]
        /// Σ σ_i²: the layer's output energy (whitened) or ‖W‖² (plain).
        var total: Double { spectrum.reduce(0, +) }
        var dense: Int { inputs * outputs }
        /// The energy lost at rank r: Σ_{i≥r} σ_i².
        func loss(rank r: Int) -> Double { spectrum[min(r, spectrum.count)...].reduce(0, +) }
    }

    /// The largest rank at which the factored pair is faster in onnxruntime than the dense
    /// product, as a multiple of `roundTo` (0 when none): 80% of the break-even rank m·n/(m+n)
    /// (where the pair has W's parameter count), 70% when min(m, n) < 256. Measured by
    /// scripts/bench/bench_lowrank_speed.py on an AVX-512 Xeon, onnxruntime 1.31.1, single thread:
    /// for 384–1536-wide layers the pair's speed follows its parameter count (1.15–1.5x at 80%,
    /// 1.03–1.2x at 90%, 0.92–1.0x at 100%, for 16 to 512 tokens); 128×128 and 64×256 layers at
    /// 16 tokens are already slower at 80% (0.97x) and faster at 70% (1.02–1.13x).
    static func maxRank(inputs m: Int, outputs n: Int, roundTo: Int) -> Int {
        let share = min(m, n) >= 256 ? 0.8 : 0.7
        let r = Int(share * Double(m * n) / Double(m + n))
        return r / max(roundTo, 1) * max(roundTo, 1)
    }

    /// One layer's options: (rank or nil for dense, cost, relative loss).
    static func candidates(_ l: Layer, roundTo: Int) -> [(rank: Int?, cost: Int, loss: Double)] {
        var out: [(rank: Int?, cost: Int, loss: Double)] = [(nil, l.dense, 0)]
        let total = max(l.total, .leastNormalMagnitude)
        var tail = l.total
        var r = 0
        let step = max(roundTo, 1)
        var next = step
        let top = maxRank(inputs: l.inputs, outputs: l.outputs, roundTo: roundTo)
        while next <= top {
            while r < next { tail -= r < l.spectrum.count ? l.spectrum[r] : 0; r += 1 }
            out.append((next, next * (l.inputs + l.outputs), max(tail, 0) / total))
            next += step
        }
        return out
    }

    /// Ranks (nil: dense) keeping the layers' parameters at most `keep` of their dense total,
    /// with the least summed loss: a multiple-choice knapsack, solved by dynamic programming over
    /// the budget in `buckets` steps (costs rounded up, so the answer always fits).
    static func underBudget(_ layers: [Layer], keep: Double, roundTo: Int, buckets: Int = 4000) -> [Int?] {
        let options = layers.map { candidates($0, roundTo: roundTo) }
        let budget = keep * Double(layers.reduce(0) { $0 + $1.dense })
        if budget >= Double(layers.reduce(0) { $0 + $1.dense }) { return layers.map { _ in nil } }
        let unit = max(budget / Double(buckets), 1)
        let size = Int((budget / unit).rounded(.down)) + 1
        // best[j]: least loss with cost j buckets over the layers so far; choice[k][j]: layer k's option.
        var best = [Double](repeating: .infinity, count: size)
        best[0] = 0
        var choice: [[UInt16]] = []
        for o in options {
            let costs = o.map { Int((Double($0.cost) / unit).rounded(.up)) }
            var next = [Double](repeating: .infinity, count: size)
            var picked = [UInt16](repeating: 0, count: size)
            for j in 0..<size where best[j] < .infinity {
                for (c, option) in o.enumerated() where j + costs[c] < size {
                    let loss = best[j] + option.loss
                    if loss < next[j + costs[c]] { next[j + costs[c]] = loss; picked[j + costs[c]] = UInt16(c) }
                }
            }
            best = next
            choice.append(picked)
        }
        // No choice fits: every layer at its smallest rank (or dense when it has none).
        guard var j = best.indices.min(by: { best[$0] < best[$1] }), best[j] < .infinity else {
            return options.map { o in o.count > 1 ? o[1].rank : nil }
        }
        var picks = [Int](repeating: 0, count: options.count)
        for k in options.indices.reversed() {
            let c = Int(choice[k][j])
            picks[k] = c
            j -= Int((Double(options[k][c].cost) / unit).rounded(.up))
        }
        // Rounding costs up leaves up to a bucket per layer unspent: spend it, at exact costs, on
        // the upgrade that saves the most loss per parameter, while one fits.
        var spent = zip(options, picks).reduce(0.0) { $0 + Double($1.0[$1.1].cost) }
        while true {
            var best: (layer: Int, option: Int, gain: Double)?
            for (k, o) in options.enumerated() {
                let current = o[picks[k]]
                for (c, option) in o.enumerated() where option.cost > current.cost && spent + Double(option.cost - current.cost) <= budget {
                    let gain = (current.loss - option.loss) / Double(option.cost - current.cost)
                    if gain > (best?.gain ?? 0) { best = (k, c, gain) }
                }
            }
            guard let b = best else { break }
            spent += Double(options[b.layer][b.option].cost - options[b.layer][picks[b.layer]].cost)
            picks[b.layer] = b.option
        }
        return zip(options, picks).map { $0.0[$0.1].rank }
    }

    /// Per layer the smallest rank keeping `energy` of its output energy, or dense when that rank
    /// saves nothing.
    static func byEnergy(_ layers: [Layer], energy: Double, roundTo: Int) -> [Int?] {
        layers.map { l in
            candidates(l, roundTo: roundTo).first { $0.rank != nil && 1 - $0.loss >= energy }?.rank
        }
    }
}
