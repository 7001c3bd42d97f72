#if canImport(Glibc)
import Glibc
#endif

/// Inputs for running a model: read from a folder of tensor files, or generated from the graph's
/// input declarations with a fixed seed.
///
/// Folder rule: a file `NAME.npy` / `NAME.pb` feeds the graph input NAME; a `.pb` whose stored
/// name is an input feeds that input; `input_K.pb` / `input_K.npy` (the conformance corpus's
/// naming) feeds the K-th input that has no initializer; `output_K` files (expected outputs in
/// that layout) are skipped.
///
/// Generation rule: symbolic dims take their `--dim name=value`, else 1; unknown dims (no value,
/// or a negative one as Paddle writes them) are 1.
/// Floats are standard normal; integers that index a Gather table are drawn over its rows with
/// p(i) ∝ 1/(i + 10) (`zipfIndex`: BPE and WordPiece vocabularies number tokens roughly by
/// frequency, so text's tokens are mostly low ids), inputs named like a mask are all ones, other
/// integers are uniform in 0..<2; bools are fair coins.
public struct ModelInputs {
    public var values: [String: Value] = [:]
    /// What generation decided (dims defaulted, ranges chosen), for the report.
    public var notes: [String] = []
    /// Inputs that were generated rather than read, in graph order.
    public var generated: [String] = []

    public init() {}

    /// Reads every .npy/.pb file of `folder`, matched to the inputs of `model`.
    public static func read(folder: String, model: Model) throws -> ModelInputs {
        let graph = model.mainGraph
        let weights = Set(graph.initializers.map(\.name))
        let required = graph.inputs.filter { !weights.contains($0.name) }.map(\.name)
        let all = Set(graph.inputs.map(\.name))
        var result = ModelInputs()
        for file in try listFiles(folder) where file.hasSuffix(".npy") || file.hasSuffix(".pb") {
            let stem = String(file.dropLast(file.hasSuffix(".pb") ? 3 : 4))
            let (stored, value) = try TensorFiles.read("\(folder)/\(file)")
            var name: String?
            if all.contains(stem) { name = stem }
            else if let stored, all.contains(stored) { name = stored }
            else if stem.hasPrefix("input_"), let k = Int(stem.dropFirst(6)), k >= 0, k < required.count { name = required[k] }
            // output_K files hold expected outputs in the corpus layout.
            if name == nil && stem.hasPrefix("output_") && Int(stem.dropFirst(7)) != nil { continue }
            guard let name else {
                throw OnnxSlimError.badInput("\(folder)/\(file)", "does not name a graph input (inputs: \(required.joined(separator: ", ")))")
            }
            guard result.values[name] == nil else {
                throw OnnxSlimError.badInput(folder, "more than one file feeds input '\(name)'")
            }
            result.values[name] = .tensor(value)
        }
        return result
    }

    /// Values for the inputs of `model` not in `given`, drawn with `seed`.
    public static func generate(for model: Model, dims: [String: Int], seed: UInt64,
                                given: ModelInputs = ModelInputs()) throws -> ModelInputs {
        var result = given
        let graph = model.mainGraph
        let weights = Set(graph.initializers.map(\.name))
        let tables = gatherTableRows(graph)
        var defaulted: Set<String> = []
        for (index, info) in graph.inputs.enumerated() where !weights.contains(info.name) && result.values[info.name] == nil {
            guard let tt = info.type?.tensorType else {
                throw OnnxSlimError(.badInput, "cannot generate input '\(info.name)': it is not a tensor")
            }
            var shape: [Int] = []
            for d in tt.shape?.dims ?? [] {
                switch d.value {
                // Paddle writes unknown dims as dim_value -1: a negative value is unknown.
                case .value(let v) where v >= 0: shape.append(Int(v))
                case .param(let p):
                    if let v = dims[p] { shape.append(v) } else { shape.append(1); defaulted.insert(p) }
                case .value, .unknown: shape.append(1); defaulted.insert("?")
                }
            }
            var rng = SplitMix64(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
            let (n, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            guard !overflow, n <= 1 << 31 else {
                throw OnnxSlimError(.badInput, "cannot generate input '\(info.name)': shape \(shape) has too many elements")
            }
            let type = tt.elemType
            let value: NDArray
            switch ElementKind(type) {
            case .float:
                value = NDArray(floats: (0..<n).map { _ in rng.normal() }, shape: shape, type: type).normalized()
            case .bool:
                value = NDArray(bools: (0..<n).map { _ in rng.next() & 1 == 1 }, shape: shape)
            case .int:
                let lowered = info.name.lowercased()
                if lowered.contains("mask") {
                    value = NDArray(int64s: [Int64](repeating: 1, count: n), shape: shape, type: type)
                    result.notes.append("input '\(info.name)': all ones (a mask)")
                } else {
                    if let rows = tables[info.name] {
                        value = NDArray(int64s: (0..<n).map { _ in Int64(zipfIndex(rows: rows, &rng)) }, shape: shape, type: type)
                        result.notes.append("input '\(info.name)': indices in 0..<\(rows), low ones likelier (p ∝ 1/(i+10), as tokens of text)")
                    } else {
                        value = NDArray(int64s: (0..<n).map { _ in Int64(rng.next() % 2) }, shape: shape, type: type)
                        result.notes.append("input '\(info.name)': uniform integers in 0..<2")
                    }
                }
            case .string:
                throw OnnxSlimError(.badInput, "cannot generate string input '\(info.name)'; give it with --inputs")
            }
            result.values[info.name] = .tensor(value)
            result.generated.append(info.name)
        }
        for name in defaulted.sorted() {
            result.notes.append(name == "?" ? "unnamed dims set to 1" : "dim '\(name)' set to 1 (use --dim \(name)=N)")
        }
        return result
    }

    /// An index in 0..<rows with p(i) ∝ 1/(i + c), c = 10, by inverting the continuous CDF
    /// F(x) = ln((x + c)/c) / ln((rows + c)/c): a Zipf law over a vocabulary ordered by frequency.
    static func zipfIndex(rows: Int, _ rng: inout SplitMix64) -> Int {
        guard rows > 1 else { return 0 }
        let c = 10.0
        let u = Double(rng.uniform())
        let x = c * pow((Double(rows) + c) / c, u) - c
        return min(max(Int(x), 0), rows - 1)
    }

    /// The generated inputs with their types and dims (`x float32[1,3,1,1]`), for error messages
    /// that must say what the model was run on; nil when nothing was generated.
    public var generatedDescription: String? {
        guard !generated.isEmpty else { return nil }
        return generated.map { name -> String in
            guard case .tensor(let t)? = values[name] else { return name }
            return "\(name) \(t.dataType)[\(t.shape.map(String.init).joined(separator: ","))]"
        }.joined(separator: ", ")
    }

    /// Graph inputs used (directly or through Cast/Reshape/Unsqueeze/Squeeze/Flatten) as Gather
    /// indices, with the row count of the table they index.
    static func gatherTableRows(_ graph: Graph) -> [String: Int] {
        var shapes: [String: [Int64]] = [:]
        for t in graph.initializers { shapes[t.name] = t.dims }
        for n in graph.nodes where n.opType == "Constant" { if let t = n.attribute("value")?.t { shapes[n.outputs.first ?? ""] = t.dims } }
        var origin: [String: String] = [:]   // value → graph input it passes through from
        for i in graph.inputs { origin[i.name] = i.name }
        var rows: [String: Int] = [:]
        for n in graph.nodes {
            if ["Cast", "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Identity"].contains(n.opType),
               let first = n.inputs.first, let o = origin[first] {
                for out in n.outputs { origin[out] = o }
            }
            if n.opType == "Gather", n.inputs.count > 1, let o = origin[n.inputs[1]], let dims = shapes[n.inputs[0]], !dims.isEmpty {
                let axis = Int(n.intAttribute("axis", default: 0))
                let a = axis < 0 ? axis + dims.count : axis
                if a >= 0 && a < dims.count { rows[o] = min(rows[o] ?? Int.max, Int(dims[a])) }
            }
        }
        return rows
    }

    static func listFiles(_ folder: String) throws -> [String] {
        guard let dir = opendir(folder) else { throw OnnxSlimError.badInput(folder, "cannot open folder: \(errnoText())") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

/// A small seeded generator (SplitMix64): the same seed gives the same inputs on every machine.
public struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A uniform Float in [0, 1).
    public mutating func uniform() -> Float { Float(next() >> 40) * 0x1p-24 }
    /// A standard normal Float (Box–Muller).
    public mutating func normal() -> Float {
        let u1 = max(uniform(), 0x1p-24), u2 = uniform()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
    }
}

extension ModelInputs {
    /// Runs `body` on this sample; an error it throws gets what the model was run on appended when
    /// inputs were generated, since generated dims (1 for every symbol) are the usual cause of a
    /// real model failing ("shapes do not concatenate"). `hint` names the option for real samples.
    public func explainingFailures<T>(hint: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            guard let generated = generatedDescription else { throw error }
            let kind = (error as? OnnxSlimError)?.kind ?? .badInput
            throw OnnxSlimError(kind, "\(error) (on generated inputs \(generated); set symbolic dims with --dim name=N or give real samples with \(hint))")
        }
    }
}
