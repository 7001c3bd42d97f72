import ArgumentParser
import OnnxSlim
#if canImport(Glibc)
import Glibc
#endif

/// `onnx-slim run MODEL`: evaluates the model with the built-in evaluator.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model with the built-in evaluator on given or generated inputs.",
        discussion: """
            Inputs come from --inputs DIR: NAME.npy or NAME.pb feeds graph input NAME; input_K.pb \
            feeds the K-th input (the ONNX conformance corpus's layout). Inputs not given are generated \
            with --seed: floats standard normal, integers indexing a Gather table uniform over its rows, \
            mask-like integers all ones. Symbolic dims take --dim name=value, else 1.
            """)

    @Argument(help: "Model (.onnx, or a zstd frame holding one).")
    var model: String?

    @Option(help: "Folder of input tensors (.npy or .pb).")
    var inputs: String?

    @Option(help: "Folder to write outputs into, one file per graph output.")
    var outputs: String?

    @Option(help: "Format of written outputs: npy or pb.")
    var outputFormat: String = "npy"

    @OptionGroup
    var generation: GeneratedInputOptions

    @Option(help: "Threads for matrix products (default: all cores).")
    var threads: Int?

    @Option(help: "Run this many times and report the median time.")
    var `repeat`: Int = 1

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "List the operators the evaluator implements and exit.")
    var listOps = false

    func run() throws {
        if listOps {
            print(Evaluator.supportedOperators.joined(separator: "\n"))
            return
        }
        guard let model else { throw OnnxSlimError.usage("missing MODEL (see onnx-slim run --help)") }
        guard outputFormat == "npy" || outputFormat == "pb" else {
            throw OnnxSlimError.usage("--output-format must be npy or pb, not '\(outputFormat)'")
        }
        guard `repeat` >= 1 else { throw OnnxSlimError.usage("--repeat must be at least 1") }
        let dimValues = try generation.dimValues()
        let seed = generation.seed
        if let threads { Evaluator.setThreads(threads) }
        let loaded = try ModelLoader.load(model)
        let evaluator = try Evaluator(model: loaded.model)
        var given = ModelInputs()
        if let inputs { given = try ModelInputs.read(folder: inputs, model: loaded.model) }
        let feeds = try ModelInputs.generate(for: loaded.model, dims: dimValues, seed: seed, given: given)

        var times: [Double] = []
        var results: [(name: String, value: Value)] = []
        do {
            for _ in 0..<`repeat` {
                let start = Clock.now()
                results = try evaluator.run(feeds.values)
                times.append(Clock.now() - start)
            }
        } catch let error as OnnxSlimError where error.kind == .badInput && !error.message.hasPrefix(model) {
            // Evaluator errors name the node; the one line must name the file too.
            throw OnnxSlimError.badInput(model, error.message)
        }
        let median = times.sorted()[times.count / 2]

        var written: [String: String] = [:]
        if let outputs {
            try makeFolder(outputs)
            for (k, r) in results.enumerated() {
                guard case .tensor(let t) = r.value else {
                    throw OnnxSlimError(.badInput, "output '\(r.name)' is a \(r.value.kindName); only tensors can be written")
                }
                let path = "\(outputs)/\(fileName(r.name, index: k)).\(outputFormat)"
                try TensorFiles.write(t, name: r.name, to: path)
                written[r.name] = path
            }
        }
        let generated = loaded.model.mainGraph.inputs.map(\.name).filter { given.values[$0] == nil && feeds.values[$0] != nil }
        if json {
            let outs: [JSONValue] = results.map { r in
                var fields: [(String, JSONValue)] = [("name", .string(r.name))]
                if case .tensor(let t) = r.value {
                    fields += [("dtype", .string(t.dataType.description)), ("shape", .array(t.shape.map { .int($0) }))]
                    if let s = Stats(t) { fields += [("min", .double(s.min)), ("max", .double(s.max)), ("mean", .double(s.mean))] }
                } else {
                    fields.append(("kind", .string(r.value.kindName)))
                }
                if let path = written[r.name] { fields.append(("file", .string(path))) }
                return .object(fields)
            }
            print(JSONValue.object([
                ("outputs", .array(outs)),
                ("generated_inputs", .array(generated.map { .string($0) })),
                ("notes", .array(feeds.notes.map { .string($0) })),
                ("seconds", .double(median)),
                ("blas_core", .string(BLAS.coreName)),
            ]).rendered())
            return
        }
        if !generated.isEmpty {
            print("generated inputs (seed \(seed)): \(generated.joined(separator: ", "))")
            for note in feeds.notes { print("  \(note)") }
        }
        var rows: [[String]] = [["output", "dtype", "shape", "min", "max", "mean"]]
        for r in results {
            if case .tensor(let t) = r.value {
                let s = Stats(t)
                rows.append([r.name, t.dataType.description, "[" + t.shape.map(String.init).joined(separator: ", ") + "]",
                             s.map { Formatting.fixed($0.min, 4) } ?? "-", s.map { Formatting.fixed($0.max, 4) } ?? "-",
                             s.map { Formatting.fixed($0.mean, 4) } ?? "-"])
            } else {
                rows.append([r.name, r.value.kindName, "", "", "", ""])
            }
        }
        print(Formatting.table(rows, indent: ""), terminator: "")
        print("time: \(Formatting.fixed(median * 1000, 2)) ms" + (`repeat` > 1 ? " (median of \(`repeat`))" : ""))
        if let outputs { print("wrote \(results.count) outputs to \(outputs)") }
    }

    /// A file name for output `name`: characters outside [A-Za-z0-9._-] become '_'.
    func fileName(_ name: String, index: Int) -> String {
        let safe = String(name.unicodeScalars.map { c -> Character in
            let ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "." || c == "_" || c == "-"
            return ok ? Character(c) : "_"
        })
        return safe.isEmpty || safe.hasPrefix(".") ? "output_\(index)" : safe
    }

    func makeFolder(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw OnnxSlimError(.io, "\(path): cannot create folder: \(String(cString: strerror(errno)))")
        }
    }
}

/// Summary statistics of a numeric tensor.
struct Stats {
    var min: Double, max: Double, mean: Double
    init?(_ t: NDArray) {
        guard t.kind == .float || t.kind == .int || t.kind == .bool, t.count > 0 else { return nil }
        let v = t.asFloats
        var lo = Double.infinity, hi = -Double.infinity, sum = 0.0
        for x in v { let d = Double(x); lo = Swift.min(lo, d); hi = Swift.max(hi, d); sum += d }
        min = lo; max = hi; mean = sum / Double(v.count)
    }
}

/// `--seed` and `--dim name=value`: how inputs that are not given are generated (run, --verify
/// and calibration share them).
struct GeneratedInputOptions: ParsableArguments {
    @Option(help: "Seed for generated inputs (run, --verify, calibration).")
    var seed: UInt64 = 0

    @Option(name: .customLong("dim"), help: "Value for a symbolic input dim in generated inputs, name=value (repeatable; default 1).")
    var dims: [String] = []

    func dimValues() throws -> [String: Int] { try ShapeOptions.bindings(dims) }
}

/// Monotonic wall time in seconds.
enum Clock {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
