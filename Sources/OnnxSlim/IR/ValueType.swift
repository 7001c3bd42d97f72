/// A ValueInfoProto: a named value with its type (graph inputs, outputs, value_info).
public struct ValueInfo: Hashable, Sendable {
    public var name: String = ""
    private var _type: [TypeProto] = []
    public var docString: String = ""
    public var metadata: [StringPair] = []
    public var proto = ProtoExtras()

    public init() {}
    public init(name: String, type: TypeProto?) {
        self.name = name
        self.type = type
    }

    public var type: TypeProto? { get { _type.first } set { _type = newValue.map { [$0] } ?? [] } }

    public enum Field { public static let name = 1, docString = 3 }
}

/// A TypeProto: tensor, sequence, map, optional, sparse tensor or opaque.
public struct TypeProto: Hashable, Sendable {
    public var denotation: String = ""
    public var value: TypeValue = .none
    public var proto = ProtoExtras()

    public init() {}
    public init(_ value: TypeValue) { self.value = value }

    public static func tensor(_ elemType: DataType, _ dims: [Dimension]?) -> TypeProto {
        TypeProto(.tensor(TensorType(elemType: elemType, shape: dims.map { Shape(dims: $0) })))
    }

    public enum Field { public static let denotation = 6 }

    /// The tensor type, when this is one.
    public var tensorType: TensorType? {
        if case .tensor(let t) = value { return t }
        return nil
    }
}

/// TypeProto's oneof `value`.
public indirect enum TypeValue: Hashable, Sendable {
    case none
    case tensor(TensorType)
    case sequence(ContainerType)
    case map(MapType)
    case optional(ContainerType)
    case sparseTensor(TensorType)
    case opaque(OpaqueType)
}

/// TypeProto.Tensor and TypeProto.SparseTensor: element type and (optional) shape.
public struct TensorType: Hashable, Sendable {
    public var elemType: DataType = .undefined
    public var shape: Shape? = nil
    public var proto = ProtoExtras()
    public init(elemType: DataType = .undefined, shape: Shape? = nil) {
        self.elemType = elemType
        self.shape = shape
    }
    public enum Field { public static let elemType = 1 }
}

/// TypeProto.Sequence and TypeProto.Optional: one element type.
public struct ContainerType: Hashable, Sendable {
    private var _elem: [TypeProto] = []
    public var proto = ProtoExtras()
    public init(elemType: TypeProto? = nil) { self.elemType = elemType }
    public var elemType: TypeProto? { get { _elem.first } set { _elem = newValue.map { [$0] } ?? [] } }
}

/// TypeProto.Map: key element type and value type.
public struct MapType: Hashable, Sendable {
    public var keyType: DataType = .undefined
    private var _value: [TypeProto] = []
    public var proto = ProtoExtras()
    public init() {}
    public var valueType: TypeProto? { get { _value.first } set { _value = newValue.map { [$0] } ?? [] } }
    public enum Field { public static let keyType = 1 }
}

/// TypeProto.Opaque.
public struct OpaqueType: Hashable, Sendable {
    public var domain: String = ""
    public var name: String = ""
    public var proto = ProtoExtras()
    public init() {}
    public enum Field { public static let domain = 1, name = 2 }
}

/// TensorShapeProto: a list of dimensions.
public struct Shape: Hashable, Sendable {
    public var dims: [Dimension] = []
    public var proto = ProtoExtras()
    public init(dims: [Dimension] = []) { self.dims = dims }
}

/// One dimension: a number, a symbolic name, or unknown.
public struct Dimension: Hashable, Sendable, CustomStringConvertible {
    public var value: DimValue = .unknown
    public var denotation: String = ""
    public var proto = ProtoExtras()
    public init(_ value: DimValue = .unknown) { self.value = value }
    public static func fixed(_ n: Int64) -> Dimension { Dimension(.value(n)) }
    public static func symbol(_ s: String) -> Dimension { Dimension(.param(s)) }
    public enum Field { public static let denotation = 3 }

    public var description: String {
        switch value {
        case .unknown: return "?"
        case .value(let v): return String(v)
        case .param(let p): return p
        }
    }
}

public enum DimValue: Hashable, Sendable {
    case unknown
    case value(Int64)
    case param(String)
}
