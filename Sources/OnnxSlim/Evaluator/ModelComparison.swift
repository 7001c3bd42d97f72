#if canImport(Glibc)
import Glibc
#endif

/// How closely one output of a converted model follows the original's over a set of samples.
public struct OutputAgreement: Sendable {
    public var name: String
    /// Cosine similarity of all the output's values (over every sample at once).
    public var cosine: Double
    public var maxAbsError: Double
    /// For classifier-like outputs (float, rank ≥ 2, last dim ≥ 2): the fraction of rows whose
    /// arg-max over the last axis agrees.
    public var top1: Double?
}

/// Runs an original model and its converted form on the same inputs and measures agreement per
/// output: the `--verify` check.
public struct ModelComparison {
    let original: Evaluator
    let converted: Evaluator

    public init(original: Model, converted: Model, reader: ExternalDataReader = ExternalDataReader()) throws {
        self.original = try Evaluator(model: original, reader: reader)
        self.converted = try Evaluator(model: converted, reader: reader)
    }

    public func compare(samples: [ModelInputs]) throws -> [OutputAgreement] {
        var acc: [Accumulator] = []
        for sample in samples {
            let (a, b) = try sample.explainingFailures(hint: "--inputs DIR") {
                (try original.run(sample.values), try converted.run(Self.adapt(sample.values, to: converted.model)))
            }
            if acc.isEmpty { acc = a.map { Accumulator(name: $0.name) } }
            for (k, out) in a.enumerated() {
                // Outputs are matched by name, else by position.
                guard let other = b.first(where: { $0.name == out.name }) ?? (k < b.count ? b[k] : nil) else {
                    throw OnnxSlimError(.badInput, "the converted model has no output '\(out.name)'")
                }
                guard case .tensor(let x) = out.value, case .tensor(let y) = other.value else { continue }
                guard x.shape == y.shape else {
                    throw OnnxSlimError(.badInput, "output '\(out.name)' changed shape: \(x.shape) → \(y.shape)")
                }
                acc[k].add(x, y)
            }
        }
        return acc.map { $0.result }
    }

    /// Feeds retyped where the converted model declares another float type for an input
    /// (fp16 models without kept I/O types).
    static func adapt(_ feeds: [String: Value], to model: Model) -> [String: Value] {
        var out = feeds
        for info in model.mainGraph.inputs {
            guard let want = info.type?.tensorType?.elemType, case .tensor(var t)? = feeds[info.name],
                  t.dataType != want, t.kind == .float, ElementKind(want) == .float else { continue }
            t.dataType = want
            out[info.name] = .tensor(t.normalized())
        }
        return out
    }

    struct Accumulator {
        var name: String
        var dot = 0.0, normA = 0.0, normB = 0.0, maxError = 0.0
        var rows = 0, agreeing = 0, classifier = true

        init(name: String) { self.name = name }

        mutating func add(_ a: NDArray, _ b: NDArray) {
            let x = a.asFloats, y = b.asFloats
            for k in x.indices {
                let p = Double(x[k]), q = Double(y[k])
                dot += p * q; normA += p * p; normB += q * q
                let e = abs(p - q)
                if e > maxError || e.isNaN { maxError = e.isNaN ? .infinity : e }
            }
            let width = a.shape.last ?? 0
            guard a.kind == .float, a.rank >= 2, width >= 2 else { classifier = false; return }
            for r in 0..<(x.count / width) {
                let base = r * width
                var ia = 0, ib = 0
                for j in 1..<width {
                    if x[base + j] > x[base + ia] { ia = j }
                    if y[base + j] > y[base + ib] { ib = j }
                }
                rows += 1
                if ia == ib { agreeing += 1 }
            }
        }

        var result: OutputAgreement {
            let cosine: Double
            if normA == 0 && normB == 0 { cosine = 1 }
            else if normA == 0 || normB == 0 { cosine = 0 }
            else { cosine = dot / (normA.squareRoot() * normB.squareRoot()) }
            return OutputAgreement(name: name, cosine: cosine, maxAbsError: maxError,
                                   top1: classifier && rows > 0 ? Double(agreeing) / Double(rows) : nil)
        }
    }
}

extension ModelInputs {
    /// Samples from `folder`: each sub-folder is one sample (sorted by name), or, without
    /// sub-folders, the folder's files are one sample.
    public static func samples(folder: String, model: Model) throws -> [ModelInputs] {
        let entries = try listFiles(folder)
        let subfolders = entries.filter { isFolder("\(folder)/\($0)") }
        if subfolders.isEmpty { return [try read(folder: folder, model: model)] }
        return try subfolders.map { try read(folder: "\(folder)/\($0)", model: model) }
    }

    /// The samples a data-aware step runs on: those of `folder` (inputs a sample lacks are
    /// generated with `seed`), or, without a folder, `count` generated samples with seeds
    /// `seed`, `seed + 1`, …
    public static func samples(folder: String?, count: Int, model: Model, dims: [String: Int],
                               seed: UInt64) throws -> [ModelInputs] {
        if let folder {
            return try samples(folder: folder, model: model).map {
                try generate(for: model, dims: dims, seed: seed, given: $0)
            }
        }
        return try (0..<count).map { try generate(for: model, dims: dims, seed: seed &+ UInt64($0)) }
    }

    static func isFolder(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}
