import XCTest
@testable import OnnxSlim

/// DequantizeLinear on small graphs, checked against values worked out by hand.
final class QuantizationKernelTests: XCTestCase {
    /// A graph of one DequantizeLinear over initializers; returns its output.
    private func dequantize(_ x: Tensor, _ scale: Tensor, _ zero: Tensor?, attributes: [Attribute], opset: Int64) throws -> NDArray {
        var g = Graph()
        g.name = "dq"
        g.outputs = [ValueInfo(name: "y", type: .tensor(.float, [.symbol("a"), .symbol("b")]))]
        g.initializers = [x, scale] + (zero.map { [$0] } ?? [])
        g.nodes = [Node("DequantizeLinear", inputs: [x.name, scale.name] + (zero.map { [$0.name] } ?? []), outputs: ["y"],
                        name: "dq", attributes: attributes)]
        var m = Model()
        m.irVersion = 10
        m.opsetImports = [OperatorSetID(version: opset)]
        m.graph = g
        let results = try Evaluator(model: m).run([:])
        return try XCTUnwrap(results.first?.value.tensor)
    }

    /// Packs 4-bit values two to a byte, the first in the low nibble (the ONNX layout).
    private func int4Tensor(_ name: String, _ dims: [Int64], _ values: [Int], type: DataType) -> Tensor {
        var bytes = [UInt8](repeating: 0, count: (values.count + 1) / 2)
        for (k, v) in values.enumerated() {
            let nibble = UInt8(v & 0xF)
            bytes[k / 2] |= k % 2 == 0 ? nibble : nibble << 4
        }
        return TensorValues.tensor(name, dims: dims, type: type, bytes: bytes)
    }

    private func assertClose(_ actual: NDArray, _ expected: [Float], shape: [Int], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.dataType, .float, file: file, line: line)
        XCTAssertEqual(actual.shape, shape, file: file, line: line)
        let values = actual.floats ?? []
        XCTAssertEqual(values.count, expected.count, file: file, line: line)
        for (a, e) in zip(values, expected) { XCTAssertEqual(a, e, accuracy: 1e-5 * max(1, abs(e)), file: file, line: line) }
    }

    /// int4 codes in blocks of 4 along axis 1; the last block of each row holds only 2 codes.
    func testBlockedInt4() throws {
        let x = int4Tensor("x", [2, 6], [-8, -1, 0, 3, 7, 5,
                                         1, 2, -3, -4, 6, -7], type: .int4)
        let scale = TestSupport.floatTensor("s", [2, 2], [0.5, 2, 0.25, 1])
        let zero = int4Tensor("z", [2, 2], [1, -2, 0, 3], type: .int4)
        let y = try dequantize(x, scale, zero, attributes: [.int("axis", 1), .int("block_size", 4)], opset: 21)
        assertClose(y, [-4.5, -1, -0.5, 1, 18, 14,          // (x - 1)·0.5 | (x + 2)·2
                        0.25, 0.5, -0.75, -1, 3, -10],      // x·0.25      | (x - 3)·1
                    shape: [2, 6])
    }

    /// uint4 blocks along axis 0 (each block spans rows), no zero point.
    func testBlockedUInt4AlongRows() throws {
        let x = int4Tensor("x", [4, 2], [1, 2, 3, 4, 5, 6, 7, 15], type: .uint4)
        let scale = TestSupport.floatTensor("s", [2, 2], [1, 10, 100, 1000])
        let y = try dequantize(x, scale, nil, attributes: [.int("axis", 0), .int("block_size", 2)], opset: 21)
        assertClose(y, [1, 20, 3, 40, 500, 6000, 700, 15000], shape: [4, 2])
    }

    /// uint8 codes with one scale and zero point per column (axis 1) and per row (axis 0).
    func testPerAxisUInt8() throws {
        let x = TensorValues.tensor("x", dims: [2, 3], type: .uint8, bytes: [10, 20, 30, 40, 50, 60])
        let columns = try dequantize(x, TestSupport.floatTensor("s", [3], [0.1, 1, 2]),
                                     TensorValues.tensor("z", dims: [3], type: .uint8, bytes: [10, 0, 255]),
                                     attributes: [.int("axis", 1)], opset: 13)
        assertClose(columns, [0, 20, -450,      // (10-10)·0.1, (20-0)·1, (30-255)·2
                              3, 50, -390],     // (40-10)·0.1, (50-0)·1, (60-255)·2
                    shape: [2, 3])
        let rows = try dequantize(x, TestSupport.floatTensor("s", [2], [0.5, 0.25]),
                                  TensorValues.tensor("z", dims: [2], type: .uint8, bytes: [0, 40]),
                                  attributes: [.int("axis", 0)], opset: 13)
        assertClose(rows, [5, 10, 15, 0, 2.5, 5], shape: [2, 3])
    }

    /// int8 codes with per-channel scales along axis 1 of a 3-D tensor (runs of the inner axis).
    func testPerAxisInt8Middle() throws {
        let codes: [Int8] = [-128, 127, 1, -1, 0, 64,
                             2, 4, 6, 8, 10, 12]
        let x = TensorValues.tensor("x", dims: [2, 3, 2], type: .int8, bytes: codes.map { UInt8(bitPattern: $0) })
        let y = try dequantize(x, TestSupport.floatTensor("s", [3], [1, 0.5, 0.125]), nil, attributes: [.int("axis", 1)], opset: 13)
        assertClose(y, [-128, 127, 0.5, -0.5, 0, 8,
                        2, 4, 3, 4, 1.25, 1.5], shape: [2, 3, 2])
    }

    /// A block count that does not match the data is a bad input, not a crash.
    func testBlockedShapeMismatchThrows() throws {
        let x = int4Tensor("x", [2, 6], [Int](repeating: 1, count: 12), type: .int4)
        let scale = TestSupport.floatTensor("s", [2, 3], [1, 1, 1, 1, 1, 1])
        XCTAssertThrowsError(try dequantize(x, scale, nil, attributes: [.int("axis", 1), .int("block_size", 4)], opset: 21))
    }
}
