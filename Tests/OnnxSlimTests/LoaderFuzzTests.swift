import Foundation
import XCTest
@testable import OnnxSlim

/// Seeded random mutations of real models: the loader either loads or throws OnnxSlimError,
/// never crashes or hangs; whatever loads also saves and reloads to the same IR.
final class LoaderFuzzTests: XCTestCase {
    /// A small deterministic generator (SplitMix64), so failures reproduce.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Test case: ITERATIONS (env ONNX_SLIM_FUZZ_ITERATIONS, default 1500) mutants per seed model.
    func testMutatedModelsNeverCrash() throws {
        let iterations = ProcessInfo.processInfo.environment["ONNX_SLIM_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 1500
        let folder = try TestSupport.temporaryFolder(self)
        let seeds = try TestSupport.testdataModels().filter { !$0.contains("transformer") }
        var rng = SplitMix64(state: 0x5EED)
        var loadedCount = 0, refused = 0
        for seedPath in seeds {
            let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: seedPath)))
            for k in 0..<iterations {
                var bytes = original
                mutate(&bytes, &rng)
                let path = folder.appendingPathComponent("mutant.onnx").path
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                do {
                    let loaded = try ModelLoader.load(path)
                    loadedCount += 1
                    if k % 10 == 0 {
                        let out = folder.appendingPathComponent("resaved.onnx").path
                        _ = try ModelSaver.save(loaded.model, to: out, input: loaded)
                        XCTAssertEqual(try ModelLoader.load(out, options: noValidation).model, loaded.model)
                    }
                } catch let e as OnnxSlimError {
                    XCTAssertFalse(e.message.contains("\n"))
                    refused += 1
                }
            }
        }
        print("fuzz: \(seeds.count) seeds x \(iterations): \(loadedCount) loaded, \(refused) refused")
        XCTAssertGreaterThan(refused, 0)
    }

    private var noValidation: ModelLoader.Options {
        var o = ModelLoader.Options()
        o.validate = false
        return o
    }

    private func mutate(_ bytes: inout [UInt8], _ rng: inout SplitMix64) {
        let edits = Int.random(in: 1...4, using: &rng)
        for _ in 0..<edits where !bytes.isEmpty {
            let at = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            case 1: bytes[at] = UInt8.random(in: 0...255, using: &rng)
            case 2: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...16, using: &rng)))
            case 3: bytes.insert(contentsOf: (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: at)
            case 4: bytes = Array(bytes.prefix(at))
            default: bytes[at] = [0x00, 0x7F, 0x80, 0xFF][Int.random(in: 0..<4, using: &rng)]
            }
        }
    }
}
