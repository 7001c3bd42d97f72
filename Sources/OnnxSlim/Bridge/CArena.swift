#if canImport(Glibc)
import Glibc
#endif

/// A bump allocator for the C structs built while writing a model; everything is freed at once.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []
    private var cursor: UnsafeMutableRawPointer? = nil
    private var remaining = 0
    private var cleanups: [() -> Void] = []
    private static let blockSize = 1 << 20

    deinit {
        for c in cleanups { c() }
        for b in blocks { free(b) }
    }

    /// Zeroed memory for `count` values of T.
    func allocate<T>(_ type: T.Type, count: Int = 1) -> UnsafeMutablePointer<T> {
        let bytes = max(MemoryLayout<T>.stride * count, 1)
        let alignment = max(MemoryLayout<T>.alignment, 8)
        if bytes > Self.blockSize / 4 {
            let p = calloc(1, bytes)!
            blocks.append(p)
            return p.bindMemory(to: T.self, capacity: count)
        }
        var pad = 0
        if let c = cursor { pad = (alignment - Int(bitPattern: c) % alignment) % alignment }
        if cursor == nil || remaining < bytes + pad {
            let b = calloc(1, Self.blockSize)!
            blocks.append(b)
            cursor = b
            remaining = Self.blockSize
            pad = 0
        }
        let p = cursor! + pad
        cursor = p + bytes
        remaining -= bytes + pad
        return p.bindMemory(to: T.self, capacity: count)
    }

    /// A NUL-terminated copy of `s`.
    func cString(_ s: String) -> UnsafeMutablePointer<CChar> {
        var s = s
        return s.withUTF8 { utf8 in
            let p = allocate(CChar.self, count: utf8.count + 1)
            if utf8.count > 0 { memcpy(p, utf8.baseAddress!, utf8.count) }
            p[utf8.count] = 0
            return p
        }
    }

    /// A copy of `values` (nil when empty).
    func copy<T>(_ values: [T]) -> UnsafeMutablePointer<T>? {
        guard !values.isEmpty else { return nil }
        let p = allocate(T.self, count: values.count)
        values.withUnsafeBufferPointer { src in
            p.update(from: src.baseAddress!, count: src.count)
        }
        return p
    }

    /// Runs `cleanup` when the arena is freed (for protobuf-c messages unpacked on the way).
    func onFree(_ cleanup: @escaping () -> Void) { cleanups.append(cleanup) }
}
