/// Reading tensor values as numbers wherever they are stored (raw_data, the typed repeated fields,
/// external data) and building raw tensors from numbers. Passes use this instead of touching
/// storage forms directly.
public enum TensorValues {
    /// Element types that can be read as Float.
    public static let floatTypes: Set<DataType> = [.float, .float16, .bfloat16, .double]

    /// The values of a float32/float16/bfloat16/float64 tensor as Float.
    public static func floats(_ t: Tensor, reader: ExternalDataReader) throws -> [Float] {
        guard let count = t.elementCount else { throw OnnxSlimError(.badInput, "tensor '\(t.name)' has invalid dims") }
        guard floatTypes.contains(t.dataType) else {
            throw OnnxSlimError(.badInput, "tensor '\(t.name)' is \(t.dataType), not a float type")
        }
        if let bytes = try rawBytes(t, reader: reader) {
            guard let need = t.dataType.rawByteCount(elements: count), bytes.count == need else {
                throw OnnxSlimError(.badInput, "tensor '\(t.name)' has \(bytes.count) bytes for \(count) \(t.dataType) values")
            }
            if t.dataType == .float {
                // Straight into the result: one copy, and no file pages mapped in.
                var out = [Float](repeating: 0, count: count)
                try out.withUnsafeMutableBytes { try bytes.copyBytes(to: $0.baseAddress!) }
                return out
            }
            var staged = [UInt8](repeating: 0, count: bytes.count)
            try staged.withUnsafeMutableBytes { try bytes.copyBytes(to: $0.baseAddress!) }
            return staged.withUnsafeBytes { raw in
                var out = [Float](repeating: 0, count: count)
                switch t.dataType {
                case .float16:
                    for k in 0..<count { out[k] = FloatFormats.float(float16: raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)) }
                case .bfloat16:
                    for k in 0..<count { out[k] = FloatFormats.float(bfloat16: raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)) }
                default:
                    for k in 0..<count { out[k] = Float(raw.loadUnaligned(fromByteOffset: 8 * k, as: Double.self)) }
                }
                return out
            }
        }
        let values: [Float]
        switch t.dataType {
        case .float: values = t.floatData
        case .double: values = t.doubleData.map { Float($0) }
        case .float16: values = t.int32Data.map { FloatFormats.float(float16: UInt16(truncatingIfNeeded: $0)) }
        default: values = t.int32Data.map { FloatFormats.float(bfloat16: UInt16(truncatingIfNeeded: $0)) }
        }
        guard values.count == count else {
            throw OnnxSlimError(.badInput, "tensor '\(t.name)' has \(values.count) values for dims \(t.dims)")
        }
        return values
    }

    /// The tensor's raw bytes (inline or external), or nil when it uses typed fields.
    public static func rawBytes(_ t: Tensor, reader: ExternalDataReader) throws -> ByteView? {
        if let raw = t.raw { return raw }
        if let source = t.externalSource { return try reader.bytes(of: source) }
        if t.isExternal { throw OnnxSlimError(.badInput, "tensor '\(t.name)': external data was not resolved") }
        return nil
    }

    /// A raw tensor holding `values` converted to `type` (float32, float16 or bfloat16).
    public static func tensor(_ name: String, dims: [Int64], floats values: [Float], as type: DataType = .float) -> Tensor {
        var bytes: [UInt8]
        switch type {
        case .float16:
            bytes = [UInt8](repeating: 0, count: values.count * 2)
            bytes.withUnsafeMutableBytes { b in for (k, v) in values.enumerated() { b.storeBytes(of: FloatFormats.float16Bits(v).littleEndian, toByteOffset: 2 * k, as: UInt16.self) } }
        case .bfloat16:
            bytes = [UInt8](repeating: 0, count: values.count * 2)
            bytes.withUnsafeMutableBytes { b in for (k, v) in values.enumerated() { b.storeBytes(of: FloatFormats.bfloat16Bits(v).littleEndian, toByteOffset: 2 * k, as: UInt16.self) } }
        default:
            bytes = values.withUnsafeBytes { Array($0) }
        }
        return Tensor(name: name, dataType: type == .float16 || type == .bfloat16 ? type : .float, dims: dims, raw: ByteView(copying: bytes))
    }

    /// A raw tensor of the given type from its packed little-endian bytes.
    public static func tensor(_ name: String, dims: [Int64], type: DataType, bytes: [UInt8]) -> Tensor {
        Tensor(name: name, dataType: type, dims: dims, raw: ByteView(copying: bytes))
    }

    /// An int64 tensor (shapes, axes, indices).
    public static func tensor(_ name: String, dims: [Int64], int64s values: [Int64]) -> Tensor {
        Tensor(name: name, dataType: .int64, dims: dims, raw: ByteView(copying: values.withUnsafeBytes { Array($0) }))
    }

    /// The values of an integer tensor (int64/int32/int16/int8/uint8/…) as Int64.
    public static func int64s(_ t: Tensor, reader: ExternalDataReader) throws -> [Int64] {
        guard let count = t.elementCount else { throw OnnxSlimError(.badInput, "tensor '\(t.name)' has invalid dims") }
        if let bytes = try rawBytes(t, reader: reader) {
            return try bytes.withUnsafeBytes { raw -> [Int64] in
                func read<T: FixedWidthInteger>(_: T.Type) throws -> [Int64] {
                    guard raw.count == count * MemoryLayout<T>.size else {
                        throw OnnxSlimError(.badInput, "tensor '\(t.name)' has \(raw.count) bytes for \(count) values")
                    }
                    return (0..<count).map { Int64(raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
                }
                switch t.dataType {
                case .int64: return try read(Int64.self)
                case .int32: return try read(Int32.self)
                case .int16: return try read(Int16.self)
                case .int8: return try read(Int8.self)
                case .uint8, .bool: return try read(UInt8.self)
                case .uint16: return try read(UInt16.self)
                case .uint32: return try read(UInt32.self)
                case .uint64:
                    guard raw.count == count * 8 else { throw OnnxSlimError(.badInput, "tensor '\(t.name)' has \(raw.count) bytes for \(count) values") }
                    return (0..<count).map { Int64(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
                default: throw OnnxSlimError(.badInput, "tensor '\(t.name)' is \(t.dataType), not an integer type")
                }
            }
        }
        switch t.dataType {
        case .int64: return t.int64Data
        case .uint64, .uint32: return t.uint64Data.map { Int64(bitPattern: $0) }
        default: return t.int32Data.map { Int64($0) }
        }
    }
}
