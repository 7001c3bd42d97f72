import ArgumentParser
import Foundation
import OnnxSlim

/// `onnx-slim tokenize TOKENIZER TEXT`: the token ids the Swift tokenizer gives a text file (what
/// `--calibration-text` feeds the model), as JSON: one encoding for the whole file, or one per
/// non-empty line with `--lines`.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize a text file with a Hugging Face tokenizer.json (WordPiece or byte-level BPE); prints JSON ids.")

    @Argument(help: "tokenizer.json.")
    var tokenizer: String

    @Argument(help: "UTF-8 text file.")
    var text: String

    @Flag(help: "One encoding per non-empty line instead of one for the file.")
    var lines = false

    @Flag(help: "Without the post-processor's special tokens and truncation.")
    var noSpecialTokens = false

    func run() throws {
        let tk = try Tokenizer.load(tokenizer)
        let content = try TextCalibration.read(text)
        let texts = lines ? TextCalibration.lines(content) : [content]
        let encodings = texts.map { tk.encode($0, specialTokens: !noSpecialTokens) }
        let json = JSONValue.array(encodings.map { e in
            .object([("ids", .array(e.ids.map { .int($0) })), ("types", .array(e.types.map { .int($0) }))])
        })
        print(json.rendered(pretty: false))
    }
}
