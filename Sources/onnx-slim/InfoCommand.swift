import ArgumentParser
import OnnxSlim

/// `onnx-slim info MODEL`: signature, operators, weights, and from shape inference the compute
/// (params, MACs, FLOPs per op type), peak activation memory and values not inferred. Weight
/// bytes are not read, except small integer tensors that hold shapes.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe a model: signature, operators, parameters, MACs and FLOPs, peak activation memory, where the weights live.")

    @Argument(help: "Model (.onnx, or a zstd frame holding one).")
    var model: String

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Flag(help: "Add a per-node table: name, op, output shape, params, MACs.")
    var layers = false

    @OptionGroup var shapes: ShapeOptions

    func run() throws {
        let options = try shapes.options()
        var loadOptions = ModelLoader.Options()
        loadOptions.validate = false
        let loaded = try ModelLoader.load(model, options: loadOptions)
        let summary = ModelSummary(loaded)
        let compute = ComputeSummary(try ShapeInference.run(loaded.model, options: options))
        if json {
            var fields: [(String, JSONValue)] = []
            if case .object(let f) = summary.json { fields = f }
            fields.append(("compute", compute.json(layers: layers)))
            print(JSONValue.object(fields).rendered())
        } else {
            print(summary.text)
            print(compute.text)
            if layers {
                print("layers")
                print(compute.layersText)
            }
        }
    }
}
