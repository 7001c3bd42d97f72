import XCTest
@testable import OnnxSlim

/// The quantization kernel: error bounds, layouts, packing, zero points, float formats.
final class QuantizerTests: XCTestCase {
    private func randomValues(_ n: Int, seed: UInt64 = 1) -> [Float] {
        var rng = LoaderFuzzTests.SplitMix64(state: seed)
        return (0..<n).map { _ in Float(Int64(bitPattern: rng.next()) % 2000) / 1000 }
    }

    private func quantize(_ v: [Float], _ dims: [Int], _ f: QuantFormat, _ l: QuantLayout, symmetric: Bool = true) -> QuantizedTensor {
        v.withUnsafeBufferPointer { WeightQuantizer.quantize($0, dims: dims, format: f, layout: l, symmetric: symmetric) }
    }

    /// Test case: every integer format and layout reconstructs within half a step of its group's
    /// scale (a whole step for symmetric 4-bit, whose positive extreme may clip at +7).
    func testErrorIsAtMostHalfAStep() {
        let dims = [6, 64]
        let v = randomValues(dims.reduce(1, *))
        let layouts: [QuantLayout] = [.perTensor, .perChannel(0), .perChannel(1), .blocked(1, 32), .blocked(0, 4)]
        for f in [QuantFormat.int8, .uint8, .int4, .uint4] {
            for l in layouts {
                for symmetric in [true, false] {
                    let q = quantize(v, dims, f, l, symmetric: symmetric)
                    let back = WeightQuantizer.dequantize(q)
                    let worst = zip(v, back).map { abs($0 - $1) }.max()!
                    let steps: Float = f.isSubByte && symmetric ? 1 : 0.5
                    XCTAssertLessThanOrEqual(worst, q.scales.map(abs).max()! * steps + 1e-6, "\(f) \(l) symmetric \(symmetric)")
                }
            }
        }
    }

    /// Test case: scale shapes follow the layout (per-channel: the axis; blocked: ceil along the axis).
    func testScaleShapes() {
        let v = randomValues(5 * 70)
        XCTAssertEqual(quantize(v, [5, 70], .int8, .perChannel(1)).scaleDims, [70])
        XCTAssertEqual(quantize(v, [5, 70], .int4, .blocked(1, 32)).scaleDims, [5, 3])
        XCTAssertEqual(quantize(v, [5, 70], .int4, .blocked(0, 2)).scaleDims, [3, 70])
        XCTAssertEqual(quantize(v, [5, 70], .int8, .perTensor).scaleDims, [])
    }

    /// Test case: symmetric int8 uses max|x|/127 per channel and stores no zero point.
    func testSymmetricInt8() {
        let v: [Float] = [1, -2, 0.5, 4, 0, -1]   // [2, 3], per-channel along axis 1
        let q = quantize(v, [2, 3], .int8, .perChannel(1))
        let expected: [Float] = [4, 2, 1].map { $0 / 127 }   // columns: max|.| = 4, 2, 1
        XCTAssertEqual(q.scales, expected)
        XCTAssertNil(q.zeroPoints)
        XCTAssertEqual(Int8(bitPattern: q.data[1]), -127)
        XCTAssertEqual(Int8(bitPattern: q.data[3]), 127)
    }

    /// Test case: 4-bit codes pack two per byte, the first element in the low nibble; the value of
    /// largest magnitude maps to −8.
    func testInt4Packing() {
        let v: [Float] = [7, -8, 1, 0, 3]   // extreme −8 → scale 1 → codes equal the values
        let q = quantize(v, [5], .int4, .perTensor)
        XCTAssertEqual(q.data.count, 3)
        XCTAssertEqual(q.scales, [1])
        let codes = v.map { Int($0) }
        XCTAssertEqual(Int(q.data[0] & 0x0F), codes[0] & 0x0F)
        XCTAssertEqual(Int(q.data[0] >> 4), codes[1] & 0x0F)
        XCTAssertEqual(Int(q.data[2] & 0x0F), codes[4] & 0x0F)
        XCTAssertEqual(q.data[2] >> 4, 0)
        // A positive extreme gives a negative scale and still decodes exactly.
        let p = quantize([8, -4, 2], [3], .int4, .perTensor)
        XCTAssertEqual(p.scales, [-1])
        XCTAssertEqual(WeightQuantizer.dequantize(p), [8, -4, 2])
    }

    /// Test case: asymmetric uint8 maps the minimum to 0 and keeps 0.0 exact.
    func testAsymmetricUint8() {
        let v: [Float] = [-1, 0, 3]
        let q = quantize(v, [3], .uint8, .perTensor, symmetric: false)
        XCTAssertEqual(q.data[0], 0)
        XCTAssertEqual(q.data[2], 255)
        XCTAssertEqual(WeightQuantizer.dequantize(q)[1], 0)
        XCTAssertEqual(q.zeroPoints, [q.data[1]])
    }

    /// Test case: float8 E4M3FN, float16 and bfloat16 bit patterns of known values.
    func testFloatFormats() {
        XCTAssertEqual(FloatFormats.e4m3fnBits(448), 0x7E)
        XCTAssertEqual(FloatFormats.e4m3fnBits(1e9), 0x7E)          // saturates
        XCTAssertEqual(FloatFormats.e4m3fnBits(-448), 0xFE)
        XCTAssertEqual(FloatFormats.e4m3fnBits(1), 0x38)
        XCTAssertEqual(FloatFormats.e4m3fnBits(0.5), 0x30)
        XCTAssertEqual(FloatFormats.e4m3fnBits(0x1p-9), 0x01)      // smallest subnormal
        XCTAssertEqual(FloatFormats.e4m3fnBits(0x1p-6), 0x08)      // smallest normal
        XCTAssertEqual(FloatFormats.e4m3fnBits(.nan), 0x7F)
        for bits in 0...255 where bits & 0x7F != 0x7F {
            let x = FloatFormats.float(e4m3fn: UInt8(bits))
            XCTAssertEqual(FloatFormats.e4m3fnBits(x), UInt8(bits) == 0x80 ? 0x80 : UInt8(bits), "code \(bits)")
        }
        XCTAssertEqual(FloatFormats.float16Bits(1), 0x3C00)
        XCTAssertEqual(FloatFormats.float16Bits(65504), 0x7BFF)
        XCTAssertEqual(FloatFormats.bfloat16Bits(1), 0x3F80)
        XCTAssertEqual(FloatFormats.bfloat16Bits(Float(bitPattern: 0x3F80_8000)), 0x3F80)   // ties to even
        XCTAssertEqual(FloatFormats.bfloat16Bits(Float(bitPattern: 0x3F81_8000)), 0x3F82)
    }
}
