import XCTest
@testable import OnnxSlim

/// Loop, If and sequence kernels run on small graphs built here (only Add, Identity, Constant and
/// Reshape besides the control-flow operators).
final class ControlFlowTests: XCTestCase {
    // MARK: builders

    private func constant(_ name: String, _ t: Tensor) -> Node {
        Node("Constant", inputs: [], outputs: [name], name: name, attributes: [.tensor("value", t)])
    }

    private func int64Tensor(_ name: String, _ dims: [Int64], _ values: [Int64]) -> Tensor {
        Tensor(name: name, dataType: .int64, dims: dims, raw: ByteView(copying: values.withUnsafeBytes { Array($0) }))
    }

    private func boolTensor(_ name: String, _ values: [Bool]) -> Tensor {
        Tensor(name: name, dataType: .bool, dims: [], raw: ByteView(copying: values.map { $0 ? UInt8(1) : 0 }))
    }

    private func float2(_ name: String) -> ValueInfo { ValueInfo(name: name, type: .tensor(.float, [.fixed(2)])) }

    private func model(_ g: Graph) -> Model { TestSupport.model(g) }

    private func run(_ g: Graph, _ feeds: [String: Value]) throws -> [String: NDArray] {
        let outputs = try Evaluator(model: model(g)).run(feeds)
        var result: [String: NDArray] = [:]
        for (name, value) in outputs { result[name] = value.tensor }
        return result
    }

    private func floats(_ v: [Float], _ shape: [Int]) -> Value { .tensor(NDArray(floats: v, shape: shape)) }

    /// Loop body: acc2 = acc + step (step read from the enclosing graph); scan outputs acc2, the
    /// outer value itself and the incoming acc. `stop` makes the body's cond a constant false.
    private func loopBody(stop: Bool) -> Graph {
        var body = Graph()
        body.name = "body"
        body.inputs = [ValueInfo(name: "i", type: .tensor(.int64, [])), ValueInfo(name: "c", type: .tensor(.bool, [])), float2("acc")]
        body.nodes = [Node("Add", inputs: ["acc", "step"], outputs: ["acc2"]),
                      Node("Identity", inputs: ["acc2"], outputs: ["s"])]
        body.nodes.append(stop ? constant("c_out", boolTensor("f", [false])) : Node("Identity", inputs: ["c"], outputs: ["c_out"]))
        body.outputs = [ValueInfo(name: "c_out", type: .tensor(.bool, [])), float2("acc2"), float2("s"), float2("step"), float2("acc")]
        return body
    }

    /// Main graph: step = x + x (read only inside the body), Loop(M, true, x).
    private func loopGraph(trips: Int64, stop: Bool = false) -> Graph {
        var g = Graph()
        g.name = "loop"
        g.inputs = [float2("x")]
        g.nodes = [constant("M", int64Tensor("M", [], [trips])),
                   constant("cond", boolTensor("cond", [true])),
                   Node("Add", inputs: ["x", "x"], outputs: ["step"]),
                   Node("Loop", inputs: ["M", "cond", "x"], outputs: ["final", "sums", "steps", "accs"], name: "loop",
                        attributes: [.graph("body", loopBody(stop: stop))])]
        g.outputs = [ValueInfo(name: "final", type: nil), ValueInfo(name: "sums", type: nil),
                     ValueInfo(name: "steps", type: nil), ValueInfo(name: "accs", type: nil)]
        return g
    }

    // MARK: Loop

    func testLoopCarriesValueAndStacksScanOutputs() throws {
        let r = try run(loopGraph(trips: 3), ["x": floats([0.5, 5], [2])])
        XCTAssertEqual(r["final"]?.floats, [3.5, 35])
        XCTAssertEqual(r["sums"]?.shape, [3, 2])
        XCTAssertEqual(r["sums"]?.floats, [1.5, 15, 2.5, 25, 3.5, 35])
        // Body outputs that are an outer value or a body input pass straight through.
        XCTAssertEqual(r["steps"]?.floats, [1, 10, 1, 10, 1, 10])
        XCTAssertEqual(r["accs"]?.floats, [0.5, 5, 1.5, 15, 2.5, 25])
    }

    func testLoopWithZeroTripsReturnsInitialValuesAndEmptyScans() throws {
        let r = try run(loopGraph(trips: 0), ["x": floats([1, 2], [2])])
        XCTAssertEqual(r["final"]?.floats, [1, 2])
        XCTAssertEqual(r["sums"]?.shape, [0, 2])
    }

    func testLoopStopsAfterTheIterationWhoseCondIsFalse() throws {
        let r = try run(loopGraph(trips: 5, stop: true), ["x": floats([1, 2], [2])])
        XCTAssertEqual(r["final"]?.floats, [3, 6])
        XCTAssertEqual(r["sums"]?.shape, [1, 2])
        XCTAssertEqual(r["accs"]?.floats, [1, 2])
    }

    // MARK: If

    func testIfRunsTheChosenBranch() throws {
        var then = Graph()
        then.name = "then"
        then.outputs = [float2("x")]          // an outer graph input, returned as is
        var other = Graph()
        other.name = "else"
        other.nodes = [Node("Add", inputs: ["x", "y"], outputs: ["sum"]),
                       constant("shape", int64Tensor("shape", [2], [2, 1])),
                       Node("Reshape", inputs: ["sum", "shape"], outputs: ["column"])]
        other.outputs = [ValueInfo(name: "column", type: nil)]
        var g = Graph()
        g.name = "if"
        g.inputs = [ValueInfo(name: "c", type: .tensor(.bool, [])), float2("x"), float2("y")]
        g.nodes = [Node("If", inputs: ["c"], outputs: ["r"], name: "if",
                        attributes: [.graph("then_branch", then), .graph("else_branch", other)])]
        g.outputs = [ValueInfo(name: "r", type: nil)]

        let x = floats([1, 2], [2]), y = floats([10, 20], [2])
        let taken = try run(g, ["c": .tensor(NDArray(bools: [true], shape: [])), "x": x, "y": y])
        XCTAssertEqual(taken["r"]?.floats, [1, 2])
        XCTAssertEqual(taken["r"]?.shape, [2])
        let other2 = try run(g, ["c": .tensor(NDArray(bools: [false], shape: [])), "x": x, "y": y])
        XCTAssertEqual(other2["r"]?.floats, [11, 22])
        XCTAssertEqual(other2["r"]?.shape, [2, 1])
    }

    // MARK: sequences

    func testSequenceBuildEditAndConcatenate() throws {
        var g = Graph()
        g.name = "seq"
        g.inputs = [float2("a"), float2("b")]
        g.nodes = [Node("SequenceConstruct", inputs: ["a", "b"], outputs: ["s"]),
                   constant("front", int64Tensor("front", [], [0])),
                   Node("SequenceInsert", inputs: ["s", "b", "front"], outputs: ["s2"]),   // b a b
                   Node("SequenceErase", inputs: ["s2"], outputs: ["s3"]),                // b a
                   Node("SequenceLength", inputs: ["s3"], outputs: ["n"]),
                   Node("ConcatFromSequence", inputs: ["s3"], outputs: ["stacked"], attributes: [.int("axis", 0), .int("new_axis", 1)])]
        g.outputs = [ValueInfo(name: "n", type: nil), ValueInfo(name: "stacked", type: nil)]
        let r = try run(g, ["a": floats([1, 2], [2]), "b": floats([3, 4], [2])])
        XCTAssertEqual(r["n"]?.int64s, [2])
        XCTAssertEqual(r["stacked"]?.shape, [2, 2])
        XCTAssertEqual(r["stacked"]?.floats, [3, 4, 1, 2])
    }
}
