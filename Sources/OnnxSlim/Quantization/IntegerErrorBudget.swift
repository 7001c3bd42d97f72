/// `--int8-mode auto`: which MatMuls may quantize their activations at run time (the dynamic
/// form) and which keep float activations (folded int8 weights), by the noise the integer
/// products add to the whole model.
///
/// Each group of MatMuls reading one activation injects relative noise
/// r_g = ‖q_a(X)·q_w(W) − X·W‖² / ‖X·W‖² (simulated on calibration rows, after smoothing). In a
/// residual network these add up along the depth, so the model's budget is on Σ r_g: while it
/// exceeds `budget`, the group with the largest r_g keeps float activations. A 6-layer sentence
/// encoder (MiniLM: Σ r_g = 0.004) stays all integer; a 30-layer decoder LM (SmolLM2-135M:
/// Σ r_g = 0.09) keeps float activations in 103 of its 211 MatMuls. Measured on SmolLM2
/// (8 × 128 tokens of lee_background, Xeon AVX-512): all integer costs +22% perplexity at 2.3x
/// float speed; budget 0.01 +3.9% at 1.3x; 0.005 +4.1% at 1.2x; all folded +0% at 1.0x.
public struct IntegerErrorBudget {
    /// Σ r_g allowed over the model.
    var budget: Double

    /// Measured on trained models (above): smaller budgets buy SmolLM2 no accuracy, only lose
    /// speed; MiniLM's whole model sits well under it.
    public static let standard = 0.01

    /// Indices of the groups (their r_g given in order) that keep float activations: the largest
    /// first, until the rest sum to at most `budget`. Ties keep the earlier group integer.
    func floatGroups(_ relativeErrors: [Double]) -> [Int] {
        var total = relativeErrors.reduce(0, +)
        var chosen: [Int] = []
        let worstFirst = relativeErrors.indices.sorted { relativeErrors[$0] > relativeErrors[$1] || (relativeErrors[$0] == relativeErrors[$1] && $0 > $1) }
        for i in worstFirst where total > budget {
            chosen.append(i)
            total -= relativeErrors[i]
        }
        return chosen.sorted()
    }
}
