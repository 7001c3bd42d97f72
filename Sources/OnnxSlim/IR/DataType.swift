/// An ONNX tensor element type (TensorProto.DataType). A struct over the raw number rather than an
/// enum, so a type this build does not know still round-trips.
public struct DataType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public init(_ raw: Int32) { self.rawValue = raw }

    public static let undefined = DataType(0)
    public static let float = DataType(1)
    public static let uint8 = DataType(2)
    public static let int8 = DataType(3)
    public static let uint16 = DataType(4)
    public static let int16 = DataType(5)
    public static let int32 = DataType(6)
    public static let int64 = DataType(7)
    public static let string = DataType(8)
    public static let bool = DataType(9)
    public static let float16 = DataType(10)
    public static let double = DataType(11)
    public static let uint32 = DataType(12)
    public static let uint64 = DataType(13)
    public static let complex64 = DataType(14)
    public static let complex128 = DataType(15)
    public static let bfloat16 = DataType(16)
    public static let float8e4m3fn = DataType(17)
    public static let float8e4m3fnuz = DataType(18)
    public static let float8e5m2 = DataType(19)
    public static let float8e5m2fnuz = DataType(20)
    public static let uint4 = DataType(21)
    public static let int4 = DataType(22)
    public static let float4e2m1 = DataType(23)
    public static let float8e8m0 = DataType(24)
    public static let uint2 = DataType(25)
    public static let int2 = DataType(26)
    public static let float6e2m3 = DataType(27)
    public static let float6e3m2 = DataType(28)

    private static let names: [Int32: String] = [
        0: "undefined", 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32",
        7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
        14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8e4m3fn", 18: "float8e4m3fnuz",
        19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4e2m1",
        24: "float8e8m0", 25: "uint2", 26: "int2", 27: "float6e2m3", 28: "float6e3m2",
    ]

    public var description: String { Self.names[rawValue] ?? "dtype(\(rawValue))" }
    public var isKnown: Bool { Self.names[rawValue] != nil && rawValue != 0 }

    /// Bits one element takes in raw_data; nil for strings and unknown types.
    public var bitWidth: Int? {
        switch rawValue {
        case 1, 6, 12: return 32
        case 2, 3, 9, 17, 18, 19, 20, 24: return 8
        case 4, 5, 10, 16: return 16
        case 7, 11, 13, 14: return 64
        case 15: return 128
        case 21, 22, 23: return 4
        case 25, 26: return 2
        case 27, 28: return 6
        default: return nil
        }
    }

    /// Bytes that `count` elements occupy in raw_data (sub-byte types are packed, rounded up).
    public func rawByteCount(elements count: Int) -> Int? {
        guard let bits = bitWidth else { return nil }
        let (product, overflow) = count.multipliedReportingOverflow(by: bits)
        if overflow { return nil }
        return (product + 7) / 8
    }
}
