#if canImport(Glibc)
import Glibc
#endif

/// A file written under a temporary name in the destination's folder and renamed into place
/// only when complete, so a failed run leaves no partial output.
final class AtomicFile {
    let path: String
    let temporaryPath: String
    let fd: Int32
    private var committed = false

    init(path: String) throws {
        self.path = path
        let folder = ExternalData.directory(of: path)
        let base = path.split(separator: "/").last.map(String.init) ?? path
        temporaryPath = "\(folder)/.\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw OnnxSlimError(.io, "\(path): cannot create output: \(errnoText())")
        }
    }

    /// Renames the temporary file into place.
    func commit() throws {
        guard close(fd) == 0 else {
            unlink(temporaryPath)
            committed = true
            throw OnnxSlimError(.io, "\(path): write failed: \(errnoText())")
        }
        // Replacing an existing file by rename makes ext4 force block allocation of the new one
        // (auto_da_alloc), which costs as much as a third of a re-encode; removing the old file
        // first avoids it. A partial output is still never visible.
        var st = stat()
        if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { unlink(path) }
        guard rename(temporaryPath, path) == 0 else {
            unlink(temporaryPath)
            committed = true
            throw OnnxSlimError(.io, "\(path): cannot rename output into place: \(errnoText())")
        }
        committed = true
    }

    deinit {
        if !committed {
            close(fd)
            unlink(temporaryPath)
        }
    }
}

extension AtomicFile {
    /// Writes `bytes` to `path` through a temporary file renamed into place.
    static func write(_ bytes: [UInt8], to path: String) throws {
        let file = try AtomicFile(path: path)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(file.fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw OnnxSlimError(.io, "\(path): write failed: \(errnoText())") }
            done += n
        }
        try file.commit()
    }
}
