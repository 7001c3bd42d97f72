#if canImport(Glibc)
import Glibc
#endif

/// With ONNX_SLIM_TRACE_MEMORY set, prints current and peak resident memory at each phase to
/// stderr (for finding where memory goes; off by default).
enum MemoryTrace {
    static let enabled = getenv("ONNX_SLIM_TRACE_MEMORY") != nil

    static func mark(_ phase: String) {
        guard enabled, let f = fopen("/proc/self/status", "r") else { return }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        var fields: [String] = []
        while fgets(&line, 256, f) != nil {
            let s = String(cString: line)
            if s.hasPrefix("VmRSS") || s.hasPrefix("VmHWM") { fields.append(s.split(whereSeparator: { $0 == "\t" || $0 == "\n" }).joined(separator: " ")) }
        }
        fputs("memory \(phase): \(fields.joined(separator: ", "))\n", stderr)
    }
}
