import ArgumentParser
import OnnxSlim

/// `onnx-slim info MODEL`: signature, operators and weights, without reading weight bytes.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a model: IR version, opsets, inputs and outputs, op counts, parameters and where the weights live.")

    @Argument(help: "Model (.onnx, or a zstd frame holding one).")
    var model: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() throws {
        var options = ModelLoader.Options()
        options.validate = false
        let loaded = try ModelLoader.load(model, options: options)
        let summary = ModelSummary(loaded)
        print(json ? summary.json.rendered() : summary.text)
    }
}
