/// The graph form of int4 weights with float zero points (`--float-zero-points`), in standard
/// ONNX. With W = D + O, D the signed int4 codes times their scales (a blocked DequantizeLinear,
/// which onnxruntime fuses with the MatMul into its 4-bit kernel) and O each block's offset
/// repeated over the block's rows (O = B·M: B the K×blocks 0/1 block indicator, M the
/// blocks×N offsets),
///
///     X·W = X·D + (X·B)·M
///
///     X ─→ MatMul(·, DequantizeLinear(W_quantized, W_scale)) ─→ Add ─→ Y
///     X ─→ MatMul(·, B) ─→ block sums ─→ MatMul(·, W_offsets) ─┘
///
/// X·B sums each block of X's features; it is shared by every weight of that block layout that
/// reads X (a decoder layer's q/k/v and gate/up projections). The two small MatMuls cost
/// 2·K·N/block multiply-adds against the main product's K·N. Storage: one float offset per block
/// and output column, as a scale (0.5 or 1 bit per weight at block 32, narrowed with the scales).
extension QuantizedWeightWriter {
    mutating func applyOffsetTerms(_ decision: QuantizeWeightsPass.Decision, _ offsets: [Float], _ q: QuantizedTensor,
                                   scaleType: DataType, names: inout NameAllocator) {
        guard let block = decision.layout.blockSize, let axis = decision.layout.axis, q.dims.count == 2 else {
            preconditionFailure("float zero points need a blocked 2-D weight")
        }
        // MatMul's and Gemm's [K, N] blocks along axis 0; Gemm with transB keeps [N, K], blocked along 1.
        let k = q.dims[axis], n = q.dims[1 - axis], blocks = (k + block - 1) / block
        let path = decision.key.path, weightName = decision.key.name
        let m = axis == 0 ? offsets : Self.transposed(offsets, rows: n, columns: blocks)
        let mName = names.fresh("\(weightName)_offsets")
        let indicator = blockIndicator(rows: k, block: block, path: path, type: scaleType, names: &names)
        var e = edits[path] ?? GraphEdits()
        let offsetTensor = TensorValues.tensor(mName, dims: [Int64(blocks), Int64(n)], floats: m, as: scaleType)
        e.addInitializers.append(offsetTensor)
        parameterTensors.insert(mName)
        bytesAfter += offsetTensor.dataByteCount
        edits[path] = e
        for use in decision.offsetUses {
            let node = use.consumer, x = node.inputs[0], y = node.outputs[0]
            let base = node.name.isEmpty ? y : node.name
            let sums = shared("blocks|\(x)|\(k)|\(block)", at: use.path, reader: use.node) {
                Node("MatMul", inputs: [x, indicator], outputs: [names.fresh("\(x)_block_sums")],
                     name: names.fresh("\(x)/BlockSums"))
            }[0]
            var main = node
            main.outputs[0] = names.fresh("\(y)_blocks")
            let shift = names.fresh("\(y)_offsets")
            edits[use.path, default: GraphEdits()].replaceNodes[use.node] = [
                main,
                Node("MatMul", inputs: [sums, mName], outputs: [shift], name: names.fresh("\(base)/Offsets")),
                Node("Add", inputs: [main.outputs[0], shift], outputs: [y], name: names.fresh("\(base)/AddOffsets")),
            ]
        }
    }

    /// The K×blocks 0/1 matrix whose column b sums rows b·block ..< (b+1)·block, one initializer
    /// per graph, size and type.
    private mutating func blockIndicator(rows: Int, block: Int, path: GraphPath, type: DataType,
                                         names: inout NameAllocator) -> String {
        let key = "\(rows)|\(block)|\(type.rawValue)"
        if let name = blockIndicators[path]?[key] { return name }
        let blocks = (rows + block - 1) / block
        var values = [Float](repeating: 0, count: rows * blocks)
        for r in 0..<rows { values[r * blocks + r / block] = 1 }
        let name = names.fresh("block_indicator_\(rows)_\(block)")
        let tensor = TensorValues.tensor(name, dims: [Int64(rows), Int64(blocks)], floats: values, as: type)
        edits[path, default: GraphEdits()].addInitializers.append(tensor)
        bytesAfter += tensor.dataByteCount
        blockIndicators[path, default: [:]][key] = name
        parameterTensors.insert(name)
        return name
    }
}
