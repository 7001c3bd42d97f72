import XCTest
@testable import OnnxSlim

/// Weights are reachable uniformly: initializers, Constant values of every form, subgraphs.
final class TensorWalkTests: XCTestCase {
    private func modelWithConstantsAndSubgraph() -> Model {
        var m = TestSupport.smallModel()
        var g = m.graph!
        var floats = Attribute.floats("value_floats", [1, 2, 3]); floats.type = .floats
        g.nodes.insert(Node("Constant", inputs: [], outputs: ["c1"], name: "c1", attributes: [floats]), at: 0)
        g.nodes.insert(Node("Constant", inputs: [], outputs: ["c2"], name: "c2",
                            attributes: [.tensor("value", TestSupport.floatTensor("", [2], [7, 8]))]), at: 0)
        var branch = Graph()
        branch.initializers = [TestSupport.floatTensor("inner", [2, 2], [1, 0, 0, 1])]
        branch.nodes = [Node("MatMul", inputs: ["y", "inner"], outputs: ["z"])]
        branch.outputs = [ValueInfo(name: "z", type: nil)]
        g.nodes.append(Node("If", inputs: ["cond"], outputs: ["z"], name: "if",
                            attributes: [.graph("then_branch", branch), .graph("else_branch", branch)]))
        m.graph = g
        return m
    }

    /// Test case: every weight is visited once, with its site.
    func testVisitsEveryWeight() {
        var sites: [String: TensorSite.Kind] = [:]
        var depths: [String: Int] = [:]
        modelWithConstantsAndSubgraph().forEachTensor { t, site in
            let key = t.name.isEmpty ? (site.nodeName ?? "?") : t.name
            sites[key] = site.kind
            depths[key, default: 0] = max(depths[key, default: 0], site.depth)
        }
        XCTAssertEqual(sites["w"], .initializer)
        XCTAssertEqual(sites["c1"], .constantNode)   // value_floats presented as a tensor
        XCTAssertEqual(sites["c2"], .constantNode)
        XCTAssertEqual(sites["inner"], .initializer)
        XCTAssertEqual(depths["inner"], 1)
    }

    /// Test case: changing a value_floats tensor writes it back as a `value` tensor;
    /// an untouched one stays as it was.
    func testMutationWritesBackConstantAttributes() {
        var m = modelWithConstantsAndSubgraph()
        let untouched = m
        m.mutateEachTensor { _, _ in }
        XCTAssertEqual(m, untouched)
        m.mutateEachTensor { t, _ in
            if t.name == "c1" { t.floatData = t.floatData.map { $0 * 2 } }
        }
        let c1 = m.graph!.nodes.first { $0.name == "c1" }!
        XCTAssertEqual(c1.attributes.map(\.name), ["value"])
        XCTAssertEqual(c1.attributes[0].t?.floatData, [2, 4, 6])
        XCTAssertEqual(c1.attributes[0].t?.dims, [3])
    }
}
