import XCTest
@testable import OnnxSlim

/// The value_info check after passes: declarations that shape inference contradicts are dropped,
/// in the main graph and in subgraphs; those that agree, and graph inputs and outputs, stay.
final class StaleValueInfoPassTests: XCTestCase {
    private func float(_ name: String, _ dims: [OnnxSlim.Dimension]?) -> ValueInfo {
        ValueInfo(name: name, type: .tensor(.float, dims))
    }

    /// x float[N,6] → Reshape(x, [-1,2,3]) → y → Relu → z, with value_info for y and z.
    private func model(declaring declared: [ValueInfo]) -> Model {
        var g = Graph()
        g.inputs = [float("x", [.symbol("N"), .fixed(6)])]
        g.initializers = [TensorValues.tensor("shape", dims: [3], int64s: [-1, 2, 3])]
        g.nodes = [Node("Reshape", inputs: ["x", "shape"], outputs: ["y"], name: "reshape"),
                   Node("Relu", inputs: ["y"], outputs: ["z"], name: "relu")]
        g.outputs = [float("z", [.symbol("N"), .fixed(2), .fixed(3)])]
        g.valueInfo = declared
        return TestSupport.model(g)
    }

    private func check(_ m: inout Model, changed: Bool = true) throws -> PassOutcome {
        let context = PassContext()
        context.changedSoFar = changed
        return try StaleValueInfoPass().run(&m, context)
    }

    /// Test case: a wrong rank, a wrong fixed dim and a wrong element type are dropped; a
    /// declaration with symbols and unknown dims where inference has formulas is kept.
    func testContradictionsDroppedAgreementsKept() throws {
        var m = model(declaring: [
            float("y", [OnnxSlim.Dimension(), .fixed(6)]),                             // rank 2, inferred 3
            ValueInfo(name: "z", type: .tensor(.float16, nil)),            // element type
        ])
        let outcome = try check(&m)
        XCTAssertEqual(m.graph!.valueInfo, [])
        XCTAssertTrue(outcome.changed)
        XCTAssertEqual(outcome.summary, ["dropped 2 stale value_info ('y': rank 2, inferred 3, 'z': element type float16, inferred float32)"])

        var wrongDim = model(declaring: [float("y", [.symbol("B"), .fixed(2), .fixed(4)])])
        _ = try check(&wrongDim)
        XCTAssertEqual(wrongDim.graph!.valueInfo, [])

        let agreeing = [float("y", [.symbol("batch"), .fixed(2), OnnxSlim.Dimension()]), float("z", nil)]
        var kept = model(declaring: agreeing)
        XCTAssertFalse(try check(&kept).changed)
        XCTAssertEqual(kept.graph!.valueInfo, agreeing)
    }

    /// Test case: with no earlier pass changing the model (a faithful re-encode), nothing is
    /// dropped, and graph outputs are never edited even when they contradict inference.
    func testUnchangedModelAndInterfaceLeftAlone() throws {
        var m = model(declaring: [float("y", [.fixed(6)])])
        XCTAssertFalse(try check(&m, changed: false).changed)
        XCTAssertEqual(m.graph!.valueInfo.count, 1)

        var outputs = model(declaring: [])
        outputs.mainGraph.outputs = [float("z", [.fixed(6)])]
        _ = try check(&outputs)
        XCTAssertEqual(outputs.graph!.outputs, [float("z", [.fixed(6)])])
    }

    /// Test case: each If branch is judged on its own, although both declare a value named t:
    /// the then-branch's wrong rank goes, the else-branch's right declaration stays.
    func testSubgraphsJudgedByTheirOwnInference() throws {
        func branch(_ name: String, declaring t: ValueInfo) -> Graph {
            var g = Graph()
            g.name = name
            g.nodes = [Node("Reshape", inputs: ["x", "shape"], outputs: ["t"], name: "\(name)/reshape"),
                       Node("Identity", inputs: ["t"], outputs: ["\(name)_out"], name: "\(name)/identity")]
            g.outputs = [float("\(name)_out", nil)]
            g.valueInfo = [t]
            return g
        }
        var m = model(declaring: [])
        m.mainGraph.inputs.append(ValueInfo(name: "c", type: .tensor(.bool, [])))
        let right = float("t", [.symbol("N"), .fixed(2), .fixed(3)])
        m.mainGraph.nodes.append(Node("If", inputs: ["c"], outputs: ["w"], name: "if", attributes: [
            .graph("then_branch", branch("then", declaring: float("t", [.symbol("N")]))),
            .graph("else_branch", branch("else", declaring: right)),
        ]))
        m.mainGraph.outputs.append(float("w", nil))
        let outcome = try check(&m)
        XCTAssertEqual(outcome.summary, ["dropped 1 stale value_info ('t': rank 1, inferred 3)"])
        let ifNode = m.graph!.nodes.last!
        XCTAssertEqual(ifNode.attribute("then_branch")!.g!.valueInfo, [])
        XCTAssertEqual(ifNode.attribute("else_branch")!.g!.valueInfo, [right])
    }
}
