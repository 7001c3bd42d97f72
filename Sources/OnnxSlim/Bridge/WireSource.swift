#if canImport(Glibc)
import Glibc
#endif

/// Byte access for the wire pre-pass: a buffer in memory, or a file read through a small window
/// so that scanning a model's headers never faults its weight pages into memory.
protocol WireSource {
    var count: Int { get }
    func byte(at position: Int) throws -> UInt8
    /// Appends the bytes of `range` to `out`.
    func append(_ range: Range<Int>, to out: inout [UInt8]) throws
}

/// Bytes already in memory (a decompressed zstd frame, a test buffer).
struct MemoryWireSource: WireSource {
    let buffer: UnsafeRawBufferPointer
    var count: Int { buffer.count }

    @inline(__always)
    func byte(at position: Int) throws -> UInt8 { buffer[position] }

    func append(_ range: Range<Int>, to out: inout [UInt8]) throws {
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[range]))
    }
}

/// A file read with `pread` through a 256 KiB window. Skipping a tensor's raw bytes costs one
/// `pread` at the next header instead of touching the pages in between.
final class FileWireSource: WireSource {
    let fd: Int32
    let count: Int
    let displayName: String
    private let window: UnsafeMutablePointer<UInt8>
    private let windowCapacity = 1 << 18
    private var windowStart = 0
    private var windowCount = 0

    init(fd: Int32, count: Int, displayName: String) {
        self.fd = fd
        self.count = count
        self.displayName = displayName
        window = .allocate(capacity: windowCapacity)
    }

    deinit { window.deallocate() }

    @inline(__always)
    func byte(at position: Int) throws -> UInt8 {
        let k = position &- windowStart
        if k >= 0 && k < windowCount { return window[k] }
        try refill(at: position)
        return window[0]
    }

    private func refill(at position: Int) throws {
        let want = min(windowCapacity, count - position)
        try readFully(into: UnsafeMutableRawPointer(window), count: want, at: position)
        windowStart = position
        windowCount = want
    }

    func append(_ range: Range<Int>, to out: inout [UInt8]) throws {
        guard !range.isEmpty else { return }
        let k = range.lowerBound - windowStart
        if k >= 0 && range.upperBound <= windowStart + windowCount {
            out.append(contentsOf: UnsafeBufferPointer(start: window + k, count: range.count))
            return
        }
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: range.count))
        try out.withUnsafeMutableBytes { buffer in
            try readFully(into: buffer.baseAddress! + start, count: range.count, at: range.lowerBound)
        }
    }

    private func readFully(into destination: UnsafeMutableRawPointer, count: Int, at offset: Int) throws {
        if let problem = OnnxSlim.readFully(fd, into: destination, count: count, at: offset) {
            throw OnnxSlimError.badInput(displayName, "read failed: \(problem)")
        }
    }
}
