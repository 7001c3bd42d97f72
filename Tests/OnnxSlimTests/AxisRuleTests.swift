import XCTest
@testable import OnnxSlim

/// Axis rules: every operator with a kernel has one, and the rules structural pruning leans on
/// map units as the data moves.
final class AxisRuleTests: XCTestCase {
    func testEveryOperatorWithAKernelHasAnAxisRuleOrIsDeclaredOpaque() {
        let missing = KernelRegistry.supportedOperators.filter { OperatorRegistry.entries[$0]?.axisRule == nil }
        XCTAssertEqual(missing, [])
    }

    private func call(_ op: String, inputs: [[Int]?], outputs: [[Int]?], values: [[Int]?] = [], attributes: [Attribute] = []) -> AxisCall {
        let node = Node(op, inputs: inputs.indices.map { "i\($0)" }, outputs: outputs.indices.map { "o\($0)" }, attributes: attributes)
        func dims(_ s: [Int]?) -> [DimExpr]? { s.map { $0.map { $0 < 0 ? .symbol("S\(-$0)") : DimExpr($0) } } }
        return AxisCall(node: node, opset: 17, inputShapes: inputs.map(dims), outputShapes: outputs.map(dims),
                        inputValues: inputs.indices.map { $0 < values.count ? values[$0].map { $0.map { Optional($0) } } : nil })
    }

    private func heads(_ count: Int, of size: Int, axis: Int) -> AxisUnits {
        AxisUnits(axis: axis, length: count * size, units: (0..<count).map { h in Array((h * size)..<((h + 1) * size)) })
    }

    private func tied(_ a: AxisAnswer) -> [(port: NodePort, units: AxisUnits)] {
        if case .tied(let links, _) = a { return links }
        return []
    }

    /// [B, S, 384] → [B, S, 12, 32]: a head (32 consecutive channels) becomes one index of the
    /// head axis, and the target's element 2 follows it; a single channel cannot go through.
    func testReshapeSplitsHeadsAndMergesThemBack() throws {
        let rule = try XCTUnwrap(OperatorRegistry.entries["Reshape"]?.axisRule)
        let split = call("Reshape", inputs: [[-1, -2, 384], [4]], outputs: [[-1, -2, 12, 32]], values: [nil, [0, 0, 12, 32]])
        let links = tied(rule(split, .input(0), heads(12, of: 32, axis: 2)))
        XCTAssertEqual(links.count, 1)
        XCTAssertEqual(links.first?.units, AxisUnits(axis: 2, length: 12, units: (0..<12).map { [$0] }))
        if case .tied(_, let edits) = rule(split, .input(0), heads(12, of: 32, axis: 2)) {
            XCTAssertEqual(edits, [LengthEdit(site: .inputElement(input: 1, element: 2), tracks: .output(0), axis: 2)])
        }
        if case .opaque(let why) = rule(split, .input(0), heads(384, of: 1, axis: 2)) {
            XCTAssertEqual(why, "Reshape splits the axis inside a unit")
        } else { XCTFail("single channels went through a head split") }
        // And back: [B, S, 12, 32] → [B, S, 384] turns head h into channels 32h ..< 32h + 32.
        let merge = call("Reshape", inputs: [[-1, -2, 12, 32], [3]], outputs: [[-1, -2, 384]], values: [nil, [0, 0, 384]])
        XCTAssertEqual(tied(rule(merge, .input(0), AxisUnits(axis: 2, length: 12, units: (0..<12).map { [$0] }))).first?.units,
                       heads(12, of: 32, axis: 2))
    }

    func testConcatOffsetsAndDepthwiseConvGroups() throws {
        let concat = try XCTUnwrap(OperatorRegistry.entries["Concat"]?.axisRule)
        let c = call("Concat", inputs: [[1, 8, 4, 4], [1, 16, 4, 4]], outputs: [[1, 24, 4, 4]], attributes: [.int("axis", 1)])
        XCTAssertEqual(tied(concat(c, .input(1), AxisUnits(axis: 1, length: 16, units: [[0], [15]]))).first?.units,
                       AxisUnits(axis: 1, length: 24, units: [[8], [23]]))
        // Depthwise with multiplier 2: input channel c feeds output channels 2c, 2c + 1; `group` follows.
        let conv = try XCTUnwrap(OperatorRegistry.entries["Conv"]?.axisRule)
        let dw = call("Conv", inputs: [[1, 4, 8, 8], [8, 1, 3, 3]], outputs: [[1, 8, 8, 8]], attributes: [.int("group", 4)])
        guard case .tied(let links, let edits) = conv(dw, .input(0), AxisUnits(axis: 1, length: 4, units: (0..<4).map { [$0] })) else {
            return XCTFail("depthwise conv is opaque")
        }
        XCTAssertEqual(links.first { $0.port == .input(1) }?.units.units[1], [2, 3])
        XCTAssertEqual(edits.map(\.site), [.attribute("group", element: nil)])
        // MatMul's reduction axis reaches the weight's rows and no output.
        let mm = try XCTUnwrap(OperatorRegistry.entries["MatMul"]?.axisRule)
        let links2 = tied(mm(call("MatMul", inputs: [[-1, -2, 64], [64, 32]], outputs: [[-1, -2, 32]]), .input(0),
                             AxisUnits(axis: 2, length: 64, units: [[0], [1]])))
        XCTAssertEqual(links2.map(\.port), [.input(1)])
        XCTAssertEqual(links2.first?.units.axis, 0)
        // Softmax over the axis cannot be followed.
        let softmax = try XCTUnwrap(OperatorRegistry.entries["Softmax"]?.axisRule)
        if case .tied = softmax(call("Softmax", inputs: [[2, 8]], outputs: [[2, 8]]), .input(0), AxisUnits(axis: 1, length: 8, units: [[0]])) {
            XCTFail("Softmax over the pruned axis was followed")
        }
    }
}
