import ArgumentParser

/// The root command: `onnx-slim IN OUT [options]` converts; `info` inspects; `diff` compares.
struct OnnxSlimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "onnx-slim",
        abstract: "Compress ONNX models for edge deployment; inspect them.",
        usage: """
            onnx-slim IN OUT [--zstd-level N] [--external-data] [--report text|json]
            onnx-slim info MODEL [--json]
            onnx-slim diff A B [--json] [--weights] [--html FILE]
            onnx-slim run MODEL [--inputs DIR] [--outputs DIR] [--dim name=value] [--seed N]
            onnx-slim tokenize TOKENIZER TEXT [--lines] [--no-special-tokens]
            """,
        discussion: """
            Exit codes: 0 success, 1 usage error, 2 bad input (the message names the file and the \
            problem), 3 a verification bound was breached, 4 an I/O failure while writing.
            """,
        subcommands: [ConvertCommand.self, InfoCommand.self, DiffCommand.self, RunCommand.self, TokenizeCommand.self],
        defaultSubcommand: ConvertCommand.self)
}
