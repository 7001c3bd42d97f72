import CZstd
#if canImport(Glibc)
import Glibc
#endif

/// A buffered byte stream into a file descriptor, optionally through a multithreaded zstd encoder.
///
/// Large chunks that lie in a file-backed input mapping are written straight through and then
/// released from our resident set (`madvise(MADV_DONTNEED)` on a read-only private mapping drops
/// the pages; the kernel re-reads them from the page cache if needed), so re-encoding a model
/// does not hold the input and output bytes at once.
final class OutputStream {
    private let fd: Int32
    private let displayName: String
    private var buffer: UnsafeMutableRawPointer
    private let capacity = 1 << 20
    private var used = 0
    private var cctx: OpaquePointer? = nil
    private var zstdOut: UnsafeMutableRawPointer? = nil
    private let zstdOutSize: Int
    /// Address ranges of file-backed read-only mappings whose pages may be dropped after use.
    var releasableRegions: [Range<UInt>] = []
    /// First error raised inside a C callback (reported after packing).
    private(set) var failure: OnnxSlimError? = nil
    private(set) var bytesIn = 0
    private(set) var bytesOut = 0

    init(fd: Int32, displayName: String, zstdLevel: Int?, threads: Int, pledgedSize: Int?) throws {
        self.fd = fd
        self.displayName = displayName
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        zstdOutSize = ZSTD_CStreamOutSize()
        if let level = zstdLevel {
            guard let c = ZSTD_createCCtx() else { throw OnnxSlimError(.io, "zstd: out of memory") }
            cctx = c
            ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, Int32(level))
            ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)
            if threads > 1 { ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, Int32(threads)) }
            if let pledgedSize { ZSTD_CCtx_setPledgedSrcSize(c, UInt64(pledgedSize)) }
            zstdOut = UnsafeMutableRawPointer.allocate(byteCount: zstdOutSize, alignment: 64)
        }
    }

    deinit {
        buffer.deallocate()
        zstdOut?.deallocate()
        if let cctx { ZSTD_freeCCtx(cctx) }
    }

    /// Appends bytes; errors are recorded in `failure` (callers check after a C pack call).
    func append(_ data: UnsafeRawPointer?, _ count: Int) {
        guard failure == nil, count > 0, let data else { return }
        bytesIn += count
        if count >= capacity / 2 {
            flushBuffer()
            emit(data, count)
            releaseIfFileBacked(data, count)
            return
        }
        if used + count > capacity { flushBuffer() }
        (buffer + used).copyMemory(from: data, byteCount: count)
        used += count
    }

    /// Flushes everything and ends the zstd frame.
    func finish() throws {
        flushBuffer()
        if let cctx, failure == nil {
            var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
            while true {
                var output = ZSTD_outBuffer(dst: zstdOut, size: zstdOutSize, pos: 0)
                let remaining = ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_end)
                if ZSTD_isError(remaining) != 0 {
                    failure = OnnxSlimError(.io, "\(displayName): zstd: \(String(cString: ZSTD_getErrorName(remaining)))")
                    break
                }
                writeAll(zstdOut!, output.pos)
                if remaining == 0 { break }
            }
        }
        if let failure { throw failure }
    }

    private func flushBuffer() {
        guard used > 0 else { return }
        emit(buffer, used)
        used = 0
    }

    private func emit(_ data: UnsafeRawPointer, _ count: Int) {
        guard let cctx else { writeAll(data, count); return }
        var input = ZSTD_inBuffer(src: data, size: count, pos: 0)
        while input.pos < input.size && failure == nil {
            var output = ZSTD_outBuffer(dst: zstdOut, size: zstdOutSize, pos: 0)
            let r = ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_continue)
            if ZSTD_isError(r) != 0 {
                failure = OnnxSlimError(.io, "\(displayName): zstd: \(String(cString: ZSTD_getErrorName(r)))")
                return
            }
            writeAll(zstdOut!, output.pos)
        }
    }

    private func writeAll(_ data: UnsafeRawPointer, _ count: Int) {
        var done = 0
        while done < count && failure == nil {
            let n = write(fd, data + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                failure = OnnxSlimError(.io, "\(displayName): write failed: \(errnoText())")
                return
            }
            done += n
        }
        bytesOut += count
    }

    private func releaseIfFileBacked(_ data: UnsafeRawPointer, _ count: Int) {
        let start = UInt(bitPattern: Int(bitPattern: data))
        guard releasableRegions.contains(where: { $0.contains(start) && $0.upperBound >= start + UInt(count) }) else { return }
        let page = UInt(sysconf(Int32(_SC_PAGESIZE)))
        let first = (start + page - 1) / page * page
        let last = (start + UInt(count)) / page * page
        guard last > first else { return }
        madvise(UnsafeMutableRawPointer(bitPattern: first), Int(last - first), MADV_DONTNEED)
    }
}
