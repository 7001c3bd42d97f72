import CZstd
#if canImport(Glibc)
import Glibc
#endif

/// zstd frames: detection by magic number and decompression into anonymous memory.
enum ZstdFrame {
    static let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    /// Decompresses every frame of the file `fd` (of `size` bytes), reading it in 1 MiB chunks,
    /// into anonymous memory. Uses the first frame's declared content size when the file holds one
    /// frame; otherwise grows the output as it streams.
    static func decompress(fd: Int32, size: Int, displayName: String,
                           limit: Int = 1 << 40) throws -> ByteStorage {
        let chunkSize = 1 << 20
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 64)
        defer { chunk.deallocate() }
        var fileOffset = 0
        var chunkCount = 0
        func readChunk() throws {
            while true {
                let n = pread(fd, chunk, min(chunkSize, size - fileOffset), off_t(fileOffset))
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw OnnxSlimError.badInput(displayName, "read failed: \(errnoText())") }
                chunkCount = n
                fileOffset += n
                return
            }
        }
        try readChunk()
        var declared = ZSTD_getFrameContentSize(chunk, chunkCount)
        if declared == ZSTD_CONTENTSIZE_ERROR {
            throw OnnxSlimError.badInput(displayName, "corrupt zstd frame")
        }
        if declared != ZSTD_CONTENTSIZE_UNKNOWN {
            // More than one frame: the first one's size says nothing about the total.
            let frame = ZSTD_findFrameCompressedSize(chunk, chunkCount)
            if ZSTD_isError(frame) != 0 || frame != size { declared = ZSTD_CONTENTSIZE_UNKNOWN }
        }
        var capacity: Int
        if declared != ZSTD_CONTENTSIZE_UNKNOWN {
            guard declared <= UInt64(limit) else {
                throw OnnxSlimError.badInput(displayName, "zstd frame declares an absurd size (\(declared) bytes)")
            }
            capacity = Int(declared)
        } else {
            capacity = max(size * 4, 1 << 20)
        }
        guard let dctx = ZSTD_createDCtx() else { throw OnnxSlimError(.io, "zstd: out of memory") }
        defer { ZSTD_freeDCtx(dctx) }
        guard var out = MappedFile.anonymous(capacity) else {
            throw OnnxSlimError(.io, "\(displayName): cannot allocate \(capacity) bytes to decompress")
        }
        var written = 0
        var inBuf = ZSTD_inBuffer(src: chunk, size: chunkCount, pos: 0)
        while true {
            if inBuf.pos == inBuf.size && fileOffset < size {
                try readChunk()
                inBuf = ZSTD_inBuffer(src: chunk, size: chunkCount, pos: 0)
            }
            if written == capacity && declared == ZSTD_CONTENTSIZE_UNKNOWN {
                // Unknown size and full: grow into a larger mapping.
                let bigger = capacity * 2
                guard bigger <= limit, let grown = MappedFile.anonymous(bigger) else {
                    munmap(out, capacity)
                    throw OnnxSlimError.badInput(displayName, "zstd content too large")
                }
                grown.copyMemory(from: out, byteCount: written)
                munmap(out, capacity)
                out = grown
                capacity = bigger
            }
            // With a declared size the output may be full while the checksum is still unread.
            var outBuf = ZSTD_outBuffer(dst: out + written, size: capacity - written, pos: 0)
            let consumedBefore = inBuf.pos
            let r = ZSTD_decompressStream(dctx, &outBuf, &inBuf)
            if ZSTD_isError(r) != 0 {
                munmap(out, capacity)
                throw OnnxSlimError.badInput(displayName, "corrupt zstd frame: \(String(cString: ZSTD_getErrorName(r)))")
            }
            written += outBuf.pos
            if r == 0 && inBuf.pos == inBuf.size && fileOffset == size { break }
            if outBuf.pos == 0 && inBuf.pos == consumedBefore && !(inBuf.pos == inBuf.size && fileOffset < size) {
                munmap(out, capacity)
                let problem = inBuf.pos == inBuf.size ? "truncated zstd frame" : "zstd content larger than its declared size"
                throw OnnxSlimError.badInput(displayName, problem)
            }
        }
        let address = Int(bitPattern: out)
        let mapped = capacity
        return ByteStorage(base: UnsafeRawPointer(out), count: written, release: {
            munmap(UnsafeMutableRawPointer(bitPattern: address), mapped)
        })
    }
}
