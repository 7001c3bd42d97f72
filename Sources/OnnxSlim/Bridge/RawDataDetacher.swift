/// Rewrites a serialized ModelProto so protobuf-c never copies weight bytes.
///
/// protobuf-c copies every `bytes` field when it unpacks, which would hold the weights twice
/// (the input buffer plus the copies). This pass walks the wire format along the paths that lead
/// to TensorProto (graph → node → attribute → subgraph …) and replaces each `raw_data` field with a
/// reference — an unknown field numbered `sentinelField` holding (offset, length) into the input
/// buffer. The reader turns that reference back into a `ByteView` of the input. Messages off those
/// paths, and messages with nothing to detach, are copied verbatim, so the skeleton handed to
/// protobuf-c is the model minus its weight bytes.
///
/// It also validates the wire structure it walks: truncated varints, lengths past the end,
/// groups and field number 0 are reported as malformed.
struct RawDataDetacher<Source: WireSource> {
    static var sentinelField: UInt32 { RawDataReference.sentinelField }

    /// Message kinds on the paths to TensorProto.
    enum Kind { case model, graph, node, attribute, tensor, sparseTensor, function, trainingInfo }

    let source: Source
    let fileName: String

    init(source: Source, fileName: String) {
        self.source = source
        self.fileName = fileName
    }

    /// The skeleton of the whole source as a ModelProto.
    func skeleton() throws -> [UInt8] {
        if let rewritten = try rewrite(0..<source.count, as: .model) { return rewritten }
        var all: [UInt8] = []
        try source.append(0..<source.count, to: &all)
        return all
    }

    private static func child(of kind: Kind, field: UInt32) -> Kind? {
        switch (kind, field) {
        case (.model, 7): return .graph
        case (.model, 20): return .trainingInfo
        case (.model, 25): return .function
        case (.graph, 1): return .node
        case (.graph, 5): return .tensor
        case (.graph, 15): return .sparseTensor
        case (.node, 5): return .attribute
        case (.attribute, 5), (.attribute, 10): return .tensor
        case (.attribute, 6), (.attribute, 11): return .graph
        case (.attribute, 22), (.attribute, 23): return .sparseTensor
        case (.sparseTensor, 1), (.sparseTensor, 2): return .tensor
        case (.function, 7): return .node
        case (.function, 11): return .attribute
        case (.trainingInfo, 1), (.trainingInfo, 2): return .graph
        default: return nil
        }
    }

    private func malformed(_ what: String, at offset: Int) -> OnnxSlimError {
        .badInput(fileName, "malformed protobuf: \(what) at byte \(offset)")
    }

    @inline(__always)
    private func readVarint(_ pos: inout Int, end: Int) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = pos
        while true {
            guard pos < end else { throw malformed("truncated varint", at: start) }
            let byte = try source.byte(at: pos)
            pos += 1
            if shift == 63 && byte > 1 { throw malformed("varint too long", at: start) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw malformed("varint too long", at: start) }
        }
    }

    /// Returns the rewritten message, or nil when nothing in it needed detaching.
    private func rewrite(_ range: Range<Int>, as kind: Kind) throws -> [UInt8]? {
        var out: [UInt8]? = nil
        var copiedUpTo = range.lowerBound  // bytes before this are already in `out` (when non-nil)
        var pos = range.lowerBound
        let end = range.upperBound
        while pos < end {
            let fieldStart = pos
            let key = try readVarint(&pos, end: end)
            let field = UInt32(truncatingIfNeeded: key >> 3)
            let wireType = key & 7
            guard key >> 3 != 0, key >> 3 <= UInt64(Self.sentinelField) else {
                throw malformed("invalid field number", at: fieldStart)
            }
            switch wireType {
            case 0: _ = try readVarint(&pos, end: end)
            case 1: pos += 8
            case 5: pos += 4
            case 2:
                let length = try readVarint(&pos, end: end)
                guard length <= UInt64(end - pos) else {
                    throw malformed("length-delimited field \(field) runs past the end", at: fieldStart)
                }
                let payload = pos..<(pos + Int(length))
                pos = payload.upperBound
                if kind == .tensor && field == Self.sentinelField {
                    throw malformed("tensor uses reserved field \(field)", at: fieldStart)
                }
                if kind == .tensor && field == 9 && !payload.isEmpty {
                    // raw_data: replace by a reference into the input buffer.
                    if out == nil { out = []; out!.reserveCapacity(min(end - range.lowerBound, 1 << 16)) }
                    try appendSpan(copiedUpTo..<fieldStart, to: &out!)
                    RawDataReference.appendReference(offset: payload.lowerBound, length: payload.count, to: &out!)
                    copiedUpTo = pos
                } else if let childKind = Self.child(of: kind, field: field),
                          let inner = try rewrite(payload, as: childKind) {
                    if out == nil { out = []; out!.reserveCapacity(min(end - range.lowerBound, 1 << 16)) }
                    try appendSpan(copiedUpTo..<fieldStart, to: &out!)
                    RawDataReference.appendVarint(key, to: &out!)
                    RawDataReference.appendVarint(UInt64(inner.count), to: &out!)
                    out!.append(contentsOf: inner)
                    copiedUpTo = pos
                }
            default:
                throw malformed("unsupported wire type \(wireType)", at: fieldStart)
            }
            guard pos <= end else { throw malformed("field \(field) runs past the end", at: fieldStart) }
        }
        guard out != nil else { return nil }
        try appendSpan(copiedUpTo..<end, to: &out!)
        return out
    }

    private func appendSpan(_ span: Range<Int>, to out: inout [UInt8]) throws {
        guard !span.isEmpty else { return }
        try source.append(span, to: &out)
    }
}

/// The reference that stands in for a detached raw_data field, and the varint writer it uses.
enum RawDataReference {
    /// The largest field number protobuf allows; no ONNX message uses it.
    static let sentinelField: UInt32 = 536_870_911

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// The sentinel field: key, length 16, then offset and length as little-endian UInt64.
    static func appendReference(offset: Int, length: Int, to out: inout [UInt8]) {
        appendVarint(UInt64(sentinelField) << 3 | 2, to: &out)
        out.append(16)
        withUnsafeBytes(of: UInt64(offset).littleEndian) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(length).littleEndian) { out.append(contentsOf: $0) }
    }

    /// Decodes a sentinel payload back into (offset, length).
    static func decodeReference(_ payload: UnsafeRawBufferPointer) -> (offset: Int, length: Int)? {
        guard payload.count == 16 else { return nil }
        let offset = payload.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        let length = payload.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian
        guard offset <= UInt64(Int.max), length <= UInt64(Int.max) else { return nil }
        return (Int(offset), Int(length))
    }
}
