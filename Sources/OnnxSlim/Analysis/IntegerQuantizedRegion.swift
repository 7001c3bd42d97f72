/// The nodes of a graph that read what integer-quantized ops produce: the Cast of a
/// MatMulInteger/ConvInteger result to float, the Mul by the product of the scales, the Mul of
/// DynamicQuantizeLinear's scale by the weight's. They keep float32 under `--quantize fp16`:
/// the scales are float32 by the ops' signatures, and onnxruntime's quantize_dynamic and
/// onnx-slim's dynamic int8 both wire them as
///
///     x → DynamicQuantizeLinear → (x_q, x_scale, x_zp) → MatMulInteger → Cast(to float)
///     x_scale · w_scale → Mul ─────────────────────────────────────────────┘→ Mul → y
///
/// Values flow through Casts (int32 → float is still the integer result); the Mul's output y
/// is an ordinary activation again.
enum IntegerQuantizedRegion {
    /// Ops whose outputs are integer codes or their float32 scales.
    static let integerOps: Set<String> = [
        "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul",
        // com.microsoft
        "DynamicQuantizeLSTM", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QAttention", "QGemm",
    ]

    /// Indices of the nodes reading an integer op's output, directly or through Casts.
    static func nodes(_ graph: Graph) -> Set<Int> {
        var integerValues = Set<String>()
        var region = Set<Int>()
        for (k, n) in graph.nodes.enumerated() {
            let reads = n.inputs.contains { integerValues.contains($0) }
            if reads { region.insert(k) }
            if integerOps.contains(n.opType) || (reads && n.opType == "Cast") {
                integerValues.formUnion(n.outputs.filter { !$0.isEmpty })
            }
        }
        return region
    }
}
