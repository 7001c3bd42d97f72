import XCTest
@testable import OnnxSlim

/// The shared graph index: producers and readers per scope, what subgraphs read from outside,
/// and weights resolved with ONNX scoping.
final class GraphIndexTests: XCTestCase {
    /// x → MatMul(w) → h → If(cond){ then: Add(h, b) ; else: Identity(h) } → y, with the weight b
    /// a Constant node of the main graph read only inside the then-branch.
    private func model() -> Graph {
        var then = Graph()
        then.nodes = [Node("Add", inputs: ["h", "b"], outputs: ["t"], name: "add")]
        then.outputs = [ValueInfo(name: "t", type: nil)]
        var other = Graph()
        other.nodes = [Node("Identity", inputs: ["h"], outputs: ["e"], name: "id")]
        other.outputs = [ValueInfo(name: "e", type: nil)]
        var g = Graph()
        g.inputs = [ValueInfo(name: "x", type: nil), ValueInfo(name: "cond", type: nil)]
        g.initializers = [TestSupport.floatTensor("w", [2, 2], [1, 0, 0, 1])]
        var constant = Node("Constant", inputs: [], outputs: ["b"], name: "b")
        constant.attributes = [.tensor("value", TestSupport.floatTensor("", [2], [1, 2]))]
        g.nodes = [constant,
                   Node("MatMul", inputs: ["x", "w"], outputs: ["h"], name: "mm"),
                   Node("If", inputs: ["cond"], outputs: ["y"], name: "if",
                        attributes: [.graph("then_branch", then), .graph("else_branch", other)])]
        g.outputs = [ValueInfo(name: "y", type: nil)]
        return g
    }

    func testProducersReadersAndOuterReads() throws {
        let index = GraphIndex(model())
        let main = index.main
        XCTAssertEqual(main.producers["h"], GraphIndex.Site(node: 1, slot: 0))
        XCTAssertEqual(main.readers["x"], [GraphIndex.Site(node: 1, slot: 0)])
        // The If reads h and b through its branches, once each, after its own input.
        XCTAssertEqual(main.nodeReads[2], ["cond", "h", "b"])
        XCTAssertEqual(main.subgraphReaders["h"], [2])
        XCTAssertEqual(main.outerReads, [])
        XCTAssertEqual(index.scopeOrder.count, 3)
        let then = try XCTUnwrap(index[GraphPath.main.appending(node: 2, attribute: 0, graph: -1)])
        XCTAssertEqual(then.outerReads, ["h", "b"])
        XCTAssertEqual(index.home(of: "h", from: then.path), .main)
        XCTAssertEqual(index.producer(of: "h", from: then.path)?.name, "mm")
    }

    func testWeightsResolveToTheirDefiningScopeWithUsesFromSubgraphs() throws {
        let index = GraphIndex(model())
        XCTAssertEqual(index.weightOrder.map(\.name), ["w", "b"])
        let b = try XCTUnwrap(index.weight("b", from: GraphPath.main.appending(node: 2, attribute: 0, graph: -1)))
        XCTAssertEqual(b.path, .main)
        XCTAssertEqual(b.constantNodeIndex, 0)
        let uses = index.uses(of: GraphIndex.Key(path: .main, name: "b"))
        XCTAssertEqual(uses.map(\.consumer.name), ["add"])
        XCTAssertEqual(uses.first?.path.depth, 1)
        XCTAssertFalse(index.isWeight("h", from: .main))
    }

    /// The validator reads the same index: a subgraph reading a name no enclosing graph defines fails.
    func testValidatorNamesTheNodeReadingAnUndefinedOuterValue() {
        var g = model()
        g.nodes[1].outputs = ["h2"]
        g.nodes[2].attributes[1].g!.nodes[0].inputs = ["h2"]
        XCTAssertThrowsError(try ModelValidator(fileName: "m").validate(TestSupport.model(g))) { error in
            XCTAssertEqual((error as? OnnxSlimError)?.message,
                           "m: graph > If 'if' body: node Add 'add' uses 'h', which nothing produces")
        }
    }
}
