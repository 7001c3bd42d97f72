import CProtobufC
import ONNXProto

/// A model read from disk, with what the loader learned about the file.
public struct LoadedModel {
    public var model: Model
    public var path: String
    public var fileSize: Int
    /// True when the file was a zstd frame.
    public var wasCompressed: Bool
    /// Memory the model's weights point into; kept alive with the model.
    let sources: [ByteStorage]
    /// File mappings the weights point into (for kernel copies and releasing pages after writing).
    var fileRegions: [FileRegion]
}

/// Reads `.onnx` files and zstd frames holding one (detected by magic bytes).
public enum ModelLoader {
    public struct Options {
        /// Check structure (dangling inputs, cycles) and tensor sizes.
        public var validate = true
        public init() {}
    }

    public static func load(_ path: String, options: Options = Options()) throws -> LoadedModel {
        let display = path
        let file = try MappedFile.map(path, displayName: display)
        guard file.count > 0 else { throw OnnxSlimError.badInput(display, "empty file") }
        // The file is read through pread for its headers; its weight pages are never touched here.
        let fileWire = FileWireSource(fd: file.fileDescriptor, count: file.count, displayName: display)
        let magic = try (0..<min(4, file.count)).map { try fileWire.byte(at: $0) }
        let compressed = magic == ZstdFrame.magic
        var source = file
        var regions: [FileRegion] = []
        if compressed {
            source = try ZstdFrame.decompress(fd: file.fileDescriptor, size: file.count, displayName: display)
            guard source.count > 0 else { throw OnnxSlimError.badInput(display, "zstd frame holds no data") }
        } else if let region = file.fileRegion {
            regions.append(region)
        }
        let model: Model
        do {
            if compressed {
                let memory = MemoryWireSource(buffer: UnsafeRawBufferPointer(start: source.base, count: source.count))
                model = try decode(source, wire: memory, displayName: display, compressed: true)
            } else {
                model = try decode(source, wire: fileWire, displayName: display, compressed: false)
            }
        } catch let e as OnnxSlimError where compressed && e.message.contains("malformed protobuf") {
            let detail = e.message.dropFirst(display.count + 2)
            throw OnnxSlimError.badInput(display, "the zstd frame does not hold an ONNX model (\(detail))")
        }
        var loaded = LoadedModel(model: model, path: path, fileSize: file.count, wasCompressed: compressed,
                                 sources: compressed ? [source] : [file], fileRegions: regions)
        try ExternalData.resolve(&loaded.model, modelPath: path)
        if options.validate { try ModelValidator(fileName: display).validate(loaded.model) }
        return loaded
    }

    /// Parses and validates a serialized model (or a zstd frame holding one) held in memory.
    /// External data cannot be resolved without a folder: such tensors keep their references.
    public static func load(bytes: [UInt8], name: String, options: Options = Options()) throws -> Model {
        var source = ByteStorage(copying: bytes)
        if bytes.starts(with: ZstdFrame.magic) {
            source = try ZstdFrame.decompress(memory: UnsafeRawBufferPointer(start: source.base, count: source.count),
                                              displayName: name)
        }
        let wire = MemoryWireSource(buffer: UnsafeRawBufferPointer(start: source.base, count: source.count))
        let model = try decode(source, wire: wire, displayName: name, compressed: bytes.starts(with: ZstdFrame.magic))
        if options.validate { try ModelValidator(fileName: name).validate(model) }
        return model
    }

    /// Parses the serialized ModelProto held in `source`, reading its headers through `wire`.
    static func decode<W: WireSource>(_ source: ByteStorage, wire: W, displayName: String,
                                      compressed: Bool = false) throws -> Model {
        let skeleton = try RawDataDetacher(source: wire, fileName: displayName).skeleton()
        let parsed = skeleton.withUnsafeBufferPointer { onnx__model_proto__unpack(nil, $0.count, $0.baseAddress) }
        guard let parsed else {
            let what = compressed ? "the zstd frame does not hold an ONNX model" : "not an ONNX model (protobuf does not parse as ModelProto)"
            throw OnnxSlimError.badInput(displayName, what)
        }
        defer { onnx__model_proto__free_unpacked(parsed, nil) }
        let model = try ProtoReader(source: source, fileName: displayName).model(parsed)
        guard model.graph != nil || !model.functions.isEmpty else {
            throw OnnxSlimError.badInput(displayName, compressed
                ? "the zstd frame does not hold an ONNX model (no graph)"
                : "not an ONNX model (no graph)")
        }
        return model
    }
}
