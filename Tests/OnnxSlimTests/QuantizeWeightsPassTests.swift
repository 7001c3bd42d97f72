import XCTest
@testable import OnnxSlim

/// The weight quantization pass, checked on small graphs through their text form.
final class QuantizeWeightsPassTests: XCTestCase {
    private func weight(_ name: String, _ dims: [Int64]) -> Tensor {
        let n = dims.reduce(1, *)
        return TestSupport.floatTensor(name, dims, (0..<n).map { Float($0 % 7) - 3 })
    }

    /// x → MatMul(w) → Add(b) → y, with a 32×16 weight.
    private func mlp(opset: Int64 = 17) -> Model {
        var m = TestSupport.smallModel()
        m.opsetImports = [OperatorSetID(version: opset)]
        m.graph!.initializers[0] = weight("w", [32, 16])
        m.graph!.initializers[1] = weight("b", [16])
        m.graph!.inputs = [ValueInfo(name: "x", type: .tensor(.float, [.symbol("N"), .fixed(32)]))]
        return m
    }

    private func run(_ m: inout Model, _ format: QuantFormat, mode: QuantizeWeightsPass.Int8Mode = .auto,
                     _ configure: (inout QuantizeWeightsPass.Options) -> Void = { _ in }) throws -> PassOutcome {
        var o = QuantizeWeightsPass.Options(format: format)
        o.int8Mode = mode
        configure(&o)
        return try QuantizeWeightsPass(o).run(&m, PassContext())
    }

    private func lines(_ m: Model) -> [String] {
        GraphText.text(m.graph!).split(separator: "\n").map { String($0.drop { $0 == " " }) }
    }

    /// Test case: weight-only int8 replaces the float weight by int8 + per-column scale + DequantizeLinear.
    func testWeightOnlyInt8() throws {
        var m = mlp()
        let outcome = try run(&m, .int8, mode: .weightOnly)
        let text = lines(m)
        XCTAssertTrue(text.contains("w_quantized: int8[32,16]"), text.joined(separator: "\n"))
        XCTAssertTrue(text.contains("w_scale: float32[16]"))
        XCTAssertTrue(text.contains("w = DequantizeLinear(w_quantized, w_scale) {axis: 1}"))
        XCTAssertFalse(text.contains("w: float32[32,16]"), "the float weight is gone")
        XCTAssertTrue(outcome.line.contains("1 weights (MatMul 1)"))
    }

    /// Test case: dynamic int8 turns each MatMul into MatMulInteger, sharing one
    /// DynamicQuantizeLinear per activation, with no float copy of the weight left.
    func testDynamicSharesActivationQuantization() throws {
        var m = mlp()
        m.graph!.initializers.append(weight("w2", [32, 16]))
        m.graph!.nodes.append(Node("MatMul", inputs: ["x", "w2"], outputs: ["h2"], name: "mm2"))
        m.graph!.outputs.append(ValueInfo(name: "h2", type: nil))
        _ = try run(&m, .int8)
        let ops = m.graph!.nodes.map(\.opType)
        XCTAssertEqual(ops.filter { $0 == "DynamicQuantizeLinear" }.count, 1)
        XCTAssertEqual(ops.filter { $0 == "MatMulInteger" }.count, 2)
        XCTAssertEqual(ops.firstIndex(of: "DynamicQuantizeLinear"), 0, "before its first consumer")
        XCTAssertFalse(m.graph!.initializers.contains { $0.dataType == .float && $0.dims == [32, 16] })
        XCTAssertNoThrow(try ModelValidator(fileName: "t").validate(m))
    }

    /// Test case: folded Conv weights are int8 → Cast → Mul with scales shaped [M, 1, 1, 1].
    func testFoldedConv() throws {
        var m = Model()
        m.irVersion = 8
        m.opsetImports = [OperatorSetID(version: 17)]
        var g = Graph()
        g.inputs = [ValueInfo(name: "x", type: .tensor(.float, [.fixed(1), .fixed(4), .fixed(8), .fixed(8)]))]
        g.outputs = [ValueInfo(name: "y", type: nil)]
        g.initializers = [weight("k", [8, 4, 3, 3])]
        g.nodes = [Node("Conv", inputs: ["x", "k"], outputs: ["y"], name: "conv")]
        m.graph = g
        _ = try run(&m, .int8)
        let text = lines(m)
        XCTAssertTrue(text.contains("k_scale: float32[8,1,1,1]"), text.joined(separator: "\n"))
        XCTAssertTrue(text.contains("k_widened = Cast(k_quantized) {to: 1}"))
        XCTAssertTrue(text.contains("k = Mul(k_widened, k_scale)"))
    }

    /// Test case: a Constant-node weight (Paddle style) is replaced in place, same output name.
    func testConstantNodeWeight() throws {
        var m = mlp()
        let w = m.graph!.initializers.removeFirst()
        m.graph!.nodes.insert(Node("Constant", inputs: [], outputs: ["w"], name: "const_w", attributes: [.tensor("value", w)]), at: 0)
        _ = try run(&m, .int8, mode: .weightOnly)
        XCTAssertFalse(m.graph!.nodes.contains { $0.isConstant })
        XCTAssertEqual(m.graph!.nodes.first?.opType, "DequantizeLinear")
        XCTAssertEqual(m.graph!.nodes.first?.outputs, ["w"])
        XCTAssertNoThrow(try ModelValidator(fileName: "t").validate(m))
    }

    /// Test case: a weight inside an If branch is quantized inside the branch.
    func testWeightInsideIfBranch() throws {
        var m = mlp()
        var branch = Graph()
        branch.name = "then"
        branch.initializers = [weight("inner", [16, 16])]
        branch.nodes = [Node("MatMul", inputs: ["y", "inner"], outputs: ["z"], name: "inner_mm")]
        branch.outputs = [ValueInfo(name: "z", type: nil)]
        m.graph!.inputs.append(ValueInfo(name: "c", type: .tensor(.bool, [])))
        m.graph!.nodes.append(Node("If", inputs: ["c"], outputs: ["z"], name: "if",
                                   attributes: [.graph("then_branch", branch), .graph("else_branch", branch)]))
        m.graph!.outputs = [ValueInfo(name: "z", type: nil)]
        let outcome = try run(&m, .int8, mode: .weightOnly)
        XCTAssertTrue(outcome.line.contains("3 weights"), outcome.line)
        for sub in m.graph!.nodes.last!.subgraphs {
            XCTAssertTrue(sub.initializers.contains { $0.name.hasPrefix("inner_quantized") && $0.dataType == .int8 })
            XCTAssertEqual(sub.nodes.first?.opType, "DequantizeLinear")
        }
        XCTAssertNoThrow(try ModelValidator(fileName: "t").validate(m))
    }

    /// Test case: an 8-bit embedding lookup below opset 21 gathers int8 rows and row scales.
    func testEmbeddingLookupInt8() throws {
        var m = Model()
        m.irVersion = 8
        m.opsetImports = [OperatorSetID(version: 17)]
        var g = Graph()
        g.inputs = [ValueInfo(name: "ids", type: .tensor(.int64, [.symbol("S")]))]
        g.outputs = [ValueInfo(name: "e", type: nil)]
        g.initializers = [weight("table", [100, 8])]
        g.nodes = [Node("Gather", inputs: ["table", "ids"], outputs: ["e"], name: "emb")]
        m.graph = g
        _ = try run(&m, .int8)
        let text = lines(m)
        XCTAssertTrue(text.contains("e_quantized_rows = Gather(table_quantized, ids) {axis: 0}"), text.joined(separator: "\n"))
        XCTAssertTrue(text.contains("table_scale: float32[100,1]"), "one [rows, 1] scale serves lookups and the folded table")
        XCTAssertFalse(text.contains { $0.hasPrefix("table_row_scale") })
        XCTAssertTrue(text.contains { $0.hasPrefix("e = Mul(") })
        XCTAssertFalse(text.contains { $0.contains("DequantizeLinear") }, "only gathered rows are widened")
    }

    /// Test case: quantizing twice leaves the already-quantized weights alone and says so.
    func testSecondRunSkipsQuantizedWeights() throws {
        var m = mlp()
        _ = try run(&m, .int8, mode: .weightOnly)
        let once = m
        let outcome = try run(&m, .int8, mode: .weightOnly)
        XCTAssertEqual(m, once)
        XCTAssertTrue(outcome.line.contains("already quantized"), outcome.line)
    }

    /// Test case: --exclude-ops and --min-elements leave weights in float.
    func testSelectionOptions() throws {
        var m = mlp()
        let original = m
        _ = try run(&m, .int8) { $0.excludeOps = ["MatMul"] }
        XCTAssertEqual(m, original)
        _ = try run(&m, .int8) { $0.minElements = 1_000_000 }
        XCTAssertEqual(m, original)
        _ = try run(&m, .int8) { $0.excludeNodes = "^mm$" }
        XCTAssertEqual(m, original)
    }

    /// Test case: int4 needs opset 21 and the dynamic int8 form 11 (DynamicQuantizeLinear); the
    /// pass says so instead of writing an invalid model.
    func testRequiresOpset() throws {
        var m = mlp(opset: 17)
        XCTAssertEqual(try QuantizeWeightsPass(.init(format: .int4)).requiredOpset(m), 21)
        XCTAssertEqual(try QuantizeWeightsPass(.init(format: .int8)).requiredOpset(mlp(opset: 9)), 11)
        XCTAssertThrowsError(try run(&m, .int4))
    }
}

extension QuantizeWeightsPassTests {
    /// Test case: a 4-bit Conv weight is stored as packed bytes and widened by constant ops
    /// (unpack, Cast, block view, Sub, Mul, reshape) that runtimes fold at load; no DequantizeLinear.
    func testInt4ConvIsFolded() throws {
        var m = Model()
        m.irVersion = 10
        m.opsetImports = [OperatorSetID(version: 21)]
        var g = Graph()
        g.inputs = [ValueInfo(name: "x", type: .tensor(.float, [.fixed(1), .fixed(32), .fixed(8), .fixed(8)]))]
        g.outputs = [ValueInfo(name: "y", type: nil)]
        g.initializers = [weight("k", [8, 32, 3, 3])]
        g.nodes = [Node("Conv", inputs: ["x", "k"], outputs: ["y"], name: "conv")]
        m.graph = g
        _ = try run(&m, .int4)
        let ops = m.graph!.nodes.map(\.opType)
        XCTAssertEqual(ops, ["BitwiseAnd", "BitShift", "Unsqueeze", "Unsqueeze", "Concat", "Reshape", "Cast", "Reshape",
                             "Sub", "Mul", "Reshape", "Conv"])
        let bytes = m.graph!.initializers.first { $0.name == "k_quantized_bytes" }
        XCTAssertEqual(bytes?.dataType, .uint8)
        XCTAssertEqual(bytes?.dims, [8 * 32 * 9 / 2])
        XCTAssertEqual(m.graph!.initializers.first { $0.name == "k_scale" }?.dims, [8, 1, 1, 9], "[outer, blocks, 1, inner]")
        XCTAssertNoThrow(try ModelValidator(fileName: "t").validate(m))
    }
}
