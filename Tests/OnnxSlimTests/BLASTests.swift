import XCTest
@testable import OnnxSlim

/// OpenBLAS kernel choice from CPU flags (BLASLibrary.coreType).
final class BLASCoreTypeTests: XCTestCase {
    func testCoreTypeFollowsTheWidestVectorUnit() {
        XCTAssertEqual(BLASLibrary.coreType(cpuFlags: ["sse2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq"]), "SkylakeX")
        XCTAssertEqual(BLASLibrary.coreType(cpuFlags: ["sse2", "avx", "avx2", "fma", "avx512f"]), "Haswell")
        XCTAssertNil(BLASLibrary.coreType(cpuFlags: ["sse2", "avx", "avx2"]))
        XCTAssertNil(BLASLibrary.coreType(cpuFlags: []))
    }

    func testProductsRunThroughTheLoadedLibrary() {
        let a: [Float] = [1, 2, 3, 4, 5, 6], b: [Float] = [1, 0, 0, 1, 1, 1]
        var c = [Float](repeating: -1, count: 4)
        BLAS.sgemm(m: 2, n: 2, k: 3, a: a, lda: 3, b: b, ldb: 2, c: &c, ldc: 2)
        XCTAssertEqual(c, [4, 5, 10, 11])
        XCTAssertFalse(BLAS.coreName.isEmpty)
    }
}

/// Convolution when the product has nothing to sum (zero input channels): outputs are the bias.
final class ConvEmptyReductionTests: XCTestCase {
    func testZeroInputChannelsGiveTheBias() throws {
        var g = Graph()
        g.name = "conv"
        g.inputs = [ValueInfo(name: "x", type: .tensor(.float, [.fixed(1), .fixed(0), .fixed(3), .fixed(3)])),
                    ValueInfo(name: "w", type: .tensor(.float, [.fixed(2), .fixed(0), .fixed(2), .fixed(2)])),
                    ValueInfo(name: "b", type: .tensor(.float, [.fixed(2)]))]
        g.nodes = [Node("Conv", inputs: ["x", "w", "b"], outputs: ["y"], attributes: [.ints("kernel_shape", [2, 2])])]
        g.outputs = [ValueInfo(name: "y", type: nil)]
        var m = Model()
        m.irVersion = 8
        m.opsetImports = [OperatorSetID(version: 17)]
        m.graph = g
        let out = try Evaluator(model: m).run([
            "x": .tensor(NDArray(floats: [], shape: [1, 0, 3, 3])),
            "w": .tensor(NDArray(floats: [], shape: [2, 0, 2, 2])),
            "b": .tensor(NDArray(floats: [0.5, -2], shape: [2])),
        ])
        let y = try XCTUnwrap(out.first?.value.tensor)
        XCTAssertEqual(y.shape, [1, 2, 2, 2])
        XCTAssertEqual(y.floats, [0.5, 0.5, 0.5, 0.5, -2, -2, -2, -2])
    }
}
