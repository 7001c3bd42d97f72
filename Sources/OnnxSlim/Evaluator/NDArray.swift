/// A dense tensor value the evaluator computes with: an element type, a shape and row-major values.
///
/// Values are held in one of four storage kinds. Every floating type (float32/16, bfloat16,
/// float64, float8) computes in Float, every integer type in Int64; `normalized()` rounds or wraps
/// the values to what the element type can hold, so each operator's result is what a kernel of
/// that type would have produced. Arrays are copy-on-write: a kernel that owns its input uniquely
/// (the evaluator hands over values at their last use) updates it in place.
public struct NDArray: Sendable {
    public var dataType: DataType
    public var shape: [Int]
    public var storage: Storage

    public enum Storage: Sendable {
        case float([Float])
        case int([Int64])
        case bool([Bool])
        case string([String])

        public var count: Int {
            switch self {
            case .float(let v): return v.count
            case .int(let v): return v.count
            case .bool(let v): return v.count
            case .string(let v): return v.count
            }
        }
    }

    public init(_ dataType: DataType, shape: [Int], storage: Storage) {
        self.dataType = dataType
        self.shape = shape
        self.storage = storage
    }

    public init(floats: [Float], shape: [Int], type: DataType = .float) {
        self.init(type, shape: shape, storage: .float(floats))
    }

    public init(int64s: [Int64], shape: [Int], type: DataType = .int64) {
        self.init(type, shape: shape, storage: .int(int64s))
    }

    public init(bools: [Bool], shape: [Int]) {
        self.init(.bool, shape: shape, storage: .bool(bools))
    }

    public init(strings: [String], shape: [Int]) {
        self.init(.string, shape: shape, storage: .string(strings))
    }

    /// A tensor of `shape` filled with zeros (false, "") of `type`.
    public static func zeros(_ type: DataType, shape: [Int]) -> NDArray {
        let n = shape.reduce(1, *)
        switch ElementKind(type) {
        case .float: return NDArray(type, shape: shape, storage: .float([Float](repeating: 0, count: n)))
        case .int: return NDArray(type, shape: shape, storage: .int([Int64](repeating: 0, count: n)))
        case .bool: return NDArray(type, shape: shape, storage: .bool([Bool](repeating: false, count: n)))
        case .string: return NDArray(type, shape: shape, storage: .string([String](repeating: "", count: n)))
        }
    }

    public static func scalar(_ v: Float, type: DataType = .float) -> NDArray { NDArray(floats: [v], shape: [], type: type) }
    public static func scalar(_ v: Int64, type: DataType = .int64) -> NDArray { NDArray(int64s: [v], shape: [], type: type) }

    public var count: Int { storage.count }
    public var rank: Int { shape.count }
    public var kind: ElementKind { ElementKind(dataType) }

    /// Float values; nil unless the storage is floating.
    public var floats: [Float]? { if case .float(let v) = storage { return v }; return nil }
    /// Integer values; nil unless the storage is integer.
    public var int64s: [Int64]? { if case .int(let v) = storage { return v }; return nil }
    public var bools: [Bool]? { if case .bool(let v) = storage { return v }; return nil }
    public var strings: [String]? { if case .string(let v) = storage { return v }; return nil }

    /// Values converted to Float whatever the storage (bools are 0/1).
    public var asFloats: [Float] {
        switch storage {
        case .float(let v): return v
        case .int(let v): return dataType == .uint64 ? v.map { Float(UInt64(bitPattern: $0)) } : v.map { Float($0) }
        case .bool(let v): return v.map { $0 ? 1 : 0 }
        case .string(let v): return v.map { Float($0) ?? .nan }
        }
    }

    /// Values converted to Int64 (floats truncate toward zero, saturating).
    public var asInt64s: [Int64] {
        switch storage {
        case .int(let v): return v
        case .float(let v): return v.map { Self.truncatingInt64($0) }
        case .bool(let v): return v.map { $0 ? 1 : 0 }
        case .string(let v): return v.map { Int64($0) ?? 0 }
        }
    }

    /// Values as Int, for shapes, axes and indices.
    public var asInts: [Int] { asInt64s.map { Int($0) } }

    static func truncatingInt64(_ x: Float) -> Int64 {
        if x.isNaN { return 0 }
        if x >= 9.2233715e18 { return .max }
        if x <= -9.2233715e18 { return .min }
        return Int64(x)
    }

    /// Row-major strides of `shape`.
    public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for k in stride(from: shape.count - 1, through: 0, by: -1) { s[k] = acc; acc *= shape[k] }
        return s
    }

    /// The same values with another shape (the element count must match).
    public func reshaped(_ newShape: [Int]) -> NDArray {
        var r = self
        r.shape = newShape
        return r
    }
}

/// How the evaluator stores elements of an ONNX type.
public enum ElementKind: Sendable {
    case float, int, bool, string

    public init(_ t: DataType) {
        switch t {
        case .float, .float16, .bfloat16, .double, .float8e4m3fn, .float8e4m3fnuz, .float8e5m2,
             .float8e5m2fnuz, .float4e2m1, .float8e8m0: self = .float
        case .bool: self = .bool
        case .string: self = .string
        default: self = .int
        }
    }
}
