/// A ModelProto: the file's top-level message.
public struct Model: Hashable, Sendable {
    public var irVersion: Int64 = 0
    public var opsetImports: [OperatorSetID] = []
    public var producerName: String = ""
    public var producerVersion: String = ""
    public var domain: String = ""
    public var modelVersion: Int64 = 0
    public var docString: String = ""
    var _graph: [Graph] = []
    public var metadata: [StringPair] = []
    public var trainingInfo: [TrainingInfo] = []
    public var functions: [Function] = []
    public var configuration: [OpaqueMessage] = []
    public var proto = ProtoExtras()

    public init() {}

    public var graph: Graph? { get { _graph.first } set { _graph = newValue.map { [$0] } ?? [] } }

    /// The main graph, mutated in place (created empty if absent).
    public var mainGraph: Graph {
        get { _graph.first ?? Graph() }
        set { _graph = [newValue] }
    }

    public enum Field {
        public static let irVersion = 1, producerName = 2, producerVersion = 3, domain = 4
        public static let modelVersion = 5, docString = 6
    }

    /// The version imported for `domain` ("" and "ai.onnx" both mean the default domain).
    public func opsetVersion(domain: String = "") -> Int64? {
        let isDefault = domain.isEmpty || domain == "ai.onnx"
        return opsetImports.last {
            isDefault ? ($0.domain.isEmpty || $0.domain == "ai.onnx") : $0.domain == domain
        }?.version
    }
}

/// OperatorSetIdProto: a domain and its version.
public struct OperatorSetID: Hashable, Sendable {
    public var domain: String = ""
    public var version: Int64 = 0
    public var proto = ProtoExtras()
    public init(domain: String = "", version: Int64) {
        self.domain = domain
        self.version = version
    }
    public enum Field { public static let domain = 1, version = 2 }
}

/// FunctionProto: a model-local function (its body is a list of nodes).
public struct Function: Hashable, Sendable {
    public var name: String = ""
    public var inputs: [String] = []
    public var outputs: [String] = []
    public var attributeNames: [String] = []
    public var attributeProtos: [Attribute] = []
    public var nodes: [Node] = []
    public var docString: String = ""
    public var opsetImports: [OperatorSetID] = []
    public var domain: String = ""
    public var overload: String = ""
    public var valueInfo: [ValueInfo] = []
    public var metadata: [StringPair] = []
    public var proto = ProtoExtras()
    public init() {}
    public enum Field { public static let name = 1, docString = 8, domain = 10, overload = 13 }
}

/// TrainingInfoProto: initialization and algorithm graphs with their bindings.
public struct TrainingInfo: Hashable, Sendable {
    private var _initialization: [Graph] = []
    private var _algorithm: [Graph] = []
    public var initializationBinding: [StringPair] = []
    public var updateBinding: [StringPair] = []
    public var proto = ProtoExtras()
    public init() {}
    public var initialization: Graph? {
        get { _initialization.first }
        set { _initialization = newValue.map { [$0] } ?? [] }
    }
    public var algorithm: Graph? {
        get { _algorithm.first }
        set { _algorithm = newValue.map { [$0] } ?? [] }
    }
}
