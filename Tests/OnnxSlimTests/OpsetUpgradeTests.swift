import XCTest
@testable import OnnxSlim

/// The opset upgrade: each adapter rewrites a node written for the old version into the new
/// signature with the same meaning, or refuses with the operator named.
final class OpsetUpgradeTests: XCTestCase {
    /// A one-node model at `opset` with float input x of rank 4.
    private func model(_ node: Node, opset: Int64, extraInputs: [ValueInfo] = []) -> Model {
        var m = Model()
        m.irVersion = 6
        m.opsetImports = [OperatorSetID(version: opset)]
        var g = Graph()
        g.inputs = [ValueInfo(name: "x", type: .tensor(.float, [.symbol("N"), .fixed(3), .fixed(4), .fixed(4)]))] + extraInputs
        g.nodes = [node]
        g.outputs = node.outputs.filter { !$0.isEmpty }.map { ValueInfo(name: $0, type: nil) }
        m.graph = g
        return m
    }

    private func upgrade(_ m: inout Model, to target: Int64) throws -> [String] {
        _ = try OpsetUpgradePass(target: target).run(&m, PassContext())
        return m.graph!.nodes.map { GraphText.text($0) }
    }

    private func initializer(_ m: Model, _ name: String) throws -> [Int64] {
        try TensorValues.int64s(m.graph!.initializers.first { $0.name == name }!, reader: ExternalDataReader())
    }

    /// Test case: Squeeze's axes attribute becomes an int64 input at 13; opset and IR version rise.
    func testSqueezeAxesToInput() throws {
        var m = model(Node("Squeeze", inputs: ["x"], outputs: ["y"], name: "sq", attributes: [.ints("axes", [1])]), opset: 12)
        let nodes = try upgrade(&m, to: 13)
        XCTAssertEqual(nodes, ["y = Squeeze(x, sq_axes)"])
        XCTAssertEqual(try initializer(m, "sq_axes"), [1])
        XCTAssertEqual(m.opsetVersion(), 13)
        XCTAssertEqual(m.irVersion, 7)
    }

    /// Test case: Slice's starts/ends/axes attributes become inputs 1–3 at 10.
    func testSliceAttributesToInputs() throws {
        var m = model(Node("Slice", inputs: ["x"], outputs: ["y"], name: "s",
                           attributes: [.ints("starts", [0]), .ints("ends", [2]), .ints("axes", [3])]), opset: 9)
        XCTAssertEqual(try upgrade(&m, to: 10), ["y = Slice(x, s_starts, s_ends, s_axes)"])
        XCTAssertEqual(try initializer(m, "s_ends"), [2])
    }

    /// Test case: Clip's min/max become inputs of the input's element type at 11; absent min is "".
    func testClipBoundsToTypedInputs() throws {
        var m = model(Node("Clip", inputs: ["x"], outputs: ["y"], name: "c", attributes: [.float("max", 6)]), opset: 10)
        XCTAssertEqual(try upgrade(&m, to: 11), ["y = Clip(x, , c_max)"])
        let bound = m.graph!.initializers.first { $0.name == "c_max" }!
        XCTAssertEqual(bound.dataType, .float)
        XCTAssertEqual(try TensorValues.floats(bound, reader: ExternalDataReader()), [6])
    }

    /// Test case: inference Dropout with an unused mask becomes Identity at 12.
    func testDropoutBecomesIdentity() throws {
        var m = model(Node("Dropout", inputs: ["x"], outputs: ["y"], name: "d", attributes: [.float("ratio", 0.3)]), opset: 11)
        XCTAssertEqual(try upgrade(&m, to: 12), ["y = Identity(x)"])
    }

    /// Test case: Upsample (opset 9) becomes Resize, then gains roi and Resize-10's asymmetric/floor meaning.
    func testUpsampleToResize() throws {
        var m = model(Node("Upsample", inputs: ["x", "scales"], outputs: ["y"], name: "up",
                           attributes: [.string("mode", "nearest")]), opset: 9,
                      extraInputs: [ValueInfo(name: "scales", type: .tensor(.float, [.fixed(4)]))])
        let nodes = try upgrade(&m, to: 13)
        XCTAssertEqual(nodes, [#"y = Resize(x, , scales) {mode: "nearest", coordinate_transformation_mode: "asymmetric", nearest_mode: "floor"}"#])
    }

    /// Test case: Softmax on a non-last axis keeps opset-12 meaning through Flatten/Reshape; on the
    /// last axis it only sets axis -1.
    func testSoftmaxAxisSemantics() throws {
        var m = model(Node("Softmax", inputs: ["x"], outputs: ["y"], name: "sm", attributes: [.int("axis", 1)]), opset: 12)
        let nodes = try upgrade(&m, to: 13)
        XCTAssertEqual(nodes.map { $0.components(separatedBy: " = ")[1].prefix { $0 != "(" } }, ["Shape", "Flatten", "Softmax", "Reshape"])
        var last = model(Node("Softmax", inputs: ["x"], outputs: ["y"], name: "sm", attributes: [.int("axis", 3)]), opset: 12)
        XCTAssertEqual(try upgrade(&last, to: 13), ["y = Softmax(x) {axis: -1}"])
    }

    /// Test case: TopK's k attribute becomes a one-element int64 input at 10.
    func testTopKBecomesInput() throws {
        var m = model(Node("TopK", inputs: ["x"], outputs: ["v", "i"], name: "t", attributes: [.int("k", 2)]), opset: 9)
        XCTAssertEqual(try upgrade(&m, to: 10), ["v, i = TopK(x, t_k)"])
        XCTAssertEqual(m.graph!.initializers.first { $0.name == "t_k" }?.dims, [1])
    }

    /// Test case: operators whose meaning changed without an equivalent are refused by name.
    func testRefusals() {
        var gn = model(Node("GroupNormalization", inputs: ["x", "s", "b"], outputs: ["y"], name: "gn",
                            attributes: [.int("num_groups", 1)]), opset: 18)
        XCTAssertThrowsError(try upgrade(&gn, to: 21)) { error in
            XCTAssertTrue((error as? OnnxSlimError)?.message.contains("GroupNormalization 'gn'") ?? false)
        }
        var scan = model(Node("Scan", inputs: ["", "x"], outputs: ["y"], name: "scan"), opset: 8)
        XCTAssertThrowsError(try upgrade(&scan, to: 9))
        var legacy = model(Node("Add", inputs: ["x", "bias"], outputs: ["y"], name: "add",
                                attributes: [.int("broadcast", 1), .int("axis", 1)]), opset: 6,
                           extraInputs: [ValueInfo(name: "bias", type: .tensor(.float, [.fixed(3)]))])
        XCTAssertEqual(try upgrade(&legacy, to: 7), ["bias_aligned = Unsqueeze(bias) {axes: [1, 2]}", "y = Add(x, bias_aligned)"])
    }

    /// Test case: subgraph nodes are upgraded too.
    func testSubgraphsUpgraded() throws {
        var body = Graph()
        body.nodes = [Node("Unsqueeze", inputs: ["x"], outputs: ["z"], name: "u", attributes: [.ints("axes", [0])])]
        body.outputs = [ValueInfo(name: "z", type: nil)]
        var m = model(Node("If", inputs: ["c"], outputs: ["y"], name: "if",
                           attributes: [.graph("then_branch", body), .graph("else_branch", body)]), opset: 11,
                      extraInputs: [ValueInfo(name: "c", type: .tensor(.bool, []))])
        _ = try upgrade(&m, to: 13)
        for sub in m.graph!.nodes[0].subgraphs {
            XCTAssertEqual(sub.nodes.map { GraphText.text($0) }.first?.hasPrefix("z = Unsqueeze(x, u_axes"), true)
            XCTAssertFalse(sub.initializers.isEmpty)
        }
    }
}
