import Foundation
import XCTest
@testable import OnnxSlim

/// Bad input must be refused with a bad-input error naming the file, never a crash.
final class BadInputTests: XCTestCase {
    private func assertBadInput(_ path: String, contains fragment: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ModelLoader.load(path), file: file, line: line) { error in
            guard let e = error as? OnnxSlimError else { return XCTFail("not an OnnxSlimError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.exitCode, 2, file: file, line: line)
            XCTAssertTrue(e.message.hasPrefix(path), "names the file: \(e.message)", file: file, line: line)
            XCTAssertTrue(e.message.contains(fragment), "\(e.message) should mention '\(fragment)'", file: file, line: line)
            XCTAssertFalse(e.message.contains("\n"), file: file, line: line)
        }
    }

    private func write(_ model: Model, _ folder: URL, _ name: String = "bad.onnx") throws -> String {
        // Serialize without the loader's checks: the saver writes whatever IR it is given.
        try TestSupport.serialize(model, in: folder, name: name).0.path
    }

    /// Test case: a model cut in half is reported as malformed.
    func testTruncated() throws {
        let folder = try TestSupport.temporaryFolder(self)
        let data = try Data(contentsOf: TestSupport.testdata.appendingPathComponent("tiny_mlp.onnx"))
        let path = folder.appendingPathComponent("half.onnx").path
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        assertBadInput(path, contains: "malformed protobuf")
    }

    /// Test case: bytes that are not protobuf, and an empty file.
    func testGarbageAndEmpty() throws {
        let folder = try TestSupport.temporaryFolder(self)
        let garbage = folder.appendingPathComponent("garbage.onnx").path
        try Data(repeating: 0xFF, count: 64).write(to: URL(fileURLWithPath: garbage))
        assertBadInput(garbage, contains: "malformed protobuf")
        let empty = folder.appendingPathComponent("empty.onnx").path
        try Data().write(to: URL(fileURLWithPath: empty))
        assertBadInput(empty, contains: "empty file")
    }

    /// Test case: a valid zstd frame holding text, and a truncated frame.
    func testZstdThatIsNotAModel() throws {
        let folder = try TestSupport.temporaryFolder(self)
        // Compress a text file through the saver's stream: write a model-free frame by hand.
        let textPath = folder.appendingPathComponent("text.onnx.zst").path
        let fd = open(textPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let stream = try OutputStream(fd: fd, displayName: textPath, zstdLevel: 3, threads: 1, pledgedSize: nil)
        let text = Array("this is a plain text file, not an ONNX model\n".utf8)
        text.withUnsafeBytes { stream.append($0.baseAddress, $0.count) }
        try stream.finish()
        close(fd)
        assertBadInput(textPath, contains: "zstd frame does not hold an ONNX model")

        let modelZst = folder.appendingPathComponent("m.onnx.zst")
        _ = try ModelSaver.save(TestSupport.smallModel(), to: modelZst.path)
        let frame = try Data(contentsOf: modelZst)
        let cut = folder.appendingPathComponent("cut.onnx.zst").path
        try frame.prefix(frame.count - 6).write(to: URL(fileURLWithPath: cut))
        assertBadInput(cut, contains: "zstd")
    }

    /// Test case: a frame declaring 3 GB of content is refused before anything is decompressed.
    func testZstdDeclaringTooMuch() throws {
        let folder = try TestSupport.temporaryFolder(self)
        // Magic, descriptor (8-byte content size, single segment), the size, one empty last raw block.
        var frame = ZstdFrame.magic + [0xE0]
        frame += withUnsafeBytes(of: UInt64(3_000_000_000).littleEndian, Array.init)
        frame += [0x01, 0x00, 0x00]
        let path = folder.appendingPathComponent("bomb.onnx.zst").path
        try Data(frame).write(to: URL(fileURLWithPath: path))
        assertBadInput(path, contains: "past protobuf's 2 GiB limit")
    }

    /// Test case: dims whose product overflows, and raw_data of the wrong length.
    func testTensorSizeProblems() throws {
        let folder = try TestSupport.temporaryFolder(self)
        var m = TestSupport.smallModel()
        m.graph!.initializers[0].dims = [Int64.max / 2, 4]
        assertBadInput(try write(m, folder, "overflow.onnx"), contains: "overflows")

        m = TestSupport.smallModel()
        m.graph!.initializers[0].dims = [3, 2]   // 6 floats declared, 4 stored
        assertBadInput(try write(m, folder, "mismatch.onnx"), contains: "raw_data has 16 bytes")

        m = TestSupport.smallModel()
        m.graph!.initializers[1].dims = [-2]
        assertBadInput(try write(m, folder, "negative.onnx"), contains: "negative dimension")
    }

    /// Test case: an input nothing produces, and two nodes feeding each other.
    func testDanglingInputAndCycle() throws {
        let folder = try TestSupport.temporaryFolder(self)
        var m = TestSupport.smallModel()
        m.graph!.nodes[1].inputs[1] = "nowhere"
        assertBadInput(try write(m, folder, "dangling.onnx"), contains: "'nowhere', which nothing produces")

        m = TestSupport.smallModel()
        m.graph!.nodes[0].inputs[0] = "y"        // MatMul reads Add's output, Add reads MatMul's
        assertBadInput(try write(m, folder, "cycle.onnx"), contains: "cycle")
    }

    /// Test case: external data that escapes the folder (.., absolute, symlink) or is missing.
    func testExternalDataConfinement() throws {
        let root = try TestSupport.temporaryFolder(self)
        let folder = root.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(count: 16).write(to: root.appendingPathComponent("outside.bin"))
        try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent("link.bin").path,
                                                   withDestinationPath: root.appendingPathComponent("outside.bin").path)
        let cases: [(String, String)] = [
            ("../outside.bin", "leaves the model's folder"),
            ("/etc/passwd", "leaves the model's folder"),
            ("link.bin", "leads outside the model's folder"),
            ("missing.bin", "not found"),
        ]
        for (k, (location, message)) in cases.enumerated() {
            var m = TestSupport.smallModel()
            m.graph!.initializers[0].raw = nil
            m.graph!.initializers[0].dataLocation = 1
            m.graph!.initializers[0].externalData = [StringPair("location", location), StringPair("length", "16")]
            assertBadInput(try write(m, folder, "ext\(k).onnx"), contains: message)
        }
    }

    /// Test case: the saver refuses to overwrite its input.
    func testRefusesToOverwriteInput() throws {
        let folder = try TestSupport.temporaryFolder(self)
        let (url, before) = try TestSupport.serialize(TestSupport.smallModel(), in: folder)
        let loaded = try ModelLoader.load(url.path)
        XCTAssertThrowsError(try ModelSaver.save(loaded.model, to: url.path, input: loaded)) { error in
            XCTAssertEqual((error as? OnnxSlimError)?.exitCode, 1)
        }
        XCTAssertEqual(try Data(contentsOf: url), before)
    }
}
