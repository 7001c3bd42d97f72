import XCTest
@testable import OnnxSlim

/// The wire pre-pass: raw_data becomes a reference; malformed wire data is refused.
final class RawDataDetacherTests: XCTestCase {
    private func detach(_ bytes: [UInt8]) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try RawDataDetacher(source: MemoryWireSource(buffer: $0), fileName: "t.onnx").skeleton() }
    }

    /// Test case: ModelProto{graph{initializer{raw_data: 8 bytes}}} keeps everything but the bytes.
    func testReplacesRawDataByReference() throws {
        let tensor: [UInt8] = [0x08, 0x02, 0x4A, 0x08] + [1, 2, 3, 4, 5, 6, 7, 8]  // dims: 2, raw_data
        let graph: [UInt8] = [0x2A, UInt8(tensor.count)] + tensor                   // initializer (5)
        let model: [UInt8] = [0x08, 0x07, 0x3A, UInt8(graph.count)] + graph         // ir_version, graph (7)
        let skeleton = try detach(model)
        XCTAssertFalse(skeleton.contains(8) && skeleton.contains(7) && skeleton.contains(6) && skeleton.contains(5)
                           && (skeleton.firstRange(of: [1, 2, 3, 4, 5, 6, 7, 8]) != nil))
        XCTAssertEqual(Array(skeleton.prefix(2)), [0x08, 0x07])
        // The reference's offset points at the raw bytes in the original buffer.
        let offset = model.firstRange(of: [1, 2, 3, 4, 5, 6, 7, 8])!.lowerBound
        XCTAssertNotNil(skeleton.firstRange(of: withUnsafeBytes(of: UInt64(offset).littleEndian, Array.init)))
    }

    /// Test case: a model with nothing to detach comes back unchanged.
    func testUntouchedWithoutRawData() throws {
        let model: [UInt8] = [0x08, 0x07, 0x12, 0x03, 0x61, 0x62, 0x63]
        XCTAssertEqual(try detach(model), model)
    }

    /// Test case: truncated varints, overlong lengths, groups and field 0 are malformed.
    func testMalformedWire() {
        for bad: [UInt8] in [[0x08], [0x08, 0x80], [0x3A, 0x10, 0x00], [0x0B], [0x00, 0x00], [0x3A, 0x02, 0x2A, 0x05]] {
            XCTAssertThrowsError(try detach(bad), "\(bad)") { error in
                XCTAssertTrue((error as? OnnxSlimError)?.message.contains("malformed protobuf") ?? false)
            }
        }
    }
}
