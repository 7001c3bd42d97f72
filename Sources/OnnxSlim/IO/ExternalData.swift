#if canImport(Glibc)
import Glibc
#endif

/// External tensor data (TensorProto.data_location = EXTERNAL): resolving references safely and
/// reading the bytes by mmap.
///
/// A location must be a relative path that stays inside the model's folder: absolute paths, `..`
/// components and symlinks that resolve outside are refused (the path-traversal class of bugs).
public enum ExternalData {
    /// Checks every external reference and records where its bytes are. Reads no weight bytes.
    static func resolve(_ model: inout Model, modelPath: String) throws {
        var hasExternal = false
        model.forEachTensor { t, _ in if t.isExternal { hasExternal = true } }
        guard hasExternal else { return }
        let folder = directory(of: modelPath)
        guard let realFolder = realPath(folder) else {
            throw OnnxSlimError.badInput(modelPath, "cannot resolve the model's folder")
        }
        var sizes: [String: Int] = [:]
        try model.mutateEachTensor { tensor, _ in
            guard tensor.isExternal else { return }
            let name = tensor.name.isEmpty ? "a tensor" : "tensor '\(tensor.name)'"
            guard let location = tensor.externalData[key: "location"], !location.isEmpty else {
                throw OnnxSlimError.badInput(modelPath, "\(name) has external data without a location")
            }
            let components = location.split(separator: "/", omittingEmptySubsequences: false)
            if location.hasPrefix("/") || location.contains("\\") || location.utf8.contains(0)
                || components.contains("..") {
                throw OnnxSlimError.badInput(modelPath, "\(name): external data location '\(location)' leaves the model's folder")
            }
            let joined = folder + "/" + location
            guard let real = realPath(joined) else {
                throw OnnxSlimError.badInput(modelPath, "\(name): external data file '\(location)' not found")
            }
            guard real.hasPrefix(realFolder + "/") else {
                throw OnnxSlimError.badInput(modelPath, "\(name): external data location '\(location)' leads outside the model's folder")
            }
            let fileSize: Int
            if let s = sizes[real] {
                fileSize = s
            } else {
                var st = stat()
                guard stat(real, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                    throw OnnxSlimError.badInput(modelPath, "\(name): external data '\(location)' is not a regular file")
                }
                fileSize = Int(st.st_size)
                sizes[real] = fileSize
            }
            let offset = try number(tensor.externalData[key: "offset"], default: 0, what: "offset", name, modelPath)
            let length = try number(tensor.externalData[key: "length"], default: fileSize - min(offset, fileSize),
                                    what: "length", name, modelPath)
            guard offset <= fileSize, length <= fileSize - offset else {
                throw OnnxSlimError.badInput(modelPath, "\(name): external data (offset \(offset), length \(length)) runs past the end of '\(location)' (\(fileSize) bytes)")
            }
            tensor.externalSource = ExternalDataSource(path: real, offset: offset, length: length)
        }
    }

    private static func number(_ text: String?, default fallback: Int, what: String,
                               _ name: String, _ modelPath: String) throws -> Int {
        guard let text else { return fallback }
        guard let v = Int(text), v >= 0 else {
            throw OnnxSlimError.badInput(modelPath, "\(name): external data \(what) '\(text)' is not a valid number")
        }
        return v
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    static func realPath(_ path: String) -> String? {
        guard let r = realpath(path, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }
}

/// Maps external data files on demand, one mapping per file, to read tensor bytes. Safe to use
/// from several threads.
public final class ExternalDataReader: @unchecked Sendable {
    private var maps: [String: ByteStorage] = [:]
    private let lock = Lock()

    public init() {}

    public func bytes(of source: ExternalDataSource) throws -> ByteView {
        let storage: ByteStorage = try lock.withLock {
            if let s = maps[source.path] { return s }
            let s = try MappedFile.map(source.path, displayName: source.path)
            maps[source.path] = s
            return s
        }
        guard source.offset + source.length <= storage.count else {
            throw OnnxSlimError.badInput(source.path, "external data shrank while reading")
        }
        return ByteView(storage: storage, offset: source.offset, count: source.length)
    }

    /// The mapped files (for kernel copies and releasing pages after use).
    var regions: [FileRegion] { lock.withLock { maps.values.compactMap(\.fileRegion) } }
}
