import ArgumentParser
import OnnxSlim

/// `--input-shape name:1,3,224,224` and `--dim name=value`: what fixes symbolic dims for shape
/// inference (info).
struct ShapeOptions: ParsableArguments {
    @Option(name: .customLong("input-shape"), help: "Fixed shape for a graph input, name:d1,d2,… (repeatable).")
    var inputShapes: [String] = []

    @Option(name: .customLong("dim"), help: "Value for a symbolic dim, name=value (repeatable).")
    var dims: [String] = []

    func options() throws -> ShapeInference.Options {
        var o = ShapeInference.Options()
        o.dims = try Self.bindings(dims)
        for item in inputShapes {
            guard let colon = item.lastIndex(of: ":") else {
                throw OnnxSlimError.usage("--input-shape wants name:d1,d2,…, not '\(item)'")
            }
            let name = String(item[..<colon])
            let spec = item[item.index(after: colon)...]
            let dims = spec.isEmpty ? [] : spec.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
            guard !name.isEmpty, dims.allSatisfy({ ($0 ?? -1) >= 0 }) else {
                throw OnnxSlimError.usage("--input-shape wants name:d1,d2,… with non-negative integers, not '\(item)'")
            }
            o.inputShapes[name] = dims.compactMap { $0 }
        }
        return o
    }

    /// name=value pairs (shared with `run --dim`).
    static func bindings(_ items: [String]) throws -> [String: Int] {
        var out: [String: Int] = [:]
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let v = Int(parts[1]), v >= 0 else {
                throw OnnxSlimError.usage("--dim wants name=value with a non-negative integer, not '\(item)'")
            }
            out[String(parts[0])] = v
        }
        return out
    }
}
