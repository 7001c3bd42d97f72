/// How the weight passes look past a weight's direct reader: tied tables read through layout
/// operators, and tables that are quantization parameters of something else.
extension GraphIndex {
    /// True when a Gather's output is a quantization parameter of something else: a scale or
    /// zero point of DequantizeLinear, or the factor/offset applied to widened integer rows
    /// (Mul(Cast(…), ·), Sub(Cast(…), ·)). Such tables are not embeddings.
    func feedsQuantizationParameters(_ use: Use) -> Bool {
        guard let output = use.consumer.outputs.first else { return false }
        return readers(of: output, in: use.path).contains { reader, input in
            switch reader.opType {
            case "DequantizeLinear": return input >= 1
            case "Mul", "Sub":
                guard input == 1, let first = producerNode(of: reader.inputs[0], in: use.path) else { return false }
                return first.opType == "Cast" || (reader.opType == "Mul" && first.opType == "Sub")
            default: return false
            }
        }
    }

    /// True when the use is a MatMul of a float zero point's offset term (`FloatZeroPointTerms`):
    /// its weight is a block indicator or a block-offset matrix, quantization parameters of an
    /// already quantized weight, not a weight to quantize.
    func isFloatZeroPointTerm(_ use: Use) -> Bool {
        guard use.input == 1, use.consumer.opType == "MatMul", let output = use.consumer.outputs.first else { return false }
        func addsOffsets(_ value: String) -> Bool {
            readers(of: value, in: use.path).contains { add, input in
                guard add.opType == "Add", add.inputs.count == 2,
                      let product = producerNode(of: add.inputs[1 - input], in: use.path),
                      product.opType == "MatMul" || product.opType == "Gemm", product.inputs.count >= 2 else { return false }
                return producerNode(of: product.inputs[1], in: use.path)?.opType == "DequantizeLinear"
            }
        }
        if addsOffsets(output) { return true }
        return readers(of: output, in: use.path).contains { next, input in
            input == 0 && next.opType == "MatMul" && next.outputs.first.map(addsOffsets) == true
        }
    }

    /// Operators that pass a weight through unchanged in meaning (layout or type only).
    static let passThrough: Set<String> = ["Transpose", "Reshape", "Identity", "Flatten", "Squeeze", "Unsqueeze", "Cast"]

    /// Nodes that read the weight through pass-through operators (a tied LM head reads the
    /// embedding table through a Transpose), within the use's graph.
    func indirectReaders(of use: Use, depth: Int = 4) -> [Node] {
        guard depth > 0, use.input == 0, Self.passThrough.contains(use.consumer.opType),
              let output = use.consumer.outputs.first else { return [] }
        return readers(of: output, in: use.path).flatMap { reader, input -> [Node] in
            let next = Use(path: use.path, node: 0, input: input, consumer: reader)
            return [reader] + indirectReaders(of: next, depth: depth - 1)
        }
    }
}
