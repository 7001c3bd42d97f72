import XCTest
@testable import OnnxSlim

/// Float16 storage of what quantization leaves in float32: which tensors are narrowed, which not.
final class HalfStoragePassTests: XCTestCase {
    /// x → MatMul(w) → Add(b) → LayerNormalization(gamma, beta) → Add(mask) → y
    private func model() -> Model {
        var g = Graph()
        g.inputs = [ValueInfo(name: "x", type: .tensor(.float, [.symbol("N"), .fixed(32)]))]
        g.outputs = [ValueInfo(name: "y", type: nil)]
        g.initializers = [
            TestSupport.floatTensor("w", [32, 32], (0..<1024).map { Float($0 % 9) / 10 }),
            TestSupport.floatTensor("b", [32], (0..<32).map { Float($0) * 1e-3 + 1e-7 }),
            TestSupport.floatTensor("gamma", [32], [Float](repeating: 1.25, count: 32)),
            TestSupport.floatTensor("beta", [32], [Float](repeating: 0.5, count: 32)),
            TestSupport.floatTensor("mask", [32], [Float](repeating: -3.4e38, count: 32)),
        ]
        g.nodes = [
            Node("MatMul", inputs: ["x", "w"], outputs: ["h"], name: "mm"),
            Node("Add", inputs: ["h", "b"], outputs: ["hb"], name: "add"),
            Node("LayerNormalization", inputs: ["hb", "gamma", "beta"], outputs: ["n"], name: "ln"),
            Node("Add", inputs: ["n", "mask"], outputs: ["y"], name: "masked"),
        ]
        var m = Model()
        m.irVersion = 8
        m.opsetImports = [OperatorSetID(version: 17)]
        m.graph = g
        return m
    }

    private func run(_ m: inout Model, changedSoFar: Bool = true) throws -> PassOutcome {
        let context = PassContext()
        context.changedSoFar = changedSoFar
        return try HalfStoragePass().run(&m, context)
    }

    /// Test case: a bias is narrowed behind a Cast; the weight, the LayerNorm parameters and the
    /// out-of-range mask constant stay float32.
    func testNarrowsOnlyWhatIsSafe() throws {
        var m = model()
        let outcome = try run(&m)
        XCTAssertTrue(outcome.line.contains("1 tensors"), outcome.line)
        let types = Dictionary(uniqueKeysWithValues: m.graph!.initializers.map { ($0.name, $0.dataType) })
        XCTAssertEqual(types["b_float16"], .float16)
        XCTAssertEqual(types["w"], .float, "a weight quantization left alone stays float32")
        XCTAssertEqual(types["gamma"], .float)
        XCTAssertEqual(types["mask"], .float, "-3.4e38 does not fit float16")
        XCTAssertEqual(GraphText.text(m.graph!.nodes[0]), "b = Cast(b_float16) {to: 1}")
        let b = try TensorValues.floats(m.graph!.initializers.first { $0.name == "b_float16" }!, reader: ExternalDataReader())
        XCTAssertEqual(b[31], 0.031, accuracy: 0.031 / 2048)
        XCTAssertNoThrow(try ModelValidator(fileName: "t").validate(m))
    }

    /// Test case: nothing happens when no earlier pass changed the model (nothing was asked to be lossy).
    func testOnlyAfterAChange() throws {
        var m = model()
        let original = m
        _ = try run(&m, changedSoFar: false)
        XCTAssertEqual(m, original)
    }

    /// Test case: inputs of excluded nodes stay float32.
    func testExcludedNodesKeepTheirInputs() throws {
        var m = model()
        var pass = HalfStoragePass()
        pass.isExcluded = { $0.name == "add" }
        let context = PassContext()
        context.changedSoFar = true
        _ = try pass.run(&m, context)
        XCTAssertFalse(m.graph!.initializers.contains { $0.dataType == .float16 })
    }
}
