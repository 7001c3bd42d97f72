import CProtobufC
import ONNXProto
import OnnxSlimC
#if canImport(Glibc)
import Glibc
#endif

/// Writes a model as plain ONNX, or as a zstd frame when the path ends in `.zst`, streaming the
/// packed bytes straight to the file (no second full-size buffer). Weights go to an external data
/// file when asked, when the input kept them there, or when the proto would pass protobuf's 2 GiB.
public enum ModelSaver {
    public enum ExternalDataPolicy: Sendable {
        /// External tensors stay external; everything moves out only if the proto would pass 2 GiB.
        case automatic
        /// Every tensor of at least `externalThreshold` bytes goes to the data file.
        case always
    }

    public struct Options: Sendable {
        public var zstdLevel = 3
        public var externalData = ExternalDataPolicy.automatic
        public var externalThreshold = 1024
        public var threads = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        /// Called now and then while writing with (bytes written so far, total bytes).
        public var progress: (@Sendable (Int, Int) -> Void)? = nil
        /// The largest proto written inline: protobuf's 2 GiB (lowered only by tests).
        var protoLimit = ModelSaver.protoLimit
        public init() {}
    }

    public struct Result: Sendable {
        public var path: String
        public var bytesWritten: Int
        public var packedSize: Int
        public var externalDataPath: String?
        public var externalBytes: Int
    }

    /// protobuf's hard limit for one message.
    static let protoLimit = Int(Int32.max)

    /// Saves `model`. `input` (when given) is the model's source: the output may not overwrite it.
    public static func save(_ model: Model, to path: String, input: LoadedModel? = nil,
                            options: Options = Options()) throws -> Result {
        let compressed = path.hasSuffix(".zst")
        let plainName = compressed ? String(path.dropLast(4)) : path
        let dataPath = plainName + ".data"
        var inputFiles: [String] = []
        if let input {
            if let r = ExternalData.realPath(input.path) { inputFiles.append(r) }
            input.model.forEachTensor { t, _ in if let s = t.externalSource { inputFiles.append(s.path) } }
        }
        for target in [path, dataPath] {
            if let r = ExternalData.realPath(target), inputFiles.contains(r) {
                throw OnnxSlimError.usage("refusing to overwrite the input file \(target)")
            }
        }

        var model = model
        let reader = ExternalDataReader()
        var placements: [ExternalPlacement] = []
        // Built once; rebuilt only if tensors move to external data.
        var writer = ProtoWriter()
        var proto = writer.model(model)
        var packedSize = onnx__model_proto__get_packed_size(proto)
        var hasExternal = false
        model.forEachTensor { t, _ in if t.isExternal { hasExternal = true } }
        if hasExternal || options.externalData == .always || packedSize > options.protoLimit {
            let moveAll = options.externalData == .always || packedSize > options.protoLimit
            placements = try layoutExternal(&model, location: baseName(dataPath), moveAll: moveAll,
                                            threshold: options.externalThreshold, reader: reader)
            writer = ProtoWriter()
            proto = writer.model(model)
            packedSize = onnx__model_proto__get_packed_size(proto)
            guard packedSize <= options.protoLimit else {
                throw OnnxSlimError(.io, "\(path): the graph without its weights still passes protobuf's 2 GiB limit")
            }
        }

        var externalBytes = 0
        var dataFile: AtomicFile? = nil
        if !placements.isEmpty {
            let file = try AtomicFile(path: dataPath)
            let stream = try OutputStream(fd: file.fd, displayName: dataPath, zstdLevel: nil, threads: 1, pledgedSize: nil)
            stream.fileRegions = (input?.fileRegions ?? []) + reader.regions
            let total = placements.last.map { $0.offset + $0.bytes.count } ?? 0
            stream.progress = options.progress.map { report in { report($0, total) } }
            let zeros = [UInt8](repeating: 0, count: 4096)
            var position = 0
            for p in placements {
                if p.offset > position { zeros.withUnsafeBytes { stream.append($0.baseAddress, p.offset - position) } }
                p.bytes.withUnsafeBytes { stream.append($0.baseAddress, $0.count) }
                position = p.offset + p.bytes.count
            }
            try stream.finish()
            externalBytes = position
            dataFile = file
        }

        let file = try AtomicFile(path: path)
        let stream = try OutputStream(fd: file.fd, displayName: path, zstdLevel: compressed ? options.zstdLevel : nil,
                                      threads: options.threads, pledgedSize: packedSize)
        stream.fileRegions = input?.fileRegions ?? []
        stream.progress = options.progress.map { report in { report($0, packedSize) } }
        let sinkPointer = UnsafeMutablePointer<OnnxSlimSink>.allocate(capacity: 1)
        defer { sinkPointer.deallocate() }
        sinkPointer.pointee = OnnxSlimSink(base: ProtobufCBuffer(append: sinkAppend),
                                           context: Unmanaged.passUnretained(stream).toOpaque())
        let packed = sinkPointer.withMemoryRebound(to: ProtobufCBuffer.self, capacity: 1) {
            onnx__model_proto__pack_to_buffer(proto, $0)
        }
        try stream.finish()
        precondition(packed == packedSize, "protobuf-c packed \(packed) bytes, expected \(packedSize)")
        withExtendedLifetime((model, writer)) {}
        try dataFile?.commit()
        try file.commit()
        return Result(path: path, bytesWritten: stream.bytesOut, packedSize: packedSize,
                      externalDataPath: dataFile == nil ? nil : dataPath, externalBytes: externalBytes)
    }

    /// The serialized bytes of `model` in memory (weights inline; for tests, tools and small models).
    public static func serialize(_ model: Model) throws -> [UInt8] {
        let writer = ProtoWriter()
        let proto = writer.model(model)
        return withExtendedLifetime(model) {
            let size = onnx__model_proto__get_packed_size(proto)
            var bytes = [UInt8](repeating: 0, count: size)
            bytes.withUnsafeMutableBufferPointer { _ = onnx__model_proto__pack(proto, $0.baseAddress) }
            return bytes
        }
    }

    struct ExternalPlacement {
        var offset: Int
        var bytes: ByteView
    }

    /// Moves tensor bytes to the data file: already-external tensors always, raw tensors of at
    /// least `threshold` bytes when `moveAll`. Offsets are aligned (4 KiB for tensors of 64 KiB
    /// and more, so runtimes can map them; 64 bytes otherwise).
    static func layoutExternal(_ model: inout Model, location: String, moveAll: Bool, threshold: Int,
                               reader: ExternalDataReader) throws -> [ExternalPlacement] {
        var placements: [ExternalPlacement] = []
        var position = 0
        try model.mutateEachTensor { t, _ in
            let bytes: ByteView
            if let source = t.externalSource {
                bytes = try reader.bytes(of: source)
            } else if moveAll, let raw = t.raw, raw.count >= threshold {
                bytes = raw
            } else {
                return
            }
            let alignment = bytes.count >= 65536 ? 4096 : 64
            position = (position + alignment - 1) / alignment * alignment
            placements.append(ExternalPlacement(offset: position, bytes: bytes))
            t.raw = nil
            t.dataLocation = 1
            t.externalSource = nil
            t.externalData = [StringPair("location", location), StringPair("offset", String(position)),
                              StringPair("length", String(bytes.count))]
            position += bytes.count
        }
        return placements
    }

    static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}

/// protobuf-c's append callback: forwards packed bytes to the OutputStream in the sink's context.
private let sinkAppend: @convention(c) (UnsafeMutablePointer<ProtobufCBuffer>?, Int, UnsafePointer<UInt8>?) -> Void = {
    buffer, length, data in
    guard let buffer else { return }
    let sink = UnsafeMutableRawPointer(buffer).assumingMemoryBound(to: OnnxSlimSink.self)
    let stream = Unmanaged<OutputStream>.fromOpaque(sink.pointee.context).takeUnretainedValue()
    stream.append(UnsafeRawPointer(data), length)
}
