/// MatMul: Y = A · B. A constant B [.., K, N] is a weight: output channels along N (last axis),
/// sums along K (second to last).
enum MatMulOp: OperatorKnowledge {
    static let opType = "MatMul"

    static func weightUse(_ node: Node, weightRank: Int) -> WeightUse? {
        guard weightRank >= 2 else { return nil }
        return WeightUse(input: 1, channelAxis: weightRank - 1, reductionAxis: weightRank - 2)
    }
}
