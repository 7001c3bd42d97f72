/// The result of `onnx-slim diff A B`: a list of changes, each with a kind and the names it
/// concerns in A and in B. Rewrites onnx-slim makes (quantization, low-rank factorization,
/// pruning, float16 conversion, constant folding) are one change each; the nodes and weights they
/// replace are not listed again as unrelated additions and removals.
public struct ModelDiff {
    public enum Kind: String, Sendable, CaseIterable {
        // rewrites
        case quantized, lowRank = "low_rank", pruned, precision, folded
        // signature
        case opset, irVersion = "ir_version"
        case inputAdded = "input_added", inputRemoved = "input_removed", inputChanged = "input_changed"
        case outputAdded = "output_added", outputRemoved = "output_removed", outputChanged = "output_changed"
        // graph
        case nodeAdded = "node_added", nodeRemoved = "node_removed", nodeChanged = "node_changed"
        case weightAdded = "weight_added", weightRemoved = "weight_removed", weightChanged = "weight_changed"

        public var isRewrite: Bool { [.quantized, .lowRank, .pruned, .precision, .folded].contains(self) }

        /// Words for the summary.
        public var label: String {
            switch self {
            case .quantized: return "weights quantized"
            case .lowRank: return "layers factored (low rank)"
            case .pruned: return "layers pruned"
            case .precision: return "precision conversions"
            case .folded: return "constants folded"
            case .opset: return "opset changes"
            case .irVersion: return "IR version changes"
            case .inputAdded: return "inputs added"
            case .inputRemoved: return "inputs removed"
            case .inputChanged: return "inputs changed"
            case .outputAdded: return "outputs added"
            case .outputRemoved: return "outputs removed"
            case .outputChanged: return "outputs changed"
            case .nodeAdded: return "nodes added"
            case .nodeRemoved: return "nodes removed"
            case .nodeChanged: return "nodes changed"
            case .weightAdded: return "weights added"
            case .weightRemoved: return "weights removed"
            case .weightChanged: return "weights changed"
            }
        }
    }

    public struct Change {
        public var kind: Kind
        /// Names in A and in B (nodes by name, weights and values by name).
        public var a: [String]
        public var b: [String]
        /// One line for people.
        public var detail: String
        /// Machine-readable facts (dtype, rank, counts, …) for --json.
        public var fields: [(String, JSONValue)] = []
        /// "" for the main graph, else the path of the subgraph ("Loop_0/body").
        public var graph: String = ""
        /// Vertices of the main graph's DiffGraph in A and B (for the picture).
        public var aVertices: [Int] = []
        public var bVertices: [Int] = []

        public init(_ kind: Kind, a: [String] = [], b: [String] = [], _ detail: String, fields: [(String, JSONValue)] = []) {
            self.kind = kind
            self.a = a
            self.b = b
            self.detail = detail
            self.fields = fields
        }
    }

    public struct Side {
        public var path: String
        public var fileSize: Int
        public var nodes: Int
        public var parameters: Int
        public var weightBytes: Int
        public var opsets: [(domain: String, version: Int64)]
    }

    public var a: Side
    public var b: Side
    public var changes: [Change] = []
    /// Graph inputs/outputs matched by position under another name: (kind, name in A, name in B).
    /// Not counted as changes (a renamed copy is the same model), but listed.
    public var renamedIO: [(what: String, a: String, b: String)] = []
    public var matchedNodes = 0
    /// Whether weight values were read (--weights).
    public var weightsRead = false
    /// The main graphs and their matching, for the picture.
    public var graphA: DiffGraph?
    public var graphB: DiffGraph?
    public var matcher: GraphMatcher?

    public var identical: Bool { changes.isEmpty }

    /// Changes by kind, in the order of `Kind.allCases`.
    public var counts: [(Kind, Int)] {
        var c: [Kind: Int] = [:]
        for ch in changes { c[ch.kind, default: 0] += 1 }
        return Kind.allCases.compactMap { k in c[k].map { (k, $0) } }
    }
}
