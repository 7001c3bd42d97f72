/// Conv: W is [M, C/group, k1, k2, …]: output channels along axis 0, sums along axis 1 (and the kernel).
enum ConvOp: OperatorKnowledge {
    static let opType = "Conv"

    static func weightUse(_ node: Node, weightRank: Int) -> WeightUse? {
        guard weightRank >= 3 else { return nil }
        return WeightUse(input: 1, channelAxis: 0, reductionAxis: 1)
    }
}
