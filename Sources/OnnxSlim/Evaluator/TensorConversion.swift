/// Between the IR's stored tensors (raw bytes, typed fields, external data) and evaluator values.
extension NDArray {
    /// Decodes `t` (initializer, Constant value, .pb file) into a value.
    public init(tensor t: Tensor, reader: ExternalDataReader) throws {
        guard let count = t.elementCount else { throw OnnxSlimError(.badInput, "tensor '\(t.name)' has invalid dims \(t.dims)") }
        let shape = t.dims.map { Int($0) }
        switch t.dataType {
        case .float, .float16, .bfloat16, .double:
            self.init(floats: try TensorValues.floats(t, reader: reader), shape: shape, type: t.dataType)
        case .float8e4m3fn:
            let bytes = try Self.byteValues(t, count: count, reader: reader)
            self.init(floats: bytes.map { FloatFormats.float(e4m3fn: $0) }, shape: shape, type: t.dataType)
        case .int4, .uint4:
            let packed = try Self.byteValues(t, count: (count + 1) / 2, reader: reader)
            var out = [Int64](repeating: 0, count: count)
            let signed = t.dataType == .int4
            for k in 0..<count {
                let nibble = Int64(k % 2 == 0 ? packed[k / 2] & 0xF : packed[k / 2] >> 4)
                out[k] = signed && nibble >= 8 ? nibble - 16 : nibble
            }
            self.init(int64s: out, shape: shape, type: t.dataType)
        case .bool:
            self.init(bools: try TensorValues.int64s(t, reader: reader).map { $0 != 0 }, shape: shape)
        case .string:
            guard t.stringData.count == count else {
                throw OnnxSlimError(.badInput, "tensor '\(t.name)' has \(t.stringData.count) strings for dims \(t.dims)")
            }
            self.init(strings: t.stringData.map { String(decoding: $0.array, as: UTF8.self) }, shape: shape)
        case .int8, .uint8, .int16, .uint16, .int32, .uint32, .int64, .uint64:
            let values = try TensorValues.int64s(t, reader: reader)
            guard values.count == count else {
                throw OnnxSlimError(.badInput, "tensor '\(t.name)' has \(values.count) values for dims \(t.dims)")
            }
            self.init(int64s: values, shape: shape, type: t.dataType)
        default:
            throw OnnxSlimError(.badInput, "unsupported: tensor '\(t.name)' has element type \(t.dataType)")
        }
    }

    /// One byte per element for 8-bit (and packed 4-bit) types, from raw data or int32_data.
    private static func byteValues(_ t: Tensor, count: Int, reader: ExternalDataReader) throws -> [UInt8] {
        if let raw = try TensorValues.rawBytes(t, reader: reader) {
            guard raw.count == count else { throw OnnxSlimError(.badInput, "tensor '\(t.name)' has \(raw.count) bytes for \(count)") }
            var out = [UInt8](repeating: 0, count: count)
            try out.withUnsafeMutableBytes { try raw.copyBytes(to: $0.baseAddress!) }
            return out
        }
        guard t.int32Data.count == count else { throw OnnxSlimError(.badInput, "tensor '\(t.name)' has \(t.int32Data.count) values for \(count)") }
        return t.int32Data.map { UInt8(truncatingIfNeeded: $0) }
    }

    /// The value as a raw TensorProto named `name`.
    public func tensor(name: String) -> Tensor {
        let dims = shape.map { Int64($0) }
        if case .string(let v) = storage {
            var t = Tensor()
            t.name = name
            t.dataType = .string
            t.dims = dims
            t.stringData = v.map { ByteView(copying: Array($0.utf8)) }
            return t
        }
        return Tensor(name: name, dataType: dataType, dims: dims, raw: ByteView(copying: rawBytes()))
    }

    /// Little-endian bytes as raw_data holds them (sub-byte types packed low nibble first).
    public func rawBytes() -> [UInt8] {
        func pack<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
        switch storage {
        case .string: return []
        case .bool(let v): return v.map { $0 ? 1 : 0 }
        case .float(let v):
            switch dataType {
            case .float16: return pack(v.map { FloatFormats.float16Bits($0) })
            case .bfloat16: return pack(v.map { FloatFormats.bfloat16Bits($0) })
            case .double: return pack(v.map { Double($0) })
            case .float8e4m3fn: return v.map { FloatFormats.e4m3fnBits($0) }
            default: return pack(v)
            }
        case .int(let v):
            switch dataType {
            case .int8, .uint8: return v.map { UInt8(truncatingIfNeeded: $0) }
            case .int16, .uint16: return pack(v.map { UInt16(truncatingIfNeeded: $0) })
            case .int32, .uint32: return pack(v.map { UInt32(truncatingIfNeeded: $0) })
            case .int4, .uint4:
                var out = [UInt8](repeating: 0, count: (v.count + 1) / 2)
                for (k, x) in v.enumerated() {
                    let nibble = UInt8(truncatingIfNeeded: x) & 0xF
                    out[k / 2] |= k % 2 == 0 ? nibble : nibble << 4
                }
                return out
            default: return pack(v)
            }
        }
    }
}
