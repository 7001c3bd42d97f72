import ONNXProto
#if canImport(Glibc)
import Glibc
#endif

/// Tensors in files: numpy `.npy` and serialized ONNX TensorProto `.pb` (the conformance corpus's
/// format), read and written.
public enum TensorFiles {
    /// A tensor read from `path`, with the name stored in it (`.pb` files carry one).
    public static func read(_ path: String) throws -> (name: String?, value: NDArray) {
        let bytes = try readAll(path)
        if path.hasSuffix(".npy") { return (nil, try Numpy.decode(bytes, file: path)) }
        if path.hasSuffix(".pb") { return try decodeTensorProto(bytes, file: path) }
        throw OnnxSlimError.badInput(path, "not a .npy or .pb tensor file")
    }

    /// Writes `value` to `path` as .npy, or as a TensorProto named `name` when `path` ends in .pb.
    public static func write(_ value: NDArray, name: String, to path: String) throws {
        let bytes = path.hasSuffix(".pb") ? encodeTensorProto(value, name: name) : try Numpy.encode(value)
        try AtomicFile.write(bytes, to: path)
    }

    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw OnnxSlimError.badInput(path, "cannot open: \(errnoText())") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw OnnxSlimError.badInput(path, "cannot stat: \(errnoText())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw OnnxSlimError.badInput(path, "not a regular file") }
        var out = [UInt8](repeating: 0, count: Int(st.st_size))
        if let problem = out.withUnsafeMutableBytes({ readFully(fd, into: $0.baseAddress!, count: $0.count, at: 0) }) {
            throw OnnxSlimError.badInput(path, "cannot read: \(problem)")
        }
        return out
    }

    static func decodeTensorProto(_ bytes: [UInt8], file: String) throws -> (name: String?, value: NDArray) {
        let parsed = bytes.withUnsafeBufferPointer { onnx__tensor_proto__unpack(nil, $0.count, $0.baseAddress) }
        guard let parsed else { throw OnnxSlimError.badInput(file, "not a serialized TensorProto") }
        defer { onnx__tensor_proto__free_unpacked(parsed, nil) }
        let t = try ProtoReader(source: ByteStorage(copying: []), fileName: file).tensor(parsed)
        guard t.dataType != .undefined else { throw OnnxSlimError.badInput(file, "not a serialized TensorProto (no data type)") }
        let value = try NDArray(tensor: t, reader: ExternalDataReader())
        return (t.name.isEmpty ? nil : t.name, value)
    }

    /// TensorProto wire format: dims (1), data_type (2), string_data (6), name (8), raw_data (9).
    static func encodeTensorProto(_ value: NDArray, name: String) -> [UInt8] {
        var out: [UInt8] = []
        func varint(_ v: UInt64) { var v = v; while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }; out.append(UInt8(v)) }
        func bytesField(_ field: UInt64, _ b: [UInt8]) { varint(field << 3 | 2); varint(UInt64(b.count)); out += b }
        for d in value.shape { varint(1 << 3); varint(UInt64(d)) }
        varint(2 << 3); varint(UInt64(value.dataType.rawValue))
        if case .string(let v) = value.storage { for s in v { bytesField(6, Array(s.utf8)) } }
        if !name.isEmpty { bytesField(8, Array(name.utf8)) }
        if value.kind != .string { bytesField(9, value.rawBytes()) }
        return out
    }
}

/// The numpy `.npy` format (versions 1–3, little-endian, C order).
enum Numpy {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    static let descriptors: [String: DataType] = [
        "<f4": .float, "<f2": .float16, "<f8": .double, "|i1": .int8, "|u1": .uint8, "<i2": .int16,
        "<u2": .uint16, "<i4": .int32, "<u4": .uint32, "<i8": .int64, "<u8": .uint64, "|b1": .bool,
        "<i1": .int8, "<u1": .uint8, "<b1": .bool,
    ]

    static func decode(_ bytes: [UInt8], file: String) throws -> NDArray {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw OnnxSlimError.badInput(file, "not a .npy file") }
        let major = bytes[6]
        let headerLength: Int, start: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10
        } else {
            guard bytes.count >= 12 else { throw OnnxSlimError.badInput(file, "truncated .npy header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24; start = 12
        }
        guard start + headerLength <= bytes.count else { throw OnnxSlimError.badInput(file, "truncated .npy header") }
        let header = String(decoding: bytes[start..<start + headerLength], as: UTF8.self)
        guard let descr = field(header, "descr"), let type = descriptors[descr.trimmingCharacters(in: "'\"")] else {
            throw OnnxSlimError.badInput(file, "unsupported .npy dtype in header \(header.trimmingCharacters(in: " \n"))")
        }
        if let order = field(header, "fortran_order"), order.hasPrefix("True") {
            throw OnnxSlimError.badInput(file, "Fortran-ordered .npy arrays are not supported")
        }
        guard let shapeText = tuple(header, "shape") else { throw OnnxSlimError.badInput(file, "no shape in .npy header") }
        var shape: [Int] = []
        for part in shapeText.split(separator: ",") {
            let text = String(part).trimmingCharacters(in: " ")
            if text.isEmpty { continue }
            guard let d = Int(text), d >= 0 else { throw OnnxSlimError.badInput(file, "bad shape (\(shapeText)) in .npy header") }
            shape.append(d)
        }
        let count = shape.reduce(1, *)
        let payload = Array(bytes[(start + headerLength)...])
        guard let need = type.rawByteCount(elements: count), payload.count >= need else {
            throw OnnxSlimError.badInput(file, "holds \(payload.count) data bytes, shape \(shape) needs more")
        }
        let t = Tensor(name: "", dataType: type, dims: shape.map { Int64($0) }, raw: ByteView(copying: payload[0..<need]))
        return try NDArray(tensor: t, reader: ExternalDataReader())
    }

    static func encode(_ value: NDArray) throws -> [UInt8] {
        guard let descr = descriptors.first(where: { $0.value == value.dataType && !$0.key.hasPrefix("<i1") && !$0.key.hasPrefix("<u1") && !$0.key.hasPrefix("<b1") })?.key else {
            throw OnnxSlimError(.badInput, "cannot write \(value.dataType) as .npy")
        }
        let shape = value.shape.count == 1 ? "(\(value.shape[0]),)" : "(" + value.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out = magic + [1, 0]
        let n = header.utf8.count
        out += [UInt8(n & 0xFF), UInt8(n >> 8)]
        out += Array(header.utf8)
        out += value.rawBytes()
        return out
    }

    /// The text after `'key':` up to the next comma at depth 0.
    private static func field(_ header: String, _ key: String) -> String? {
        guard let rest = after(header, "'\(key)':") else { return nil }
        return String(rest.drop { $0 == " " }.prefix { $0 != "," && $0 != "}" })
    }

    private static func tuple(_ header: String, _ key: String) -> String? {
        guard let rest = after(header, "'\(key)':"), let open = rest.firstIndex(of: "("),
              let close = rest[open...].firstIndex(of: ")") else { return nil }
        return String(rest[rest.index(after: open)..<close])
    }

    /// The text following the first occurrence of `key`.
    private static func after(_ text: String, _ key: String) -> Substring? {
        var rest = Substring(text)
        while !rest.isEmpty {
            if rest.hasPrefix(key) { return rest.dropFirst(key.count) }
            rest = rest.dropFirst()
        }
        return nil
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
