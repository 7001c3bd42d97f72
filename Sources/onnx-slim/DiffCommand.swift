import ArgumentParser
import OnnxSlim

/// `onnx-slim diff A B`: what changed between two models, with onnx-slim's rewrites named.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two models: signature, opsets, nodes and weights added, removed or changed; quantization, low-rank factorization, pruning, float16 conversion and constant folding named as such.",
        discussion: """
            Nodes are matched by name, then by structure, so renamed and reordered graphs compare \
            equal. Only the graphs are read, not the weights, unless --weights is given. The exit \
            code is 0 whether or not the models differ (\"identical\" in --json says which); 1 for \
            usage errors, 2 for bad input.
            """)

    @Argument(help: "The model before (.onnx, or a zstd frame holding one).")
    var a: String

    @Argument(help: "The model after.")
    var b: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "Read weight values and report, for weights of one shape, the max absolute difference and relative L2 error.")
    var weights = false

    @Option(help: "Also write a self-contained HTML page drawing the changed regions of both graphs side by side.")
    var html: String?

    func run() throws {
        var load = ModelLoader.Options()
        load.validate = false
        let la = try ModelLoader.load(a, options: load)
        let lb = try ModelLoader.load(b, options: load)
        var options = ModelDiffer.Options()
        options.weights = weights
        let result = try ModelDiffer.diff(la, lb, options: options)
        if let html { try DiffHTML.write(result, to: html) }
        print(json ? result.json.rendered() : result.text)
    }
}
