extension NDArray {
    /// The values rounded (floats) or wrapped (integers) to what `dataType` holds, so a result
    /// computed in Float or Int64 equals what a kernel of the narrow type produces.
    public func normalized() -> NDArray {
        switch storage {
        case .float(var v):
            switch dataType {
            case .float, .double: return self
            case .float16: v.withUnsafeMutableBufferPointer { p in for k in p.indices { p[k] = Float(Float16(p[k])) } }
            case .bfloat16:
                v.withUnsafeMutableBufferPointer { p in
                    for k in p.indices { p[k] = FloatFormats.float(bfloat16: FloatFormats.bfloat16Bits(p[k])) }
                }
            case .float8e4m3fn:
                v.withUnsafeMutableBufferPointer { p in
                    for k in p.indices { p[k] = FloatFormats.float(e4m3fn: FloatFormats.e4m3fnBits(p[k])) }
                }
            default: return self
            }
            return NDArray(dataType, shape: shape, storage: .float(v))
        case .int(var v):
            guard let wrap = Self.integerWrap(dataType) else { return self }
            v.withUnsafeMutableBufferPointer { p in for k in p.indices { p[k] = wrap(p[k]) } }
            return NDArray(dataType, shape: shape, storage: .int(v))
        default:
            return self
        }
    }

    /// Two's-complement wrap of an Int64 to a narrower integer type; nil for 64-bit types.
    static func integerWrap(_ t: DataType) -> ((Int64) -> Int64)? {
        switch t {
        case .int8: return { Int64(Int8(truncatingIfNeeded: $0)) }
        case .uint8: return { $0 & 0xFF }
        case .int16: return { Int64(Int16(truncatingIfNeeded: $0)) }
        case .uint16: return { $0 & 0xFFFF }
        case .int32: return { Int64(Int32(truncatingIfNeeded: $0)) }
        case .uint32: return { $0 & 0xFFFF_FFFF }
        case .int4: return { ($0 & 0xF) >= 8 ? ($0 & 0xF) - 16 : $0 & 0xF }
        case .uint4: return { $0 & 0xF }
        default: return nil
        }
    }

    /// Smallest and largest value of an integer type (for saturating casts and quantization).
    public static func integerRange(_ t: DataType) -> ClosedRange<Int64>? {
        switch t {
        case .int8: return -128...127
        case .uint8: return 0...255
        case .int16: return -32768...32767
        case .uint16: return 0...65535
        case .int32: return Int64(Int32.min)...Int64(Int32.max)
        case .uint32: return 0...Int64(UInt32.max)
        case .int4: return -8...7
        case .uint4: return 0...15
        case .int64: return Int64.min...Int64.max
        default: return nil
        }
    }
}
