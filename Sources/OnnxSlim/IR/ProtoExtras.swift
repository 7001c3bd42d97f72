/// What a message carries beyond its modelled fields, so a round trip loses nothing.
///
/// proto2 distinguishes "field absent" from "field set to its default" (`domain: ""` is common in
/// exported nodes). The IR keeps plain values (`""`, `0`) for pass writers and records here which
/// default-valued fields were explicitly present, keyed by the field's number in onnx.proto.
public struct ProtoExtras: Hashable, Sendable {
    /// Bit `n` set: field number `n` was present in the input although it holds the default value.
    public var explicitDefaults: UInt64 = 0
    /// Fields the schema does not know (newer ONNX, vendor extensions), kept verbatim.
    public var unknownFields: [UnknownField] = []

    public init() {}

    public func isExplicit(_ field: Int) -> Bool { explicitDefaults & (1 << UInt64(field)) != 0 }
    public mutating func markExplicit(_ field: Int) { explicitDefaults |= 1 << UInt64(field) }
}

/// One field the schema does not know, as it appeared on the wire.
public struct UnknownField: Hashable, Sendable {
    public var fieldNumber: UInt32
    /// Protobuf wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).
    public var wireType: UInt8
    /// The field's payload without its tag (for length-delimited fields, without the length).
    public var payload: [UInt8]

    public init(fieldNumber: UInt32, wireType: UInt8, payload: [UInt8]) {
        self.fieldNumber = fieldNumber
        self.wireType = wireType
        self.payload = payload
    }
}

/// A submessage the IR does not model field by field (device configurations, sharding specs,
/// quantization annotations, tensor segments): kept as its serialized bytes and re-emitted as is.
public struct OpaqueMessage: Hashable, Sendable {
    public var serialized: [UInt8]
    public init(serialized: [UInt8]) { self.serialized = serialized }
}

/// A key/value pair (StringStringEntryProto): metadata, external-data locations, bindings.
public struct StringPair: Hashable, Sendable {
    public var key: String
    public var value: String
    public var proto = ProtoExtras()

    public init(_ key: String, _ value: String) {
        self.key = key
        self.value = value
    }
}

extension Array where Element == StringPair {
    /// The value of the last entry with this key (protobuf's "last one wins").
    public subscript(key key: String) -> String? { last(where: { $0.key == key })?.value }
}
