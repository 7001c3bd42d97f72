#if canImport(Glibc)
import Glibc
#endif

/// A block of memory that weight bytes point into: a memory-mapped file, a decompressed buffer,
/// or a heap copy. Tensors keep a reference, so large weights stay where they were read.
public final class ByteStorage: @unchecked Sendable {
    public let base: UnsafeRawPointer?
    public let count: Int
    /// For a mapping of a whole file: its open descriptor (byte k of the storage is byte k of the
    /// file), so writers can copy ranges inside the kernel; -1 otherwise.
    public let fileDescriptor: Int32
    private let release: (@Sendable () -> Void)?

    /// Wraps memory that `release` frees when the last reference goes away.
    public init(base: UnsafeRawPointer?, count: Int, fileDescriptor: Int32 = -1,
                release: (@Sendable () -> Void)?) {
        self.base = base
        self.count = count
        self.fileDescriptor = fileDescriptor
        self.release = release
    }

    /// The address range and descriptor of a file mapping, for kernel copies and page release.
    var fileRegion: FileRegion? {
        guard fileDescriptor >= 0, let base else { return nil }
        let start = UInt(bitPattern: Int(bitPattern: base))
        return FileRegion(addresses: start..<(start + UInt(count)), fd: fileDescriptor)
    }

    /// Copies `bytes` into a new heap block.
    public convenience init<C: Collection>(copying bytes: C) where C.Element == UInt8 {
        let n = bytes.count
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(n, 1), alignment: 64)
        let copied = bytes.withContiguousStorageIfAvailable { source -> Bool in
            if let base = source.baseAddress, n > 0 { p.copyMemory(from: base, byteCount: n) }
            return true
        }
        if copied == nil {
            _ = UnsafeMutableRawBufferPointer(start: p, count: n).initializeMemory(as: UInt8.self, from: bytes)
        }
        let address = Int(bitPattern: p)
        self.init(base: UnsafeRawPointer(p), count: n, release: {
            UnsafeMutableRawPointer(bitPattern: address)?.deallocate()
        })
    }

    deinit { release?() }
}

/// A read-only view of bytes inside a `ByteStorage` (raw tensor data, string payloads).
public struct ByteView: Hashable, Sendable, CustomStringConvertible {
    public let storage: ByteStorage
    public let offset: Int
    public let count: Int

    public init(storage: ByteStorage, offset: Int = 0, count: Int) {
        precondition(offset >= 0 && count >= 0 && offset + count <= storage.count)
        self.storage = storage
        self.offset = offset
        self.count = count
    }

    /// A view over a fresh copy of `bytes`.
    public init<C: Collection>(copying bytes: C) where C.Element == UInt8 {
        let s = ByteStorage(copying: bytes)
        self.init(storage: s, count: s.count)
    }

    public static let empty = ByteView(copying: [UInt8]())

    public var isEmpty: Bool { count == 0 }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.base.map { $0 + offset }, count: count))
    }

    public var array: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Copies the bytes into `destination` (which holds at least `count` bytes). Bytes of a file
    /// mapping are read with `pread`, so the file's pages are not faulted into this process.
    public func copyBytes(to destination: UnsafeMutableRawPointer) throws {
        guard count > 0 else { return }
        if storage.fileDescriptor >= 0 {
            if let problem = readFully(storage.fileDescriptor, into: destination, count: count, at: offset) {
                throw OnnxSlimError(.io, "reading weights failed: \(problem)")
            }
        } else {
            withUnsafeBytes { destination.copyMemory(from: $0.baseAddress!, byteCount: count) }
        }
    }

    public static func == (a: ByteView, b: ByteView) -> Bool {
        a.count == b.count && a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in
            pa.count == 0 || memcmp(pa.baseAddress!, pb.baseAddress!, pa.count) == 0 } }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        withUnsafeBytes { hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: $0.prefix(64))) }
    }

    public var description: String { "<\(count) bytes>" }
}

/// A read-only mapping of a whole file: its address range and the file's open descriptor.
struct FileRegion: Sendable {
    let addresses: Range<UInt>
    let fd: Int32
}
