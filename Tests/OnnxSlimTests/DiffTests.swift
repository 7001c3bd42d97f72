import XCTest
@testable import OnnxSlim

/// The diff's matcher and recognisers on small graphs built in code.
final class DiffTests: XCTestCase {
    func tensor(_ name: String, _ dims: [Int64], _ type: DataType = .float) -> Tensor {
        let n = dims.reduce(1) { $0 * Int($1) }
        let bytes = [UInt8](repeating: 1, count: type.rawByteCount(elements: n)!)
        return Tensor(name: name, dataType: type, dims: dims, raw: ByteView(copying: bytes))
    }

    func input(_ name: String) -> ValueInfo { ValueInfo(name: name, type: .tensor(.float, [.symbol("N"), .fixed(4)])) }

    func changes(_ a: Graph, _ b: Graph) throws -> [ModelDiff.Change] {
        try GraphDiffer(DiffGraph(a), DiffGraph(b)).run()
    }

    /// x → three MatMuls with same-shaped weights (a tie only consumers resolve) → Relu/Sigmoid/Tanh → Sum.
    func attention() -> Graph {
        var g = Graph()
        g.inputs = [input("x")]
        g.outputs = [input("y")]
        g.initializers = [tensor("wq", [4, 4]), tensor("wk", [4, 4]), tensor("wv", [4, 4])]
        g.nodes = [
            Node("MatMul", inputs: ["x", "wq"], outputs: ["q"], name: "q"),
            Node("MatMul", inputs: ["x", "wk"], outputs: ["k"], name: "k"),
            Node("MatMul", inputs: ["x", "wv"], outputs: ["v"], name: "v"),
            Node("Relu", inputs: ["q"], outputs: ["q2"], name: "relu"),
            Node("Sigmoid", inputs: ["k"], outputs: ["k2"], name: "sigmoid"),
            Node("LeakyRelu", inputs: ["v"], outputs: ["v2"], name: "leaky", attributes: [.float("alpha", 0.1)]),
            Node("Sum", inputs: ["q2", "k2", "v2"], outputs: ["y"], name: "sum"),
        ]
        return g
    }

    /// Every node and value renamed, nodes reversed.
    func renamed(_ g: Graph) -> Graph {
        var map: [String: String] = [:]
        func r(_ s: String) -> String {
            if s.isEmpty { return s }
            if let v = map[s] { return v }
            map[s] = "r\(map.count)"
            return map[s]!
        }
        var h = g
        h.inputs = g.inputs.map { ValueInfo(name: r($0.name), type: $0.type) }
        h.outputs = g.outputs.map { ValueInfo(name: r($0.name), type: $0.type) }
        h.initializers = g.initializers.map { var t = $0; t.name = r(t.name); return t }.reversed()
        h.nodes = g.nodes.map { n in
            var m = n
            m.name = "node\(Int.random(in: 0..<1_000_000))"
            m.inputs = n.inputs.map(r)
            m.outputs = n.outputs.map(r)
            return m
        }.reversed()
        return h
    }

    func testIdenticalAndRenamedGraphsHaveNoChanges() throws {
        let g = attention()
        XCTAssertTrue(try changes(g, g).isEmpty)
        let h = renamed(g)
        let d = GraphDiffer(DiffGraph(g), DiffGraph(h))
        XCTAssertTrue(try d.run().isEmpty)
        // the tie of three MatMuls is resolved through their consumers: q pairs with q, …
        for name in ["q", "k", "v"] {
            let x = d.a.vertices.firstIndex { $0.name == name }!
            let y = d.m.aToB[x]
            XCTAssertGreaterThanOrEqual(y, 0)
            let consumerA = d.a.consumers[x][0][0].vertex, consumerB = d.b.consumers[y][0][0].vertex
            XCTAssertEqual(d.a.vertices[consumerA].op, d.b.vertices[consumerB].op)
        }
    }

    func testAttributeEditInRenamedGraphIsOneChange() throws {
        let g = attention()
        var h = renamed(g)
        let k = h.nodes.firstIndex { $0.opType == "LeakyRelu" }!
        h.nodes[k].attributes = [.float("alpha", 0.2)]
        let c = try changes(g, h)
        XCTAssertEqual(c.map(\.kind), [.nodeChanged])
        XCTAssertEqual(c.first?.a, ["leaky"])
    }

    func testRemovedNodeIsReportedOnce() throws {
        let g = attention()
        var h = g
        h.nodes.removeAll { $0.name == "relu" }
        let s = h.nodes.firstIndex { $0.name == "sum" }!
        h.nodes[s].inputs[0] = "q"
        let c = try changes(g, h)
        XCTAssertEqual(c.map(\.kind), [.nodeRemoved])
        XCTAssertEqual(c.first?.a, ["relu"])
    }

    func testQuantizedWeightThroughDequantizeLinear() throws {
        let g = attention()
        var h = g
        h.initializers = [tensor("wq_q", [4, 4], .int8), tensor("wq_scale", [4]), tensor("wk", [4, 4]), tensor("wv", [4, 4])]
        h.nodes.insert(Node("DequantizeLinear", inputs: ["wq_q", "wq_scale"], outputs: ["wq"], name: "dq", attributes: [.int("axis", 1)]), at: 0)
        let c = try changes(g, h)
        XCTAssertEqual(c.map(\.kind), [.quantized])
        XCTAssertEqual(c.first?.a, ["wq"])
        XCTAssertEqual(c.first?.b, ["wq_q"])
        XCTAssertTrue(c.first?.detail.contains("int8, per-channel (axis 1), DequantizeLinear") ?? false, c.first?.detail ?? "")
    }

    func testLowRankFactorization() throws {
        var g = Graph()
        g.inputs = [input("x")]
        g.outputs = [input("y")]
        g.initializers = [tensor("w", [8, 6])]
        g.nodes = [Node("MatMul", inputs: ["x", "w"], outputs: ["h"], name: "mm"), Node("Relu", inputs: ["h"], outputs: ["y"], name: "relu")]
        var h = g
        h.initializers = [tensor("u", [8, 2]), tensor("v", [2, 6])]
        h.nodes = [Node("MatMul", inputs: ["x", "u"], outputs: ["t"], name: "mm_u"),
                   Node("MatMul", inputs: ["t", "v"], outputs: ["h"], name: "mm_v"),
                   Node("Relu", inputs: ["h"], outputs: ["y"], name: "relu")]
        let c = try changes(g, h)
        XCTAssertEqual(c.map(\.kind), [.lowRank])
        XCTAssertTrue(c.first?.detail.contains("rank 2") ?? false)
    }

    func testPrunedNeurons() throws {
        var g = Graph()
        g.inputs = [input("x")]
        g.outputs = [input("y")]
        g.initializers = [tensor("w1", [4, 16]), tensor("b1", [16]), tensor("w2", [16, 4])]
        g.nodes = [Node("MatMul", inputs: ["x", "w1"], outputs: ["h"], name: "fc1"),
                   Node("Add", inputs: ["h", "b1"], outputs: ["hb"], name: "bias"),
                   Node("Relu", inputs: ["hb"], outputs: ["r"], name: "relu"),
                   Node("MatMul", inputs: ["r", "w2"], outputs: ["y"], name: "fc2")]
        var h = g
        h.initializers = [tensor("w1", [4, 12]), tensor("b1", [12]), tensor("w2", [12, 4])]
        let c = try changes(g, h)
        XCTAssertEqual(c.map(\.kind), [.pruned])
        XCTAssertTrue(c.first?.detail.contains("FFN neurons 16 → 12 (4 removed)") ?? false, c.first?.detail ?? "")
    }

    func testFloat16CastsAreOneRewrite() throws {
        let g = attention()
        var h = g
        h.initializers = h.initializers.map { t in tensor(t.name, t.dims, .float16) }
        h.nodes.insert(Node("Cast", inputs: ["x"], outputs: ["x16"], name: "cast_in", attributes: [.int("to", 10)]), at: 0)
        for k in h.nodes.indices { h.nodes[k].inputs = h.nodes[k].inputs.map { $0 == "x" && h.nodes[k].name != "cast_in" ? "x16" : $0 } }
        let c = try changes(g, h)
        XCTAssertEqual(c.map(\.kind), [.precision])
        XCTAssertTrue(c.first?.detail.contains("3 weights converted, 1 Cast inserted") ?? false, c.first?.detail ?? "")
    }
}
