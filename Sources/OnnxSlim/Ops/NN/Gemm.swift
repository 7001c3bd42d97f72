/// Gemm: Y = alpha · A' · B' + beta · C. B is [K, N], or [N, K] with transB = 1.
enum GemmOp: OperatorKnowledge {
    static let opType = "Gemm"

    static func weightUse(_ node: Node, weightRank: Int) -> WeightUse? {
        guard weightRank == 2 else { return nil }
        let transposed = node.intAttribute("transB", default: 0) != 0
        return WeightUse(input: 1, channelAxis: transposed ? 0 : 1, reductionAxis: transposed ? 1 : 0)
    }
}
