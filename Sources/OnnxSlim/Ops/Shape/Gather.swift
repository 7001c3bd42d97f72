/// Gather with axis 0 on a constant 2-D table is an embedding lookup: rows are read one by one,
/// so each row gets its own scale(s) and only the gathered rows need dequantizing.
enum GatherOp: OperatorKnowledge {
    static let opType = "Gather"

    static func weightUse(_ node: Node, weightRank: Int) -> WeightUse? {
        guard weightRank == 2, node.intAttribute("axis", default: 0) == 0 else { return nil }
        return WeightUse(input: 0, channelAxis: 0, reductionAxis: 1, kind: .lookup)
    }
}
