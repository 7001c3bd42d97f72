/// Float values of a weight, handed out chunk by chunk: straight from memory, or read from the
/// model file into a small buffer, so quantizing a huge weight needs no full float copy.
public struct FloatSource {
    public let count: Int
    /// Elements per chunk.
    public let chunk: Int
    /// True when `elements` copies into the buffer it is given (false: it points into memory).
    let needsBuffer: Bool
    /// Pointer to the elements of `range` (at most `chunk` long), valid until the next call.
    let elements: (Range<Int>, UnsafeMutablePointer<Float>?) throws -> UnsafePointer<Float>

    public init(count: Int, chunk: Int, needsBuffer: Bool = false,
                elements: @escaping (Range<Int>, UnsafeMutablePointer<Float>?) throws -> UnsafePointer<Float>) {
        self.count = count
        self.chunk = chunk
        self.needsBuffer = needsBuffer
        self.elements = elements
    }

    /// float32 raw bytes of a tensor: read from the file through a 256 KiB buffer.
    static func raw(_ bytes: ByteView, count: Int) -> FloatSource {
        FloatSource(count: count, chunk: 1 << 16, needsBuffer: true) { range, buffer in
            let slice = ByteView(storage: bytes.storage, offset: bytes.offset + range.lowerBound * 4, count: range.count * 4)
            try slice.copyBytes(to: UnsafeMutableRawPointer(buffer!))
            return UnsafePointer(buffer!)
        }
    }

    /// Calls `body` for every piece of every segment (segments split at chunk boundaries), with
    /// the piece's values, its length, its first group, the group stride and its element offset.
    func forEachPiece(of segments: [QuantSegment],
                      _ body: (UnsafePointer<Float>, Int, Int, Int, Int) throws -> Void) throws {
        let buffer = needsBuffer ? UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, Swift.min(chunk, count))) : nil
        defer { buffer?.deallocate() }
        var loaded = 0..<0
        var pointer: UnsafePointer<Float>? = nil
        for s in segments {
            var at = s.start
            let end = s.start + s.count
            while at < end {
                if !loaded.contains(at) {
                    loaded = at..<Swift.min(count, at + chunk)
                    pointer = try elements(loaded, buffer)
                }
                let n = Swift.min(end, loaded.upperBound) - at
                try body(pointer! + (at - loaded.lowerBound), n, s.group + s.stride * (at - s.start), s.stride, at)
                at += n
            }
        }
    }

    func forEachPiece(of segments: [QuantSegment], _ body: (UnsafePointer<Float>, Int, Int, Int) throws -> Void) throws {
        try forEachPiece(of: segments) { x, n, group, stride, _ in try body(x, n, group, stride) }
    }
}
