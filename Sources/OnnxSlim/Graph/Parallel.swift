import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Work spread over the machine's cores.
enum Parallel {
    /// `transform` applied to every element, concurrently; results in order. The first error is
    /// rethrown after all work ends.
    static func map<T, R>(_ items: [T], _ transform: (T) throws -> R) throws -> [R] {
        if items.count < 2 { return try items.map(transform) }
        var results = [Result<R, Error>?](repeating: nil, count: items.count)
        results.withUnsafeMutableBufferPointer { slots in
            let base = slots.baseAddress!
            withoutActuallyEscaping(transform) { transform in
                DispatchQueue.concurrentPerform(iterations: items.count) { k in
                    base[k] = Result { try transform(items[k]) }
                }
            }
        }
        return try results.map { try $0!.get() }
    }
}

/// A mutual-exclusion lock.
final class Lock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()

    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }

    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}
