/// What passes know about an operator. Each operator keeps its knowledge in its own file
/// (Ops/MatMul.swift, …) so generic passes ask the operator instead of growing switches.
public protocol OperatorKnowledge {
    static var opType: String { get }
    /// How `node` uses a constant weight of rank `weightRank`, or nil when it takes none there.
    static func weightUse(_ node: Node, weightRank: Int) -> WeightUse?
}

/// How a node consumes a weight.
public struct WeightUse: Hashable, Sendable {
    public enum Kind: Sendable { case dense, lookup }
    /// The input position of the weight.
    public var input: Int
    /// The axis that indexes output channels (per-channel scales go along it).
    public var channelAxis: Int
    /// The axis the operator sums over (blocked quantization splits it into blocks).
    public var reductionAxis: Int
    /// `.lookup` for an embedding table read row by row (Gather), `.dense` for math on the whole weight.
    public var kind: Kind = .dense
}

/// The registry of operator knowledge for the default ONNX domain.
public enum Operators {
    static let all: [any OperatorKnowledge.Type] = [
        MatMulOp.self, GemmOp.self, ConvOp.self, ConvTransposeOp.self, GatherOp.self,
    ]
    static let registry: [String: any OperatorKnowledge.Type] = {
        var table: [String: any OperatorKnowledge.Type] = [:]
        for op in all { table[op.opType] = op }
        return table
    }()

    public static func knowledge(_ node: Node) -> (any OperatorKnowledge.Type)? {
        node.isDefaultDomain ? registry[node.opType] : nil
    }

    /// Operator types that take a weight.
    public static var weightOperators: [String] { registry.keys.sorted() }
}

extension Node {
    func intAttribute(_ name: String, default value: Int64) -> Int64 {
        attribute(name).map { $0.i } ?? value
    }
}
