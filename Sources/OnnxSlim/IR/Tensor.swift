/// A TensorProto: an initializer, a Constant's value, an attribute tensor.
///
/// The data stays in the form the file gave it (raw bytes or one of the typed repeated fields),
/// so a faithful re-encode writes the same message. `raw` usually points into the loaded file.
public struct Tensor: Hashable, Sendable {
    public var name: String = ""
    public var dataType: DataType = .undefined
    public var dims: [Int64] = []
    public var raw: ByteView? = nil
    public var floatData: [Float] = []
    public var int32Data: [Int32] = []
    public var stringData: [ByteView] = []
    public var int64Data: [Int64] = []
    public var doubleData: [Double] = []
    public var uint64Data: [UInt64] = []
    public var docString: String = ""
    /// TensorProto.data_location: 0 default, 1 external.
    public var dataLocation: Int32 = 0
    /// TensorProto.external_data entries (location, offset, length, checksum) as in the file.
    public var externalData: [StringPair] = []
    /// Where external data was found when the model was loaded; nil for inline tensors.
    public var externalSource: ExternalDataSource? = nil
    public var segment: OpaqueMessage? = nil
    public var metadata: [StringPair] = []
    public var proto = ProtoExtras()

    public init() {}

    public init(name: String, dataType: DataType, dims: [Int64], raw: ByteView) {
        self.name = name
        self.dataType = dataType
        self.dims = dims
        self.raw = raw
    }

    /// Field numbers in onnx.proto, for presence bits.
    public enum Field {
        public static let dims = 1, dataType = 2, name = 8, rawData = 9, docString = 12, dataLocation = 14
    }

    /// Number of elements, or nil when a dim is negative or the product overflows Int.
    public var elementCount: Int? {
        var n = 1
        for d in dims {
            guard d >= 0, d <= Int64(Int.max) else { return nil }
            let (p, o) = n.multipliedReportingOverflow(by: Int(d))
            if o { return nil }
            n = p
        }
        return n
    }

    public var isExternal: Bool { dataLocation == 1 }

    /// Bytes the tensor's values occupy (raw, typed or external), without reading them.
    public var dataByteCount: Int {
        if let raw { return raw.count }
        if isExternal, let len = externalData[key: "length"].flatMap(Int.init) { return len }
        if isExternal, let n = elementCount, let b = dataType.rawByteCount(elements: n) { return b }
        let typed = floatData.count * 4 + int32Data.count * 4 + int64Data.count * 8
            + doubleData.count * 8 + uint64Data.count * 8
        return typed + stringData.reduce(0) { $0 + $1.count }
    }
}

/// A SparseTensorProto: values (1-D), indices (COO), dense shape.
public struct SparseTensor: Hashable, Sendable {
    private var _values: [Tensor] = []
    private var _indices: [Tensor] = []
    public var dims: [Int64] = []
    public var proto = ProtoExtras()

    public init() {}

    public var values: Tensor? {
        get { _values.first }
        set { _values = newValue.map { [$0] } ?? [] }
    }
    public var indices: Tensor? {
        get { _indices.first }
        set { _indices = newValue.map { [$0] } ?? [] }
    }
}

/// Where a tensor's external bytes live on disk, resolved and confined to the model's folder.
public struct ExternalDataSource: Hashable, Sendable {
    /// Absolute, symlink-resolved path inside the model's folder.
    public var path: String
    public var offset: Int
    public var length: Int

    public init(path: String, offset: Int, length: Int) {
        self.path = path
        self.offset = offset
        self.length = length
    }
}
