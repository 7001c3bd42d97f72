import XCTest
@testable import OnnxSlim

/// Group discovery and pruning on exported models (testdata/pruning, made by
/// testdata/make_pruning_testdata.py with the TorchScript and dynamo exporters and onnx.helper).
final class ChannelGroupTests: XCTestCase {
    private func load(_ file: String) throws -> Model {
        try ModelLoader.load(TestSupport.testdata.appendingPathComponent("pruning/\(file)").path).model
    }

    private func groups(_ file: String) throws -> ChannelGroups {
        try ChannelGroups(try load(file), reader: ExternalDataReader())
    }

    /// The kinds and unit counts each export must yield: heads as blocks of head_dim (grouped-
    /// query heads as whole KV groups), FFN neurons, conv channels through residual Add, Concat,
    /// Split, BatchNormalization (one op, decomposed, or folded), depthwise convs, Resize, squeeze-
    /// excitation and Flatten → Gemm.
    func testGroupsFoundInEachExport() throws {
        func summary(_ file: String) throws -> [String] {
            try groups(file).groups.map { "\($0.kind.rawValue) \($0.unitCount)x\($0.unitSize)" }
        }
        XCTAssertEqual(try summary("ffn_torchscript.onnx"), ["heads 4x8", "neurons 64x1"])
        XCTAssertEqual(try summary("bert_torchscript.onnx"), ["heads 4x8", "neurons 64x1", "heads 4x8", "neurons 64x1"])
        // The dynamo export builds Kᵀ through [B·H, S, d]: the head axis merged with the batch.
        XCTAssertEqual(try summary("bert_dynamo.onnx"), ["heads 4x8", "neurons 64x1", "heads 4x8", "neurons 64x1"])
        // 4 query heads share 2 KV heads: a unit is one KV group with its 2 query heads (16 columns of q_proj).
        XCTAssertEqual(try summary("llama_gqa.onnx"), ["heads 2x16", "neurons 48x1", "heads 2x16", "neurons 48x1"])
        let cnn = try summary("cnn_residual.onnx")
        XCTAssertEqual(cnn.count, 10)
        XCTAssertTrue(cnn.allSatisfy { $0.hasPrefix("channels") })
        XCTAssertEqual(try summary("cnn_residual_fused.onnx"), cnn)
        XCTAssertEqual(try summary("cnn_constant_weights_nhwc.onnx"), ["channels 8x1", "channels 16x1"])
        // onnxruntime's fusion: com.microsoft Attention's packed QKV weight, one unit per head.
        XCTAssertEqual(try summary("attention_fused.onnx"), ["heads 4x8", "neurons 64x1", "heads 4x8", "neurons 64x1"])
        // MultiHeadAttention: separate Q, K, V weights and one packed bias, tied per head.
        XCTAssertEqual(try summary("attention_mha.onnx"), ["heads 4x8", "neurons 64x1", "heads 4x8", "neurons 64x1"])
    }

    func testGroupsCarryEveryCoupledWeightAndLength() throws {
        let g = try groups("cnn_residual.onnx").groups
        let stem = try XCTUnwrap(g.first)
        // The residual Add ties the stem's channels to the block's second conv and BatchNorm,
        // and the depthwise conv (whose `group` follows) to its pointwise successor.
        for w in ["stem.0.weight@0", "stem.1.running_var@0", "res.conv1.0.weight@1", "res.conv2.0.weight@0",
                  "res.conv2.1.bias@0", "dw.0.weight@0", "pw.0.weight@1"] {
            XCTAssertTrue(stem.slices.contains { "\($0.weight)@\($0.axis)" == w }, w)
        }
        XCTAssertEqual(stem.lengths.map(\.edit.site), [.attribute("group", element: nil)])
        // The Split's sizes follow the fused conv's channels.
        let fuse = try XCTUnwrap(g.first { $0.label == "/csp/fuse/fuse.0/Conv" })
        XCTAssertEqual(fuse.lengths.count, 2)
        // Flatten → Gemm: each of down's 8 channels is 4·4 = 16 Gemm input features.
        let down = try XCTUnwrap(g.first { $0.label == "/down/down.0/Conv" })
        let fc = try XCTUnwrap(down.slices.first { $0.weight == "fc.weight" })
        XCTAssertEqual(fc.units.units[1].count, fc.units.length / 8)
    }

    func testUnprovableGroupsSayWhy() throws {
        let skipped = try groups("bert_torchscript.onnx").skipped
        XCTAssertEqual(skipped["normalized by LayerNormalization"]?.count, 4)
        XCTAssertEqual(skipped["normalized by LayerNormalization"]?.example,
                       "/bert/encoder/layer.0/attention/output/dense/MatMul, at LayerNormalization '/bert/encoder/layer.0/attention/output/LayerNorm/LayerNormalization'")
        let cnn = try groups("cnn_residual.onnx").skipped
        XCTAssertEqual(cnn.keys.sorted(), ["the units reach graph output 'output'"])
    }

    /// `t` with the given indices along the given axes set to 0.
    private func zeroed(_ t: Tensor, _ cuts: [(axis: Int, indices: [Int])]) throws -> Tensor {
        let a = try NDArray(tensor: t, reader: ExternalDataReader())
        var v = a.asFloats
        var strides = [Int](repeating: 1, count: a.rank)
        for d in stride(from: a.rank - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * a.shape[d + 1] }
        for flat in v.indices {
            for c in cuts where c.indices.contains((flat / strides[c.axis]) % a.shape[c.axis]) { v[flat] = 0 }
        }
        return NDArray(floats: v, shape: a.shape, type: a.dataType).tensor(name: t.name)
    }

    /// Units whose every weight is zero contribute nothing: pruning exactly them (they score
    /// lowest) leaves every output unchanged, in every export and coupling kind.
    func testPruningZeroUnitsChangesNoOutput() throws {
        for file in ["ffn_torchscript.onnx", "bert_torchscript.onnx", "bert_dynamo.onnx", "attention_fused.onnx", "attention_mha.onnx", "llama_gqa.onnx",
                     "cnn_residual_fused.onnx",
                     "cnn_constant_weights_nhwc.onnx", "../cnn_constant_weights.onnx"] {
            var model = try load(file)
            let found = try ChannelGroups(model, reader: ExternalDataReader()).groups
            // Zero units 0 and 1 of every group in every weight they touch.
            var zero: [String: [(axis: Int, indices: [Int])]] = [:]
            var units: [ChannelGroup.Kind: (zeroed: Int, total: Int)] = [:]
            for g in found {
                let chosen = [0, 1].filter { $0 < g.unitCount - 1 }
                for s in g.slices { zero[s.weight, default: []].append((s.axis, s.units.keptIndices(chosen))) }
                units[g.kind, default: (0, 0)].zeroed += chosen.count
                units[g.kind, default: (0, 0)].total += g.unitCount
            }
            try model.mainGraph.withGraph(at: .main) { g in
                for (k, t) in g.initializers.enumerated() {
                    if let cuts = zero[t.name] { g.initializers[k] = try zeroed(t, cuts) }
                }
                for (k, n) in g.nodes.enumerated() where n.isConstant {
                    guard let cuts = zero[n.outputs[0]], let t = n.attribute("value")?.t else { continue }
                    let z = try zeroed(t, cuts)
                    g.nodes[k].attributes = n.attributes.map { $0.name == "value" ? .tensor("value", z) : $0 }
                }
            }
            var options = StructuredPruningPass.Options()
            options.roundTo = 1
            for (kind, u) in units { options.ratios[kind] = Double(u.zeroed) / Double(u.total) }
            var pruned = model
            let outcome = try PassPipeline([StructuredPruningPass(options)]).run(&pruned, PassContext())
            XCTAssertTrue(outcome.first?.changed == true, file)
            let inputs = try ModelInputs.samples(folder: nil, count: 1, model: model, dims: ["batch": 2, "seq": 5, "sequence": 5], seed: 3)[0].values
            let before = try Evaluator(model: model, reader: ExternalDataReader()).run(inputs)
            let after = try Evaluator(model: pruned, reader: ExternalDataReader()).run(inputs)
            XCTAssertEqual(before.map(\.name), after.map(\.name))
            for (b, a) in zip(before, after) {
                guard case .tensor(let x) = b.value, case .tensor(let y) = a.value else { continue }
                XCTAssertEqual(x.shape, y.shape, file)
                let diff = zip(x.asFloats, y.asFloats).map { abs($0 - $1) }.max() ?? 0
                let scale = x.asFloats.map { abs($0) }.max() ?? 1
                XCTAssertLessThan(diff, 1e-4 * max(scale, 1), "\(file) \(b.name)")
            }
            func parameters(_ m: Model) -> Int {
                var n = 0
                m.mainGraph.forEachGraph { g, _ in
                    n += g.initializers.reduce(0) { $0 + ($1.elementCount ?? 0) }
                    n += g.nodes.compactMap { $0.attribute("value")?.t?.elementCount }.reduce(0, +)
                }
                return n
            }
            XCTAssertLessThan(parameters(pruned), parameters(model), file)
            // Every group lost exactly its zeroed units: its first weight shrank by them. (In the
            // ReLU CNNs, channels dead on the calibration inputs score 0 too and may go instead.)
            let prunedIndex = GraphIndex(pruned.mainGraph)
            for g in found where !file.contains("cnn") {
                let s = g.slices[0]
                let chosen = [0, 1].filter { $0 < g.unitCount - 1 }
                let dims = try XCTUnwrap(prunedIndex.weight(s.weight, from: .main)?.tensor.dims, s.weight)
                XCTAssertEqual(Int(dims[s.axis]), s.units.length - s.units.keptIndices(chosen).count, "\(file) \(g.label)")
            }
        }
    }

    /// E‖z‖² per token of z = a + b + bias, accumulated as the parts arrive (in either order).
    func testStreamEnergyOfASumOfParts() {
        let energy = StreamEnergy([.init(parts: ["a", "b"], bias: [1, -1]), .init(parts: ["a"], bias: nil)])
        let a = NDArray(floats: [1, 2, 3, 4, 5, 6], shape: [1, 3, 2], type: .float)
        let b = NDArray(floats: [0, 1, 0, 1, 0, 1], shape: [1, 3, 2], type: .float)
        energy.observe("b", b)
        XCTAssertEqual(energy.energy(0), 0)
        energy.observe("a", a)
        // z = [2, 2], [4, 4], [6, 6]: (8 + 32 + 72) / 3 tokens; a alone: (5 + 25 + 61) / 3.
        XCTAssertEqual(energy.energy(0), 112.0 / 3, accuracy: 1e-9)
        XCTAssertEqual(energy.energy(1), 91.0 / 3, accuracy: 1e-9)
    }

    /// Ratio 0 writes nothing: the model is unchanged message for message.
    func testPruningNothingIsTheIdentity() throws {
        var model = try load("bert_torchscript.onnx")
        let original = model
        var options = StructuredPruningPass.Options()
        options.ratios = [.heads: 0, .neurons: 0]
        let outcome = try PassPipeline([StructuredPruningPass(options)]).run(&model, PassContext())
        XCTAssertEqual(outcome.map(\.changed), [false])
        XCTAssertEqual(model, original)
    }
}
