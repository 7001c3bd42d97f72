import CZstd
import OnnxSlimC
#if canImport(Glibc)
import Glibc
#endif

/// A buffered byte stream into a file descriptor, optionally through a multithreaded zstd encoder.
///
/// Large chunks that lie in a file mapping (the input model, external data) are copied file to
/// file inside the kernel (`copy_file_range`), so weights never pass through our memory. When
/// compressing, they are read through the mapping and the pages released afterwards
/// (`madvise(MADV_DONTNEED)` on a read-only private mapping drops them; the kernel re-reads them
/// from the page cache if needed), so re-encoding never holds input and output at once.
final class OutputStream {
    private let fd: Int32
    private let displayName: String
    private var buffer: UnsafeMutableRawPointer
    private let capacity = 1 << 18
    private var used = 0
    private var cctx: OpaquePointer? = nil
    private var zstdOut: UnsafeMutableRawPointer? = nil
    private let zstdOutSize: Int
    /// File mappings whose bytes can be copied in the kernel and whose pages may be dropped.
    var fileRegions: [FileRegion] = []
    /// Chunks at least this large are copied file to file when they lie in a file mapping.
    private let kernelCopyThreshold = 1 << 12
    /// First error raised inside a C callback (reported after packing).
    private(set) var failure: OnnxSlimError? = nil
    private(set) var bytesIn = 0
    /// Called with `bytesIn` after every 16 MiB.
    var progress: ((Int) -> Void)? = nil
    private var nextProgress = 1 << 24
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
            if threads > 1 {
                ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, Int32(threads))
                // 1 MiB jobs: the default (4x the window) holds ~70 MB of job buffers for the same ratio.
                ZSTD_CCtx_setParameter(c, ZSTD_c_jobSize, 1 << 20)
            }
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
        if bytesIn >= nextProgress, let progress {
            progress(bytesIn)
            nextProgress = bytesIn + (1 << 24)
        }
        if count >= kernelCopyThreshold, let region = region(containing: data, count) {
            flushBuffer()
            if cctx == nil {
                kernelCopy(region, data, count)
            } else {
                compressFromFile(region, data, count)
            }
            return
        }
        if count >= capacity / 2 {
            flushBuffer()
            emit(data, count)
            return
        }
        if used + count > capacity { flushBuffer() }
        if count >= 64, let region = region(containing: data, count) {
            // Small weights of a mapped file: read them, so the mapping is never faulted in.
            let offset = Int(UInt(bitPattern: Int(bitPattern: data)) - region.addresses.lowerBound)
            if let problem = readFully(region.fd, into: buffer + used, count: count, at: offset) {
                failure = OnnxSlimError(.io, "\(displayName): reading the input failed: \(problem)")
                return
            }
        } else {
            (buffer + used).copyMemory(from: data, byteCount: count)
        }
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

    private func region(containing data: UnsafeRawPointer, _ count: Int) -> FileRegion? {
        let start = UInt(bitPattern: Int(bitPattern: data))
        return fileRegions.first { $0.addresses.contains(start) && $0.addresses.upperBound >= start + UInt(count) }
    }

    private func kernelCopy(_ region: FileRegion, _ data: UnsafeRawPointer, _ count: Int) {
        let offset = Int64(UInt(bitPattern: Int(bitPattern: data)) - region.addresses.lowerBound)
        if onnx_slim_copy_file_range(region.fd, offset, fd, count) != 0 {
            failure = OnnxSlimError(.io, "\(displayName): write failed: \(errnoText())")
            return
        }
        bytesOut += count
    }

    /// Feeds a chunk of a mapped file to the compressor through `pread` into our buffer, so its
    /// pages are never mapped into our address space.
    private func compressFromFile(_ region: FileRegion, _ data: UnsafeRawPointer, _ count: Int) {
        var offset = Int(UInt(bitPattern: Int(bitPattern: data)) - region.addresses.lowerBound)
        var remaining = count
        while remaining > 0 && failure == nil {
            let n = min(capacity, remaining)
            if let problem = readFully(region.fd, into: buffer, count: n, at: offset) {
                failure = OnnxSlimError(.io, "\(displayName): reading the input failed: \(problem)")
                return
            }
            emit(buffer, n)
            offset += n
            remaining -= n
        }
    }
}
