/// The storage formats weight quantization can produce.
public enum QuantFormat: String, CaseIterable, Sendable {
    case int8, uint8, int4, uint4
    /// float8 E4M3FN with a per-channel scale.
    case fp8

    /// The ONNX element type of the quantized data.
    public var dataType: DataType {
        switch self {
        case .int8: return .int8
        case .uint8: return .uint8
        case .int4: return .int4
        case .uint4: return .uint4
        case .fp8: return .float8e4m3fn
        }
    }

    /// Integer range; nil for fp8.
    var range: (min: Int, max: Int)? {
        switch self {
        case .int8: return (-128, 127)
        case .uint8: return (0, 255)
        case .int4: return (-8, 7)
        case .uint4: return (0, 15)
        case .fp8: return nil
        }
    }

    /// Zero point that makes a symmetric range (0 for signed types, the midpoint for unsigned).
    var symmetricZeroPoint: Int {
        switch self {
        case .uint8: return 128
        case .uint4: return 8
        default: return 0
        }
    }

    /// Largest magnitude a symmetric code reaches (127 for int8, 7 for int4, 448 for fp8).
    var symmetricMax: Float {
        switch self {
        case .int8, .uint8: return 127
        case .int4, .uint4: return 7
        case .fp8: return FloatFormats.e4m3fnMax
        }
    }

    /// Largest int8 weight code where integer kernels multiply weights with uint8 activations
    /// (MatMulInteger after DynamicQuantizeLinear, static QDQ fused into QLinearMatMul/QLinearConv).
    /// x86 CPUs without VNNI (AVX2, AVX-512 before Cascade Lake) sum pairs of u8·s8 products in
    /// int16 with saturation (vpmaddubsw): exact only while 2·255·|q| ≤ 32767, so |q| ≤ 64 —
    /// 7-bit weights, as onnxruntime's `reduce_range`. With VNNI the products are summed in int32
    /// and the narrower codes cost no speed; uint8 weights take the u8·u8 kernel, which widens
    /// to int16 first and is exact everywhere (but 3x slower with VNNI).
    public static let integerKernelMaxCode = 64

    /// Lowest opset whose DequantizeLinear takes this element type.
    public var minimumOpset: Int64 {
        switch self {
        case .int8, .uint8: return 10
        case .fp8: return 19
        case .int4, .uint4: return 21
        }
    }

    public var isSubByte: Bool { self == .int4 || self == .uint4 }
}

/// How values are grouped under one scale: one for the whole tensor, one per index along `axis`,
/// or one per `blockSize` consecutive elements along `axis` (blocked quantization, opset 21).
public struct QuantLayout: Hashable, Sendable, CustomStringConvertible {
    public var axis: Int?
    public var blockSize: Int?

    public static let perTensor = QuantLayout(axis: nil, blockSize: nil)
    public static func perChannel(_ axis: Int) -> QuantLayout { QuantLayout(axis: axis, blockSize: nil) }
    public static func blocked(_ axis: Int, _ size: Int) -> QuantLayout { QuantLayout(axis: axis, blockSize: size) }

    /// The opset DequantizeLinear needs for this layout (per-axis 13, blocked 21).
    public var minimumOpset: Int64 { blockSize != nil ? 21 : axis != nil ? 13 : 10 }

    public var description: String {
        if let b = blockSize, let a = axis { return "blocked(axis \(a), \(b))" }
        if let a = axis { return "per-channel(axis \(a))" }
        return "per-tensor"
    }
}
