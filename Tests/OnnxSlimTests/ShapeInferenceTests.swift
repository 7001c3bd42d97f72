import XCTest
@testable import OnnxSlim

/// Symbolic dims and shape rules on graphs built in code: the arithmetic exporters rely on
/// (Shape → Gather → Concat → Reshape), window sizes, branches, and what is reported as unknown.
final class ShapeInferenceTests: XCTestCase {
    let batch = DimExpr.symbol("batch"), seq = DimExpr.symbol("seq")

    func testPolynomialArithmeticAndPrinting() {
        let e = batch * seq * 768 + batch * seq * seq * 12
        XCTAssertEqual(e.description, "12*batch*seq^2 + 768*batch*seq")
        XCTAssertEqual(e.evaluate(["batch": 2, "seq": 3]), 2 * 3 * 768 + 2 * 9 * 12)
        XCTAssertEqual((batch * seq * 768).dividedExactly(by: batch * seq * 12), DimExpr(64))
        XCTAssertNil((batch * 3).dividedExactly(by: seq))
        XCTAssertEqual((seq * 4 + 2).floorDiv(2), seq * 2 + 1)
        // Not exact: kept as floor((seq - 1)/2), which evaluates like integer division.
        let half = (seq - 1).floorDiv(2)
        XCTAssertEqual(half.evaluate(["seq": 8]), 3)
        XCTAssertEqual(DimExpr(-7).floorDiv(2), DimExpr(-4))
        XCTAssertEqual((batch - batch), DimExpr(0))
        XCTAssertEqual(DimExpr(Int.max) * 2, DimExpr.overflow)
    }

    /// Reshape's target computed from Shape, Gather, Concat: [batch, seq, 64] → [batch, seq, 4, 16].
    func testExporterShapeArithmeticStaysSymbolic() throws {
        var g = Graph()
        g.inputs = [ValueInfo(name: "x", type: .tensor(.float, [.symbol("batch"), .symbol("seq"), .fixed(64)]))]
        g.initializers = [
            TensorValues.tensor("i0", dims: [1], int64s: [0]), TensorValues.tensor("i1", dims: [1], int64s: [1]),
            TensorValues.tensor("heads", dims: [2], int64s: [4, -1]),
        ]
        g.nodes = [
            Node("Shape", inputs: ["x"], outputs: ["s"]),
            Node("Gather", inputs: ["s", "i0"], outputs: ["b"], attributes: [.int("axis", 0)]),
            Node("Gather", inputs: ["s", "i1"], outputs: ["t"], attributes: [.int("axis", 0)]),
            Node("Concat", inputs: ["b", "t", "heads"], outputs: ["target"], attributes: [.int("axis", 0)]),
            Node("Reshape", inputs: ["x", "target"], outputs: ["y"], name: "reshape"),
            Node("Transpose", inputs: ["y"], outputs: ["z"], attributes: [.ints("perm", [0, 2, 1, 3])]),
            Node("MatMul", inputs: ["z", "z2"], outputs: ["scores"], name: "scores"),
        ]
        g.nodes.insert(Node("Transpose", inputs: ["z"], outputs: ["z2"], attributes: [.ints("perm", [0, 1, 3, 2])]), at: 6)
        g.outputs = [ValueInfo(name: "scores", type: nil)]
        let result = try ShapeInference.run(model(g))
        XCTAssertEqual(result.outputs[0].value.description, "float32[batch,4,seq,seq]")
        let scores = try XCTUnwrap(result.nodes.first { $0.name == "scores" })
        XCTAssertEqual(scores.macs, batch * seq * seq * 64)
        XCTAssertTrue(result.gaps.isEmpty)
        // Fixed dims give numbers.
        var options = ShapeInference.Options()
        options.dims = ["batch": 2, "seq": 5]
        let fixed = try ShapeInference.run(model(g), options: options)
        XCTAssertEqual(fixed.outputs[0].value.description, "float32[2,4,5,5]")
    }

    func testConvAndPoolWindowsOnSymbolicSizes() throws {
        var g = Graph()
        g.inputs = [ValueInfo(name: "x", type: .tensor(.float, [.fixed(1), .fixed(3), .symbol("h"), .fixed(32)]))]
        g.initializers = [TestSupport.floatTensor("w", [8, 3, 3, 3], [Float](repeating: 0, count: 216))]
        g.nodes = [
            Node("Conv", inputs: ["x", "w"], outputs: ["c"], name: "conv",
                 attributes: [.ints("strides", [2, 2]), .ints("pads", [1, 1, 1, 1])]),
            Node("MaxPool", inputs: ["c"], outputs: ["p"], attributes: [.ints("kernel_shape", [2, 2]), .ints("strides", [2, 2])]),
        ]
        g.outputs = [ValueInfo(name: "p", type: nil)]
        let result = try ShapeInference.run(model(g))
        let conv = try XCTUnwrap(result.nodes.first { $0.name == "conv" })
        // (h + 2 - 3)/2 + 1 along h, exactly 16 along w.
        XCTAssertEqual(conv.outputs[0].shape?[3], DimExpr(16))
        XCTAssertEqual(conv.outputs[0].shape?[2].evaluate(["h": 33]), 17)
        XCTAssertEqual(conv.parameters, 216)
        var options = ShapeInference.Options()
        options.inputShapes = ["x": [1, 3, 32, 32]]
        let fixed = try ShapeInference.run(model(g), options: options)
        XCTAssertEqual(fixed.outputs[0].value.description, "float32[1,8,8,8]")
        XCTAssertEqual(fixed.nodes[0].macs, DimExpr(8 * 16 * 16 * 27))
    }

    func testUnknownValuesAreReportedNotGuessed() throws {
        var g = Graph()
        g.inputs = [ValueInfo(name: "x", type: .tensor(.float, [.symbol("n")])),
                    ValueInfo(name: "shape", type: .tensor(.int64, [.fixed(2)]))]
        g.nodes = [
            Node("NonZero", inputs: ["x"], outputs: ["nz"]),
            Node("Reshape", inputs: ["x", "shape"], outputs: ["r"], name: "reshape"),
            Node("Custom", inputs: ["x"], outputs: ["c"], name: "custom", domain: "com.example"),
        ]
        g.outputs = [ValueInfo(name: "nz", type: nil), ValueInfo(name: "r", type: nil), ValueInfo(name: "c", type: nil)]
        let result = try ShapeInference.run(model(g))
        let gaps = Dictionary(uniqueKeysWithValues: result.gaps.map { ($0.value, $0.reason) })
        XCTAssertEqual(result.outputs[0].value.description, "int64[1,?]")
        XCTAssertNotNil(gaps["nz"])
        XCTAssertEqual(gaps["r"], "input 1 (the target shape) is computed at run time")
        XCTAssertEqual(gaps["c"], "operator com.example.Custom is not known")
    }

    func testIfBranchesMergeAndKnownConditionsPick() throws {
        func branch(_ name: String, _ size: Int64) -> Graph {
            var b = Graph()
            b.name = name
            b.initializers = [TestSupport.floatTensor("\(name)_v", [size], [Float](repeating: 1, count: Int(size)))]
            b.nodes = [Node("Identity", inputs: ["\(name)_v"], outputs: ["\(name)_out"])]
            b.outputs = [ValueInfo(name: "\(name)_out", type: nil)]
            return b
        }
        var g = Graph()
        g.inputs = [ValueInfo(name: "cond", type: .tensor(.bool, []))]
        g.nodes = [Node("If", inputs: ["cond"], outputs: ["y"], name: "if",
                        attributes: [.graph("then_branch", branch("a", 3)), .graph("else_branch", branch("b", 4))])]
        g.outputs = [ValueInfo(name: "y", type: nil)]
        let result = try ShapeInference.run(model(g))
        XCTAssertEqual(result.outputs[0].value.description, "float32[?]")
        XCTAssertEqual(result.nodes.filter { $0.depth == 1 }.count, 2)
        g.inputs = []
        g.initializers = [Tensor(name: "cond", dataType: .bool, dims: [], raw: ByteView(copying: [0]))]
        let picked = try ShapeInference.run(model(g))
        XCTAssertEqual(picked.outputs[0].value.description, "float32[4]")
    }

    func testPeakActivationFreesValuesAfterTheirLastReader() throws {
        var g = Graph()
        g.inputs = [ValueInfo(name: "x", type: .tensor(.float, [.fixed(1000)]))]
        g.nodes = [
            Node("Relu", inputs: ["x"], outputs: ["a"], name: "a"),
            Node("Relu", inputs: ["a"], outputs: ["b"], name: "b"),
            Node("Relu", inputs: ["b"], outputs: ["c"], name: "c"),
        ]
        g.outputs = [ValueInfo(name: "c", type: nil)]
        let peak = try XCTUnwrap(try ShapeInference.run(model(g)).peak)
        // Never more than a node's input and output at once (x is freed after a, a after b).
        XCTAssertEqual(peak.bytes, DimExpr(8000))
    }

    private func model(_ g: Graph) -> Model { TestSupport.model(g) }
}
