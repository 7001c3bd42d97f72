/// A NodeProto: one operator application. Inputs and outputs are value names; "" marks an
/// omitted optional input.
public struct Node: Hashable, Sendable {
    public var inputs: [String] = []
    public var outputs: [String] = []
    public var name: String = ""
    public var opType: String = ""
    public var domain: String = ""
    public var overload: String = ""
    public var attributes: [Attribute] = []
    public var docString: String = ""
    public var metadata: [StringPair] = []
    public var deviceConfigurations: [OpaqueMessage] = []
    public var proto = ProtoExtras()

    public init() {}

    public init(_ opType: String, inputs: [String], outputs: [String], name: String = "",
                domain: String = "", attributes: [Attribute] = []) {
        self.opType = opType
        self.inputs = inputs
        self.outputs = outputs
        self.name = name
        self.domain = domain
        self.attributes = attributes
    }

    public enum Field {
        public static let name = 3, opType = 4, docString = 6, domain = 7, overload = 8
    }

    public func attribute(_ name: String) -> Attribute? { attributes.first { $0.name == name } }

    /// True for operators of the default ONNX domain ("" or "ai.onnx").
    public var isDefaultDomain: Bool { domain.isEmpty || domain == "ai.onnx" }

    /// Subgraphs held by this node's attributes (If branches, Loop/Scan bodies).
    public var subgraphs: [Graph] { attributes.flatMap { $0.subgraphs } }
}
