import Foundation
import XCTest
@testable import OnnxSlim

/// Saving and loading must give back the same IR, field for field, in every storage form.
final class RoundTripTests: XCTestCase {
    /// Test case: every testdata model loads, saves, and reloads to an equal IR, plain and zstd.
    func testTestdataModelsRoundTrip() throws {
        let folder = try TestSupport.temporaryFolder(self)
        for path in try TestSupport.testdataModels() {
            let loaded = try ModelLoader.load(path)
            for name in ["out.onnx", "out.onnx.zst"] {
                let out = folder.appendingPathComponent(name).path
                _ = try ModelSaver.save(loaded.model, to: out, input: loaded)
                let again = try ModelLoader.load(out)
                XCTAssertEqual(stripExternalSources(again.model), stripExternalSources(loaded.model),
                               "\(path) via \(name)")
                XCTAssertEqual(again.wasCompressed, name.hasSuffix(".zst"))
            }
        }
    }

    /// Test case: a faithful re-encode of a protobuf-c-free model is byte-identical.
    func testReencodeIsByteIdentical() throws {
        let folder = try TestSupport.temporaryFolder(self)
        let path = TestSupport.testdata.appendingPathComponent("tiny_mlp.onnx").path
        let loaded = try ModelLoader.load(path)
        let out = folder.appendingPathComponent("same.onnx").path
        _ = try ModelSaver.save(loaded.model, to: out, input: loaded)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Test case: default-valued fields that were explicitly present, and unknown fields, survive.
    func testPresenceAndUnknownFieldsSurvive() throws {
        var m = TestSupport.smallModel()
        var g = m.graph!
        g.nodes[0].proto.markExplicit(Node.Field.domain)          // domain: "" present
        g.nodes[1].proto.unknownFields = [
            UnknownField(fieldNumber: 1000, wireType: 2, payload: Array("vendor".utf8)),
            UnknownField(fieldNumber: 1001, wireType: 0, payload: [0x96, 0x01]),
        ]
        var zeroAttr = Attribute.int("axis", 0)
        zeroAttr.proto.markExplicit(Attribute.Field.i)            // i: 0 present
        g.nodes[1].attributes = [zeroAttr]
        g.initializers[0].proto.unknownFields = [UnknownField(fieldNumber: 77, wireType: 5, payload: [1, 2, 3, 4])]
        m.graph = g
        let folder = try TestSupport.temporaryFolder(self)
        let (url, _) = try TestSupport.serialize(m, in: folder)
        let back = try ModelLoader.load(url.path).model
        XCTAssertEqual(back, m)
        XCTAssertTrue(back.graph!.nodes[0].proto.isExplicit(Node.Field.domain))
        XCTAssertFalse(back.graph!.nodes[1].proto.isExplicit(Node.Field.domain))
        XCTAssertEqual(back.graph!.nodes[1].proto.unknownFields.count, 2)
    }

    /// Test case: weights read from a file point into the mapped input, not into copies.
    func testRawDataIsNotCopied() throws {
        let path = TestSupport.testdata.appendingPathComponent("tiny_mlp.onnx").path
        let loaded = try ModelLoader.load(path)
        let storages = Set(loaded.model.graph!.initializers.compactMap { $0.raw }.map { ObjectIdentifier($0.storage) })
        XCTAssertEqual(storages.count, 1, "all raw data should share the one mapped file")
        XCTAssertEqual(loaded.model.graph!.initializers.first!.raw!.storage.count, loaded.fileSize)
    }

    /// Test case: --external-data moves large tensors out, and the result reloads to the same values.
    func testExternalDataOutput() throws {
        let folder = try TestSupport.temporaryFolder(self)
        let path = TestSupport.testdata.appendingPathComponent("tiny_mlp.onnx").path
        let loaded = try ModelLoader.load(path)
        var options = ModelSaver.Options()
        options.externalData = .always
        let out = folder.appendingPathComponent("ext.onnx").path
        let result = try ModelSaver.save(loaded.model, to: out, input: loaded, options: options)
        XCTAssertEqual(result.externalDataPath, out + ".data")
        let back = try ModelLoader.load(out)
        let reader = ExternalDataReader()
        var compared = 0
        for (a, b) in zip(loaded.model.graph!.initializers, back.model.graph!.initializers) {
            if b.isExternal {
                XCTAssertEqual(try reader.bytes(of: b.externalSource!), a.raw!)
                XCTAssertEqual(b.externalData[key: "location"], "ext.onnx.data")
                compared += 1
            } else {
                XCTAssertEqual(a.raw, b.raw)
            }
        }
        XCTAssertGreaterThan(compared, 0)
    }

    /// Test case: a model whose proto would pass the limit (2 GiB; lowered here) goes external
    /// on its own, and the data comes back the same.
    func testAutomaticExternalDataPastTheLimit() throws {
        let folder = try TestSupport.temporaryFolder(self)
        let path = TestSupport.testdata.appendingPathComponent("tiny_mlp.onnx").path
        let loaded = try ModelLoader.load(path)
        var options = ModelSaver.Options()
        options.protoLimit = 50_000
        let out = folder.appendingPathComponent("auto.onnx.zst").path
        let result = try ModelSaver.save(loaded.model, to: out, input: loaded, options: options)
        XCTAssertEqual(result.externalDataPath, folder.appendingPathComponent("auto.onnx.data").path)
        XCTAssertLessThanOrEqual(result.packedSize, 50_000)
        let back = try ModelLoader.load(out)
        let reader = ExternalDataReader()
        for (a, b) in zip(loaded.model.graph!.initializers, back.model.graph!.initializers) {
            XCTAssertEqual(try b.externalSource.map(reader.bytes) ?? b.raw, a.raw)
        }
    }

    /// Test case: the zstd output is a standard frame (magic bytes) and smaller for compressible data.
    func testZstdOutputIsAFrame() throws {
        var m = TestSupport.smallModel()
        m.graph!.initializers.append(TestSupport.floatTensor("zeros", [4096], [Float](repeating: 0, count: 4096)))
        m.graph!.nodes.append(Node("Identity", inputs: ["zeros"], outputs: ["z"]))
        let folder = try TestSupport.temporaryFolder(self)
        let (_, plain) = try TestSupport.serialize(m, in: folder, name: "a.onnx")
        let (_, packed) = try TestSupport.serialize(m, in: folder, name: "a.onnx.zst")
        XCTAssertEqual(Array(packed.prefix(4)), ZstdFrame.magic)
        XCTAssertLessThan(packed.count, plain.count / 4)
    }

    /// Inlines external data the way onnx.load does, so models with different data files compare.
    private func stripExternalSources(_ m: Model) -> Model {
        var m = m
        let reader = ExternalDataReader()
        m.mutateEachTensor { t, _ in
            if let source = t.externalSource {
                t.raw = try? reader.bytes(of: source)
                t.externalData = []
                t.externalSource = nil
            }
        }
        return m
    }
}
