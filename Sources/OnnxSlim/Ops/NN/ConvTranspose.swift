/// ConvTranspose: W is [C, M/group, k1, k2, …]: output channels along axis 1, sums along axis 0.
enum ConvTransposeOp: OperatorKnowledge {
    static let opType = "ConvTranspose"

    static func weightUse(_ node: Node, weightRank: Int) -> WeightUse? {
        guard weightRank >= 3 else { return nil }
        return WeightUse(input: 1, channelAxis: 1, reductionAxis: 0)
    }
}
