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
    /// Address ranges of file-backed mappings (weights that may be dropped from RSS after writing).
    var fileBackedRegions: [Range<UInt>]
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
        var source = file
        var compressed = false
        var regions: [Range<UInt>] = []
        let fileBytes = UnsafeRawBufferPointer(start: file.base, count: file.count)
        if ZstdFrame.isFrame(fileBytes) {
            source = try ZstdFrame.decompress(fileBytes, displayName: display)
            compressed = true
            guard source.count > 0 else { throw OnnxSlimError.badInput(display, "zstd frame holds no data") }
        } else {
            let start = UInt(bitPattern: Int(bitPattern: file.base))
            regions.append(start..<(start + UInt(file.count)))
        }
        let model: Model
        do {
            model = try decode(source, displayName: display, compressed: compressed)
        } catch let e as OnnxSlimError where compressed && e.message.contains("malformed protobuf") {
            let detail = e.message.dropFirst(display.count + 2)
            throw OnnxSlimError.badInput(display, "the zstd frame does not hold an ONNX model (\(detail))")
        }
        var loaded = LoadedModel(model: model, path: path, fileSize: file.count, wasCompressed: compressed,
                                 sources: compressed ? [source] : [file], fileBackedRegions: regions)
        try ExternalData.resolve(&loaded.model, modelPath: path)
        if options.validate { try ModelValidator(fileName: display).validate(loaded.model) }
        return loaded
    }

    /// Parses a serialized ModelProto held in `source`.
    static func decode(_ source: ByteStorage, displayName: String, compressed: Bool = false) throws -> Model {
        let bytes = UnsafeRawBufferPointer(start: source.base, count: source.count)
        let skeleton = try RawDataDetacher(buffer: bytes, fileName: displayName).skeleton()
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
