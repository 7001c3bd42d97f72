import Foundation

/// Calibration samples from text (`--calibration-text FILE --tokenizer tokenizer.json`), so
/// users calibrate a language model on sentences without writing Python:
///
/// - `lines`: one sample per non-empty line, encoded as the tokenizer encodes one sequence
///   (an encoder's [CLS] … [SEP], its truncation), cut to `length` tokens. The default when the
///   tokenizer adds special tokens (BERT-family encoders).
/// - `windows`: the whole text's tokens (no special tokens) in consecutive windows of `length`
///   tokens, as perplexity is measured. The default otherwise (GPT-style decoders).
///
/// Feeds: `input_ids` (or the model's only integer input) the ids, `attention_mask` ones,
/// `token_type_ids` the type ids, `position_ids` 0 … n−1, each in the input's declared integer
/// type and shaped [1, n]; other inputs are generated as for any sample.
public struct TextCalibration: Sendable {
    public enum Split: String, CaseIterable, Sendable { case lines, windows }

    public var sequences: [Tokenizer.Encoding]
    public var split: Split
    /// "FILE (N lines|windows of L tokens, tokenizer.json)".
    public var description: String

    public static func make(text path: String, tokenizer tokenizerPath: String, split: Split?, length: Int,
                            samples: Int) throws -> TextCalibration {
        let tokenizer = try Tokenizer.load(tokenizerPath)
        let text = try read(path)
        let split = split ?? (tokenizer.addsSpecialTokens ? .lines : .windows)
        var sequences: [Tokenizer.Encoding] = []
        switch split {
        case .lines:
            for line in lines(text) where sequences.count < samples {
                var e = tokenizer.encode(line)
                if e.ids.count > length { e = Tokenizer.Encoding(ids: Array(e.ids.prefix(length)), types: Array(e.types.prefix(length))) }
                if !e.ids.isEmpty { sequences.append(e) }
            }
        case .windows:
            let ids = tokenizer.encode(text, specialTokens: false).ids
            var start = 0
            while start + length <= ids.count && sequences.count < samples {
                sequences.append(Tokenizer.Encoding(ids: Array(ids[start..<(start + length)]), types: [Int](repeating: 0, count: length)))
                start += length
            }
            if sequences.isEmpty && !ids.isEmpty {
                // A text shorter than one window is one shorter sample.
                sequences.append(Tokenizer.Encoding(ids: ids, types: [Int](repeating: 0, count: ids.count)))
            }
        }
        guard !sequences.isEmpty else { throw OnnxSlimError.badInput(path, "no text to calibrate on") }
        let shape = split == .lines ? "\(sequences.count) lines" : "\(sequences.count) windows of \(sequences[0].ids.count) tokens"
        let name = tokenizerPath.split(separator: "/").last.map(String.init) ?? tokenizerPath
        return TextCalibration(sequences: sequences, split: split, description: "\(path) (\(shape), \(name))")
    }

    /// The file as UTF-8 text (invalid bytes are refused, not replaced).
    public static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw OnnxSlimError.badInput(path, "cannot read the text file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw OnnxSlimError.badInput(path, "not UTF-8 text") }
        return text
    }

    /// The non-empty lines (\n, \r\n), whitespace at their ends kept as the tokenizer sees it.
    public static func lines(_ text: String) -> [String] {
        text.split(omittingEmptySubsequences: true) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
            .map(String.init).filter { !$0.allSatisfy(\.isWhitespace) }
    }

    /// One sample per sequence, fed to `model`'s token inputs by name.
    func inputs(for model: Model, dims: [String: Int], seed: UInt64) throws -> [ModelInputs] {
        let graph = model.mainGraph
        let weights = Set(graph.initializers.map(\.name))
        let integerInputs = graph.inputs.filter { info in
            guard !weights.contains(info.name), let t = info.type?.tensorType?.elemType else { return false }
            return t == .int64 || t == .int32
        }
        enum Role { case ids, mask, types, positions }
        func role(_ name: String) -> Role? {
            let n = name.lowercased()
            if n.contains("input_ids") || n == "ids" || n == "tokens" { return .ids }
            if n.contains("attention_mask") || n == "mask" { return .mask }
            if n.contains("token_type") || n.contains("segment") { return .types }
            if n.contains("position_ids") { return .positions }
            return nil
        }
        var roles: [(name: String, type: DataType, role: Role)] = integerInputs.compactMap { info in
            role(info.name).map { (info.name, info.type!.tensorType!.elemType, $0) }
        }
        if !roles.contains(where: { $0.role == .ids }) {
            guard integerInputs.count == 1, let only = integerInputs.first else {
                throw OnnxSlimError.usage("--calibration-text: the model has no input_ids input (integer inputs: \(integerInputs.map(\.name).joined(separator: ", ")))")
            }
            roles = [(only.name, only.type!.tensorType!.elemType, .ids)]
        }
        return try sequences.enumerated().map { k, e in
            var given = ModelInputs()
            let n = e.ids.count
            for (name, type, role) in roles {
                let values: [Int64]
                switch role {
                case .ids: values = e.ids.map(Int64.init)
                case .mask: values = [Int64](repeating: 1, count: n)
                case .types: values = e.types.map(Int64.init)
                case .positions: values = (0..<n).map(Int64.init)
                }
                given.values[name] = .tensor(NDArray(int64s: values, shape: [1, n], type: type))
            }
            return try ModelInputs.generate(for: model, dims: dims, seed: seed &+ UInt64(k), given: given)
        }
    }
}

/// Where calibration samples come from: a folder of tensors (`--calibration DIR`) or text
/// (`--calibration-text`).
public enum CalibrationSource: Sendable, CustomStringConvertible {
    case folder(String)
    case text(TextCalibration)

    public var description: String {
        switch self {
        case let .folder(path): return path
        case let .text(t): return t.description
        }
    }
}

extension ModelInputs {
    /// The samples a data-aware step runs on: those of `source` (inputs a sample lacks are
    /// generated with `seed`), or, without one, `count` generated samples with seeds `seed`,
    /// `seed + 1`, …
    public static func samples(_ source: CalibrationSource?, count: Int, model: Model, dims: [String: Int],
                               seed: UInt64) throws -> [ModelInputs] {
        switch source {
        case let .folder(path)?: return try samples(folder: path, count: count, model: model, dims: dims, seed: seed)
        case let .text(t)?: return try t.inputs(for: model, dims: dims, seed: seed)
        case nil: return try samples(folder: nil, count: count, model: model, dims: dims, seed: seed)
        }
    }
}
