import OnnxSlim
#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress display on stderr, shown only on a terminal and only once work has taken
/// more than half a second; erased when done so reports stay clean.
final class TerminalProgress: @unchecked Sendable {
    private let enabled = isatty(2) != 0
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant
    private var shown = false

    init() { start = clock.now }

    func update(_ phase: String, done: Int, total: Int) {
        guard enabled, clock.now - start > .milliseconds(500), total > 0 else { return }
        let percent = min(100, done * 100 / total)
        fputs("\r\u{1B}[K\(phase) \(percent)% (\(Formatting.bytes(done)) of \(Formatting.bytes(total)))", stderr)
        shown = true
    }

    func finish() {
        if shown { fputs("\r\u{1B}[K", stderr) }
        shown = false
    }
}
