import Foundation
import XCTest
@testable import OnnxSlim

/// Paths and small builders shared by the tests.
enum TestSupport {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let testdata = repoRoot.appendingPathComponent("testdata")

    static func testdataModels() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: testdata.path)
            .filter { $0.hasSuffix(".onnx") }.sorted()
            .map { testdata.appendingPathComponent($0).path }
    }

    /// A fresh temporary folder, removed when the test ends.
    static func temporaryFolder(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("onnx-slim-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    static func floatTensor(_ name: String, _ dims: [Int64], _ values: [Float]) -> Tensor {
        let bytes = values.withUnsafeBytes { Array($0) }
        return Tensor(name: name, dataType: .float, dims: dims, raw: ByteView(copying: bytes))
    }

    /// A model of graph `g` at IR 8, opset 17.
    static func model(_ g: Graph) -> Model {
        var m = Model()
        m.irVersion = 8
        m.opsetImports = [OperatorSetID(version: 17)]
        m.graph = g
        return m
    }

    /// y = MatMul(x, w) + b with float weights: a small valid model.
    static func smallModel() -> Model {
        var g = Graph()
        g.name = "small"
        g.inputs = [ValueInfo(name: "x", type: .tensor(.float, [.symbol("N"), .fixed(2)]))]
        g.outputs = [ValueInfo(name: "y", type: .tensor(.float, [.symbol("N"), .fixed(2)]))]
        g.initializers = [floatTensor("w", [2, 2], [1, 2, 3, 4]), floatTensor("b", [2], [0.5, -0.5])]
        g.nodes = [Node("MatMul", inputs: ["x", "w"], outputs: ["h"], name: "mm"),
                   Node("Add", inputs: ["h", "b"], outputs: ["y"], name: "add")]
        var m = Model()
        m.irVersion = 8
        m.opsetImports = [OperatorSetID(version: 17)]
        m.producerName = "tests"
        m.graph = g
        return m
    }

    /// Serializes through the real saver and returns the file's bytes.
    static func serialize(_ model: Model, in folder: URL, name: String = "m.onnx") throws -> (URL, Data) {
        let url = folder.appendingPathComponent(name)
        _ = try ModelSaver.save(model, to: url.path)
        return (url, try Data(contentsOf: url))
    }
}
