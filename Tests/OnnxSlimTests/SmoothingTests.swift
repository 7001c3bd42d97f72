import XCTest
@testable import OnnxSlim

/// SmoothQuant's scale search (SmoothingScales) and the pass that applies it.
final class SmoothingTests: XCTestCase {
    /// Activations [rows × k] with one outlier channel (×60), as LayerNorm outputs of trained
    /// transformers have; weights [k × n] of unit scale.
    private func outlierCase(rows: Int = 64, k: Int = 32, n: Int = 24) -> (x: [Float], w: [Float]) {
        var rng = SplitMix64(seed: 3)
        var x = (0..<(rows * k)).map { _ in rng.normal() }
        for r in 0..<rows { x[r * k + 5] *= 60 }
        let w = (0..<(k * n)).map { _ in rng.normal() * 0.1 }
        return (x, w)
    }

    /// x [batch, seq, k] → `nodes` → y [batch, seq, n], with weight "w" [k, n] and `extra` initializers.
    private func matMulModel(k: Int, n: Int, w: [Float], nodes: [Node], extra: [Tensor] = []) -> Model {
        var g = Graph()
        g.name = "smooth"
        g.inputs = [ValueInfo(name: "x", type: .tensor(.float, [.symbol("batch"), .symbol("seq"), .fixed(Int64(k))]))]
        g.outputs = [ValueInfo(name: "y", type: .tensor(.float, [.symbol("batch"), .symbol("seq"), .fixed(Int64(n))]))]
        g.initializers = [TensorValues.tensor("w", dims: [Int64(k), Int64(n)], floats: w)] + extra
        g.nodes = nodes
        var m = Model()
        m.irVersion = 8
        m.opsetImports = [OperatorSetID(version: 13)]
        m.graph = g
        return m
    }

    private func search(_ x: [Float], _ w: [Float], k: Int, n: Int) -> SmoothingScales {
        SmoothingScales(samples: [x], channels: k, weights: [(w, n)]) { values, columns in
            let q = values.withUnsafeBufferPointer {
                WeightQuantizer.quantize($0, dims: [values.count / columns, columns], format: .int8,
                                         layout: .perChannel(1), maxCode: QuantFormat.integerKernelMaxCode)
            }
            return WeightQuantizer.dequantize(q)
        }
    }

    func testOutlierChannelIsSmoothedAndErrorFalls() {
        let (x, w) = outlierCase()
        let choice = search(x, w, k: 32, n: 24).choose()
        XCTAssertNotNil(choice.alpha)
        XCTAssertLessThan(choice.error, 0.5 * choice.unsmoothedError)
        // The outlier channel gets the largest scale: it is divided most.
        XCTAssertEqual(choice.scales.indices.max { choice.scales[$0] < choice.scales[$1] }, 5)
    }

    func testWithoutOutliersNothingNeedsToChangeMuch() {
        var rng = SplitMix64(seed: 4)
        let x = (0..<(64 * 16)).map { _ in rng.normal() }
        let w = (0..<(16 * 8)).map { _ in rng.normal() }
        let choice = search(x, w, k: 16, n: 8).choose()
        // The choice is never worse than leaving the layer alone.
        XCTAssertLessThanOrEqual(choice.error, choice.unsmoothedError)
    }

    func testScalesFollowTheFormula() {
        let s = search([], [], k: 2, n: 1).scales(alpha: 0.5, activationMax: [16, 0], weightMax: [4, 3])
        XCTAssertEqual(s[0], 16.0.squareRoot().f / 4.0.squareRoot().f, accuracy: 1e-6)
        XCTAssertEqual(s[1], 1)   // a channel that is zero keeps scale 1
    }

    func testDynamicRoundTripMatchesDynamicQuantizeLinear() {
        // Range [-1, 2] widened to include 0: scale 3/255, zero point 85.
        let q = SmoothingScales.dynamicRoundTrip([-1, 0, 0.5, 2])
        let scale: Float = 3 / 255
        XCTAssertEqual(q[1], 0)
        XCTAssertEqual(q[0], -85 * scale, accuracy: 1e-6)
        XCTAssertEqual(q[3], 170 * scale, accuracy: 1e-6)
        XCTAssertEqual(q[2], 42 * scale, accuracy: 1e-6)   // 42.5 rounds half to even, as ONNX does
    }

    /// The pass keeps the float model's function: Mul(1/s) and diag(s)·W cancel.
    func testPassIsExactInFloat() throws {
        let k = 32, n = 24
        let (_, w) = outlierCase(k: k, n: n)
        var gain = [Float](repeating: 1, count: k)
        gain[5] = 60
        let m = matMulModel(k: k, n: n, w: w, nodes: [Node("Mul", inputs: ["x", "gain"], outputs: ["xg"], name: "gain"),
                                                     Node("MatMul", inputs: ["xg", "w"], outputs: ["y"], name: "mm")],
                            extra: [TensorValues.tensor("gain", dims: [Int64(k)], floats: gain)])
        let pass = ActivationSmoothingPass(quantizer: QuantizeWeightsPass(.init(format: .int8)))
        var smoothed = m
        let outcome = try pass.run(&smoothed, PassContext())
        XCTAssertTrue(outcome.changed, outcome.line)
        XCTAssertEqual(smoothed.mainGraph.nodes.map(\.opType), ["Mul", "Mul", "MatMul"])
        let input = try ModelInputs.generate(for: m, dims: ["batch": 1, "seq": 8], seed: 1)
        let a = try XCTUnwrap(Evaluator(model: m).run(input.values).first?.value.tensor?.floats)
        let b = try XCTUnwrap(Evaluator(model: smoothed).run(input.values).first?.value.tensor?.floats)
        XCTAssertEqual(a.count, b.count)
        for (u, v) in zip(a, b) { XCTAssertEqual(u, v, accuracy: 1e-3 * max(1, abs(u))) }
    }

    func testErrorBudgetKeepsTheWorstGroupsFloatUntilTheRestFit() {
        let budget = IntegerErrorBudget(budget: 0.01)
        XCTAssertEqual(budget.floatGroups([0.002, 0.003, 0.001]), [])           // 0.006 fits
        XCTAssertEqual(budget.floatGroups([0.004, 0.009, 0.002, 0.005]), [1, 3])  // 0.020 → 0.011 → 0.006
        XCTAssertEqual(budget.floatGroups([0.02]), [0])
        XCTAssertEqual(budget.floatGroups([0.006, 0.006]), [1])                  // a tie: the later one
        XCTAssertEqual(budget.floatGroups([]), [])
    }

    /// With no budget to spend, the pass smooths nothing and tells the weight pass to fold the
    /// weight, which then stays a float MatMul over int8 weights.
    func testOverspentBudgetFoldsTheWeightInsteadOfSmoothing() throws {
        let k = 32, n = 24
        let (_, w) = outlierCase(k: k, n: n)
        let m = matMulModel(k: k, n: n, w: w, nodes: [Node("MatMul", inputs: ["x", "w"], outputs: ["y"], name: "mm")])
        let quantizer = QuantizeWeightsPass(.init(format: .int8))
        let context = PassContext()
        var out = m
        let outcome = try ActivationSmoothingPass(quantizer: quantizer, errorBudget: 0).run(&out, context)
        XCTAssertFalse(outcome.changed, outcome.line)
        XCTAssertEqual(context.floatActivationWeights, ["w"])
        XCTAssertTrue(outcome.line.contains("1 MatMuls keep float activations"), outcome.line)
        _ = try quantizer.run(&out, context)
        let ops = out.mainGraph.nodes.map(\.opType)
        XCTAssertTrue(ops.contains("MatMul") && !ops.contains("MatMulInteger"), "\(ops)")
        // A generous budget keeps it integer.
        let generous = PassContext()
        var kept = m
        _ = try ActivationSmoothingPass(quantizer: quantizer, errorBudget: 1).run(&kept, generous)
        XCTAssertTrue(generous.floatActivationWeights.isEmpty)
        _ = try quantizer.run(&kept, generous)
        XCTAssertTrue(kept.mainGraph.nodes.contains { $0.opType == "MatMulInteger" })
    }
}

private extension Double { var f: Float { Float(self) } }
