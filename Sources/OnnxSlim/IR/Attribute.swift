/// An AttributeProto. Every field of the proto is kept (exporters sometimes set more than the one
/// `type` names); `value` gives the typed view passes want.
public struct Attribute: Hashable, Sendable {
    public var name: String = ""
    public var refAttrName: String = ""
    public var docString: String = ""
    public var type: AttributeType = .undefined
    public var f: Float = 0
    public var i: Int64 = 0
    public var s: [UInt8] = []
    // Single submessages are boxed in arrays so an Attribute stays small and can nest graphs.
    private var _t: [Tensor] = []
    private var _g: [Graph] = []
    private var _sparseTensor: [SparseTensor] = []
    private var _tp: [TypeProto] = []
    public var floats: [Float] = []
    public var ints: [Int64] = []
    public var strings: [[UInt8]] = []
    public var tensors: [Tensor] = []
    public var graphs: [Graph] = []
    public var sparseTensors: [SparseTensor] = []
    public var typeProtos: [TypeProto] = []
    public var proto = ProtoExtras()

    public init() {}

    public var t: Tensor? { get { _t.first } set { _t = newValue.map { [$0] } ?? [] } }
    public var g: Graph? { get { _g.first } set { _g = newValue.map { [$0] } ?? [] } }
    public var sparseTensor: SparseTensor? {
        get { _sparseTensor.first }
        set { _sparseTensor = newValue.map { [$0] } ?? [] }
    }
    public var tp: TypeProto? { get { _tp.first } set { _tp = newValue.map { [$0] } ?? [] } }

    public enum Field {
        public static let name = 1, f = 2, i = 3, s = 4, docString = 13, type = 20, refAttrName = 21
    }

    // Convenience constructors set the field and the matching type.
    public static func int(_ name: String, _ v: Int64) -> Attribute {
        var a = Attribute(); a.name = name; a.type = .int; a.i = v; return a
    }
    public static func float(_ name: String, _ v: Float) -> Attribute {
        var a = Attribute(); a.name = name; a.type = .float; a.f = v; return a
    }
    public static func string(_ name: String, _ v: String) -> Attribute {
        var a = Attribute(); a.name = name; a.type = .string; a.s = Array(v.utf8); return a
    }
    public static func ints(_ name: String, _ v: [Int64]) -> Attribute {
        var a = Attribute(); a.name = name; a.type = .ints; a.ints = v; return a
    }
    public static func floats(_ name: String, _ v: [Float]) -> Attribute {
        var a = Attribute(); a.name = name; a.type = .floats; a.floats = v; return a
    }
    public static func tensor(_ name: String, _ v: Tensor) -> Attribute {
        var a = Attribute(); a.name = name; a.type = .tensor; a.t = v; return a
    }
    public static func graph(_ name: String, _ v: Graph) -> Attribute {
        var a = Attribute(); a.name = name; a.type = .graph; a.g = v; return a
    }

    /// The subgraphs this attribute holds (GRAPH or GRAPHS).
    public var subgraphs: [Graph] { _g + graphs }

    /// Applies `body` to every subgraph in place.
    public mutating func mutateSubgraphs(_ body: (inout Graph) throws -> Void) rethrows {
        for k in _g.indices { try body(&_g[k]) }
        for k in graphs.indices { try body(&graphs[k]) }
    }

    /// The string value decoded as UTF-8.
    public var stringValue: String { String(decoding: s, as: UTF8.self) }
}

/// AttributeProto.AttributeType, kept as the raw number.
public struct AttributeType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let undefined = AttributeType(rawValue: 0)
    public static let float = AttributeType(rawValue: 1)
    public static let int = AttributeType(rawValue: 2)
    public static let string = AttributeType(rawValue: 3)
    public static let tensor = AttributeType(rawValue: 4)
    public static let graph = AttributeType(rawValue: 5)
    public static let sparseTensor = AttributeType(rawValue: 11)
    public static let typeProto = AttributeType(rawValue: 13)
    public static let floats = AttributeType(rawValue: 6)
    public static let ints = AttributeType(rawValue: 7)
    public static let strings = AttributeType(rawValue: 8)
    public static let tensors = AttributeType(rawValue: 9)
    public static let graphs = AttributeType(rawValue: 10)
    public static let sparseTensors = AttributeType(rawValue: 12)
    public static let typeProtos = AttributeType(rawValue: 14)

    public var description: String {
        ["UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS", "STRINGS",
         "TENSORS", "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"]
            .dropFirst(Int(rawValue)).first.map { $0 } ?? "TYPE(\(rawValue))"
    }
}
