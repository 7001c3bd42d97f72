#if canImport(Glibc)
import Glibc
#endif

/// Read-only memory maps of whole files, owned by a `ByteStorage` that unmaps on release.
enum MappedFile {
    /// Maps `path` read-only, keeping the descriptor open for `pread` and kernel copies.
    /// Mapping reads nothing: pages are faulted in only where bytes are touched.
    static func map(_ path: String, displayName: String) throws -> ByteStorage {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw OnnxSlimError.badInput(displayName, "cannot open: \(errnoText())")
        }
        var keepOpen = false
        defer { if !keepOpen { close(fd) } }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw OnnxSlimError.badInput(displayName, "cannot stat: \(errnoText())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw OnnxSlimError.badInput(displayName, "not a regular file")
        }
        let size = Int(st.st_size)
        if size == 0 { return ByteStorage(base: nil, count: 0, release: nil) }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw OnnxSlimError.badInput(displayName, "cannot map: \(errnoText())")
        }
        let address = Int(bitPattern: p)
        keepOpen = true
        return ByteStorage(base: UnsafeRawPointer(p), count: size, fileDescriptor: fd, release: {
            munmap(UnsafeMutableRawPointer(bitPattern: address), size)
            close(fd)
        })
    }

    /// Anonymous zeroed memory of `size` bytes (for decompressed models), unmapped on release.
    static func anonymous(_ size: Int) -> UnsafeMutableRawPointer? {
        guard let p = mmap(nil, max(size, 1), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              p != MAP_FAILED else { return nil }
        return p
    }
}

/// Reads exactly `count` bytes at `offset` of `fd` into `destination`, retrying short reads and
/// interruptions. Returns nil, or why it failed ("file shrank", or the system's error text).
func readFully(_ fd: Int32, into destination: UnsafeMutableRawPointer, count: Int, at offset: Int) -> String? {
    var done = 0
    while done < count {
        let n = pread(fd, destination + done, count - done, off_t(offset + done))
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return n == 0 ? "file shrank" : errnoText() }
        done += n
    }
    return nil
}

/// The text of the current errno.
func errnoText() -> String { String(cString: strerror(errno)) }
