import XCTest
@testable import OnnxSlim

/// Element types where exporters leave them out: If/Loop outputs typed from their bodies,
/// every output of DynamicQuantizeLinear.
final class ElementTypesTests: XCTestCase {
    private func untypedBranch(_ nodes: [Node], output: String) -> Graph {
        var g = Graph()
        g.nodes = nodes
        g.outputs = [ValueInfo(name: output, type: nil)]
        return g
    }

    /// Test case: branches declare their outputs without a type (as torch exports them); the If
    /// output is float32 from the branch nodes, which read an outer float32 value.
    func testIfOutputTypedFromUntypedBranches() {
        var g = Graph()
        g.inputs = [ValueInfo(name: "x", type: .tensor(.float, [.fixed(4)])),
                    ValueInfo(name: "c", type: .tensor(.bool, []))]
        let then = untypedBranch([Node("Relu", inputs: ["x"], outputs: ["t"], name: "relu")], output: "t")
        let els = untypedBranch([Node("Neg", inputs: ["x"], outputs: ["e"], name: "neg")], output: "e")
        g.nodes = [Node("If", inputs: ["c"], outputs: ["y"], name: "if",
                        attributes: [.graph("then_branch", then), .graph("else_branch", els)])]
        XCTAssertEqual(ElementTypes(g).type(of: "y"), .float)
    }

    /// Test case: a Loop body with undeclared input types; the carried value's output type
    /// comes from the initial value through the body.
    func testLoopCarriedTypeFlowsThroughBody() {
        var body = Graph()
        body.inputs = ["i", "cond", "acc"].map { ValueInfo(name: $0, type: nil) }
        body.nodes = [Node("Identity", inputs: ["cond"], outputs: ["cond_out"], name: "keep"),
                      Node("Tanh", inputs: ["acc"], outputs: ["acc_out"], name: "tanh")]
        body.outputs = ["cond_out", "acc_out"].map { ValueInfo(name: $0, type: nil) }
        var g = Graph()
        g.inputs = [ValueInfo(name: "x", type: .tensor(.float16, [.fixed(4)]))]
        g.nodes = [Node("Loop", inputs: ["", "", "x"], outputs: ["final"], name: "loop", attributes: [.graph("body", body)])]
        XCTAssertEqual(ElementTypes(g).type(of: "final"), .float16)
    }

    /// Test case: DynamicQuantizeLinear's scale is float32 and its zero point uint8.
    func testDynamicQuantizeLinearOutputs() {
        var g = Graph()
        g.inputs = [ValueInfo(name: "x", type: .tensor(.float, [.fixed(4)]))]
        g.nodes = [Node("DynamicQuantizeLinear", inputs: ["x"], outputs: ["q", "s", "z"], name: "dql")]
        let types = ElementTypes(g)
        XCTAssertEqual(types.type(of: "q"), .uint8)
        XCTAssertEqual(types.type(of: "s"), .float)
        XCTAssertEqual(types.type(of: "z"), .uint8)
    }
}
