import CZstd
#if canImport(Glibc)
import Glibc
#endif

/// zstd frames: detection by magic number and decompression into anonymous memory.
enum ZstdFrame {
    static let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]

    static func isFrame(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes[0] == 0x28 && bytes[1] == 0xB5 && bytes[2] == 0x2F && bytes[3] == 0xFD
    }

    /// Decompresses every frame in `input`. Uses the declared content size when all frames carry
    /// one; otherwise grows the output as it streams.
    static func decompress(_ input: UnsafeRawBufferPointer, displayName: String,
                           limit: Int = 1 << 40) throws -> ByteStorage {
        let declared = ZSTD_findDecompressedSize(input.baseAddress, input.count)
        if declared == ZSTD_CONTENTSIZE_ERROR {
            throw OnnxSlimError.badInput(displayName, "corrupt zstd frame")
        }
        var capacity: Int
        if declared != ZSTD_CONTENTSIZE_UNKNOWN {
            guard declared <= UInt64(limit) else {
                throw OnnxSlimError.badInput(displayName, "zstd frame declares an absurd size (\(declared) bytes)")
            }
            capacity = Int(declared)
        } else {
            capacity = max(input.count * 4, 1 << 20)
        }
        guard let dctx = ZSTD_createDCtx() else { throw OnnxSlimError(.io, "zstd: out of memory") }
        defer { ZSTD_freeDCtx(dctx) }
        guard var out = MappedFile.anonymous(capacity) else {
            throw OnnxSlimError(.io, "\(displayName): cannot allocate \(capacity) bytes to decompress")
        }
        var written = 0
        var inBuf = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while true {
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
            if r == 0 && inBuf.pos == inBuf.size { break }
            if outBuf.pos == 0 && inBuf.pos == consumedBefore {
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
