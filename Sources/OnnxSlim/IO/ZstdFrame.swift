import CZstd
#if canImport(Glibc)
import Glibc
#endif

/// zstd frames: detection by magic number and decompression into anonymous memory.
enum ZstdFrame {
    static let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
    /// A serialized ModelProto cannot pass protobuf's 2 GiB, so neither may a frame's content
    /// (this also stops decompression bombs).
    static let contentLimit = Int(Int32.max)

    /// Decompresses every frame of the file `fd` (of `size` bytes), reading it in 1 MiB chunks so
    /// the compressed bytes never sit in memory whole.
    static func decompress(fd: Int32, size: Int, displayName: String) throws -> ByteStorage {
        let chunkSize = 1 << 20
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 64)
        defer { chunk.deallocate() }
        var fileOffset = 0
        return try decompress(displayName: displayName, sizeHint: size) {
            guard fileOffset < size else { return nil }
            let n = min(chunkSize, size - fileOffset)
            if let problem = readFully(fd, into: chunk, count: n, at: fileOffset) {
                throw OnnxSlimError.badInput(displayName, "read failed: \(problem)")
            }
            fileOffset += n
            return UnsafeRawBufferPointer(start: chunk, count: n)
        }
    }

    /// Decompresses every frame of a buffer in memory.
    static func decompress(memory: UnsafeRawBufferPointer, displayName: String) throws -> ByteStorage {
        var given = false
        return try decompress(displayName: displayName, sizeHint: memory.count) {
            defer { given = true }
            return given ? nil : memory
        }
    }

    /// The decoding loop: `nextChunk` supplies compressed bytes until it returns nil. The output
    /// starts at the first frame's declared size (or 4x the input) and grows when more follows.
    private static func decompress(displayName: String, sizeHint: Int,
                                   nextChunk: () throws -> UnsafeRawBufferPointer?) throws -> ByteStorage {
        guard var input = try nextChunk() else { throw OnnxSlimError.badInput(displayName, "empty zstd frame") }
        let declared = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        if declared == ZSTD_CONTENTSIZE_ERROR {
            throw OnnxSlimError.badInput(displayName, "corrupt zstd frame")
        }
        var capacity = max(sizeHint * 4, 1 << 20)
        if declared != ZSTD_CONTENTSIZE_UNKNOWN {
            guard declared <= UInt64(contentLimit) else {
                throw OnnxSlimError.badInput(displayName, "zstd frame declares \(declared) bytes, past protobuf's 2 GiB limit for a model")
            }
            capacity = max(Int(declared), 1)
        } else {
            capacity = min(capacity, contentLimit)
        }
        guard let dctx = ZSTD_createDCtx() else { throw OnnxSlimError(.io, "zstd: out of memory") }
        defer { ZSTD_freeDCtx(dctx) }
        guard var out = MappedFile.anonymous(capacity) else {
            throw OnnxSlimError.badInput(displayName, "zstd frame declares \(capacity) bytes, more than can be allocated")
        }
        var written = 0
        var inBuf = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var lastResult = 0
        var inputDone = false
        while true {
            if inBuf.pos == inBuf.size && !inputDone {
                if let next = try nextChunk() {
                    input = next
                    inBuf = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
                } else {
                    inputDone = true
                }
            }
            if inputDone && inBuf.pos == inBuf.size {
                // All input consumed: complete only if the last frame ended.
                if lastResult != 0 {
                    munmap(out, capacity)
                    throw OnnxSlimError.badInput(displayName, "truncated zstd frame")
                }
                break
            }
            if written == capacity {
                // Full (more frames than the first declared, or an undeclared size): grow.
                let bigger = min(capacity * 2, contentLimit)
                guard bigger > capacity else {
                    munmap(out, capacity)
                    throw OnnxSlimError.badInput(displayName, "zstd content passes protobuf's 2 GiB limit for a model")
                }
                guard let grown = MappedFile.anonymous(bigger) else {
                    munmap(out, capacity)
                    throw OnnxSlimError.badInput(displayName, "zstd content too large to decompress")
                }
                grown.copyMemory(from: out, byteCount: written)
                munmap(out, capacity)
                out = grown
                capacity = bigger
            }
            var outBuf = ZSTD_outBuffer(dst: out + written, size: capacity - written, pos: 0)
            let r = ZSTD_decompressStream(dctx, &outBuf, &inBuf)
            if ZSTD_isError(r) != 0 {
                munmap(out, capacity)
                throw OnnxSlimError.badInput(displayName, "corrupt zstd frame: \(String(cString: ZSTD_getErrorName(r)))")
            }
            written += outBuf.pos
            lastResult = r
        }
        let address = Int(bitPattern: out)
        let mapped = capacity
        return ByteStorage(base: UnsafeRawPointer(out), count: written, release: {
            munmap(UnsafeMutableRawPointer(bitPattern: address), mapped)
        })
    }
}
