/// Rewrites the graphs for `QuantizeWeightsPass`: quantized initializers, DequantizeLinear nodes,
/// gathered-row lookups. Edits are collected per graph and applied at the end, deepest graphs
/// first and later nodes first, so node indices and subgraph paths stay valid while planning.
struct QuantizedWeightWriter {
    let options: QuantizeWeightsPass.Options
    let opset: Int64
    let reader: ExternalDataReader

    private(set) var bytesBefore = 0
    var bytesAfter = 0
    /// Tensors written that read as weights but hold quantization parameters (`PassContext.quantizationParameters`).
    var parameterTensors: Set<String> = []
    private(set) var lookups = 0
    var edits: [GraphPath: GraphEdits] = [:]

    init(options: QuantizeWeightsPass.Options, opset: Int64, reader: ExternalDataReader) {
        self.options = options
        self.opset = opset
        self.reader = reader
    }

    /// Edits to one graph.
    struct GraphEdits {
        var prepend: [Node] = []
        var addInitializers: [Tensor] = []
        var removeInitializers: Set<String> = []
        /// Node index → the nodes that replace it (empty: removed).
        var replaceNodes: [Int: [Node]] = [:]
        /// Node index → nodes inserted before it.
        var insertBefore: [Int: [Node]] = [:]
    }

    /// Nodes that several rewritten uses share, per graph, by key: an activation's
    /// DynamicQuantizeLinear, an activation's block sums. Each is placed before the first node that reads it.
    private var sharedNodes: [GraphPath: [String: (first: Int, node: Node)]] = [:]
    /// Block indicator matrices of float zero points' offset terms, per graph, by rows|block|type.
    var blockIndicators: [GraphPath: [String: String]] = [:]

    /// The outputs of the shared node `key` in the graph at `path`, made by `make` the first
    /// time; `reader` is the index of a node that reads them.
    mutating func shared(_ key: String, at path: GraphPath, reader: Int, make: () -> Node) -> [String] {
        var entry = sharedNodes[path]?[key] ?? (reader, make())
        entry.first = min(entry.first, reader)
        sharedNodes[path, default: [:]][key] = entry
        return entry.node.outputs
    }

    /// Reads and quantizes one weight (no graph access: runs in parallel for many weights).
    /// `preset`: GPTQ's values (on their grids) and scales, in the weight's stored layout.
    static func quantize(_ decision: QuantizeWeightsPass.Decision, options: QuantizeWeightsPass.Options,
                         reader: ExternalDataReader, preset: GPTQWeights.Preset? = nil) throws -> QuantizedTensor {
        let original = decision.definition.tensor
        var dims = original.dims.map { Int($0) }
        if preset == nil, original.dataType == .float, !decision.transposeForDynamic, let count = original.elementCount,
           let bytes = try TensorValues.rawBytes(original, reader: reader), bytes.count == count * 4 {
            // Streamed from the file in chunks: no full float copy of the weight.
            return try WeightQuantizer.quantize(FloatSource.raw(bytes, count: count), dims: dims, format: options.format,
                                                layout: decision.layout, symmetric: options.symmetric, maxCode: decision.maxCode,
                                                floatZeroPoints: decision.floatZeroPoints)
        }
        var values = try preset?.values ?? TensorValues.floats(original, reader: reader)
        if decision.transposeForDynamic {
            // Gemm with transB = 1 keeps B as [N, K]; MatMulInteger wants [K, N].
            values = transposed(values, rows: dims[0], columns: dims[1])
            dims = [dims[1], dims[0]]
        }
        return values.withUnsafeBufferPointer {
            WeightQuantizer.quantize($0, dims: dims, format: options.format, layout: decision.layout, symmetric: options.symmetric,
                                     maxCode: decision.maxCode, floatZeroPoints: decision.floatZeroPoints,
                                     presetScales: preset?.scales, presetOffsets: preset?.offsets)
        }
    }

    mutating func apply(_ decision: QuantizeWeightsPass.Decision, _ q: QuantizedTensor, to graph: inout Graph,
                        names: inout NameAllocator) throws {
        let path = decision.key.path
        let original = decision.definition.tensor
        let weightName = decision.key.name
        let dims = q.dims
        let scaleType = original.dataType == .double ? DataType.float : original.dataType
        bytesBefore += original.dataByteCount
        if options.format.isSubByte && !decision.lookupUses.isEmpty {
            applyPackedTable(decision, q, scaleType: scaleType, names: &names, graph: graph)
            return
        }
        if decision.form == .dynamic {
            applyDynamic(decision, q, names: &names, graph: graph)
            return
        }
        if decision.form == .folded && options.format.isSubByte {
            applyFoldedNibbles(decision, q, scaleType: scaleType, names: &names)
            return
        }

        let qName = names.fresh("\(weightName)_quantized")
        let sName = names.fresh("\(weightName)_scale")
        let zName = q.zeroPoints == nil ? nil : names.fresh("\(weightName)_zero_point")
        // The folded form multiplies by scales shaped to broadcast along the channel axis.
        let folded = decision.form == .folded
        let scaleDims = folded ? Self.broadcastDims(decision.layout, rank: dims.count, dims: dims) : q.scaleDims.map(Int64.init)
        // Row-scaled lookups read [rows, 1] scales; the folded whole-table form can share them
        // (its scales broadcast the same way), a DequantizeLinear needs its own 1-D copy.
        let rowForm = !decision.lookupUses.isEmpty && decision.layout.axis == 0 && decision.layout.blockSize == nil
        let lookupsShareScales = rowForm && folded && useCastForm
        let needsChannelScales = decision.needsFullDequantize || !rowForm || lookupsShareScales
        var added: [Tensor] = [TensorValues.tensor(qName, dims: original.dims, type: options.format.dataType, bytes: q.data)]
        if needsChannelScales { added.append(TensorValues.tensor(sName, dims: scaleDims, floats: q.scales, as: scaleType)) }
        if let zName, let z = q.zeroPoints, needsChannelScales {
            if folded {
                added.append(TensorValues.tensor(zName, dims: scaleDims, floats: Self.codes(z, options.format), as: scaleType))
            } else {
                added.append(TensorValues.tensor(zName, dims: scaleDims, type: options.format.dataType, bytes: z))
            }
        }

        var e = edits[path] ?? GraphEdits()
        // The float original goes; a DequantizeLinear producing the same name takes its place
        // when anything but a rewritten lookup reads it.
        var dequantize: [Node]? = nil
        if decision.needsFullDequantize && folded {
            let wide = names.fresh("\(weightName)_widened")
            var chain = [Node("Cast", inputs: [qName], outputs: [wide], name: names.fresh("\(weightName)/Cast"),
                              attributes: [.int("to", Int64(scaleType.rawValue))])]
            var codes = wide
            if let zName {
                codes = names.fresh("\(weightName)_centered")
                chain.append(Node("Sub", inputs: [wide, zName], outputs: [codes], name: names.fresh("\(weightName)/Sub")))
            }
            chain.append(Node("Mul", inputs: [codes, sName], outputs: [weightName], name: names.fresh("\(weightName)/Mul")))
            dequantize = chain
        } else if decision.needsFullDequantize {
            var dq = Node("DequantizeLinear", inputs: [qName, sName] + (zName.map { [$0] } ?? []), outputs: [weightName],
                          name: names.fresh("\(weightName)/DequantizeLinear"))
            if let axis = decision.layout.axis { dq.attributes.append(.int("axis", Int64(axis))) }
            if let block = decision.layout.blockSize { dq.attributes.append(.int("block_size", Int64(block))) }
            dequantize = [dq]
        }
        let constantIndex = decision.definition.constantNodeIndex
        if let constantIndex {
            e.replaceNodes[constantIndex] = dequantize ?? []
        } else {
            e.removeInitializers.insert(weightName)
            if let dequantize { e.prepend += dequantize }
        }
        e.addInitializers += added
        bytesAfter += added.reduce(0) { $0 + $1.dataByteCount }

        // Lookups: gather quantized rows and their scales, dequantize only those.
        if !decision.lookupUses.isEmpty {
            var lookupScale = sName, lookupZero = zName
            if rowForm && !lookupsShareScales {
                // Row scales as [rows, 1] so gathered scales broadcast over the row.
                let rows = Int64(dims[0])
                lookupScale = names.fresh("\(weightName)_row_scale")
                e.addInitializers.append(TensorValues.tensor(lookupScale, dims: [rows, 1], floats: q.scales, as: scaleType))
                bytesAfter += q.scales.count * (scaleType == .float ? 4 : 2)
                if let z = q.zeroPoints {
                    let zeroFloats = z.map { options.format == .int8 ? Float(Int8(bitPattern: $0)) : Float($0) }
                    lookupZero = names.fresh("\(weightName)_row_zero_point")
                    if useCastForm {
                        e.addInitializers.append(TensorValues.tensor(lookupZero!, dims: [rows, 1], floats: zeroFloats, as: scaleType))
                    } else {
                        e.addInitializers.append(TensorValues.tensor(lookupZero!, dims: [rows, 1], type: options.format.dataType, bytes: z))
                    }
                    bytesAfter += z.count
                }
            }
            edits[path] = e
            for use in decision.lookupUses {
                let nodes = lookupNodes(use.consumer, quantized: qName, scale: lookupScale, zero: lookupZero,
                                        layout: decision.layout, rowLength: dims[1], scaleType: scaleType, names: &names)
                edits[use.path, default: GraphEdits()].replaceNodes[use.node] = nodes
                lookups += 1
            }
        } else {
            edits[path] = e
        }
        if let offsets = q.offsets { applyOffsetTerms(decision, offsets, q, scaleType: scaleType, names: &names) }
    }

    /// Dynamic form: every use becomes an integer MatMul on activations quantized at run time,
    ///
    ///     A → DynamicQuantizeLinear → (A_q, A_scale, A_zero) ─┐
    ///     W_quantized ([K, N], per-column scale) ──────────── MatMulInteger → Cast → Mul(A_scale · W_scale) → Y
    ///
    /// the pattern onnxruntime fuses into its DynamicQuantizeMatMul kernel. The float weight goes.
    private mutating func applyDynamic(_ decision: QuantizeWeightsPass.Decision, _ q: QuantizedTensor,
                                       names: inout NameAllocator, graph: Graph) {
        let weightName = decision.key.name
        let qName = names.fresh("\(weightName)_quantized"), sName = names.fresh("\(weightName)_scale")
        let zName = q.zeroPoints == nil ? nil : names.fresh("\(weightName)_zero_point")
        var e = edits[decision.key.path] ?? GraphEdits()
        e.addInitializers.append(TensorValues.tensor(qName, dims: q.dims.map(Int64.init), type: options.format.dataType, bytes: q.data))
        e.addInitializers.append(TensorValues.tensor(sName, dims: q.scaleDims.map(Int64.init), floats: q.scales))
        if let zName, let z = q.zeroPoints {
            e.addInitializers.append(TensorValues.tensor(zName, dims: q.scaleDims.map(Int64.init), type: options.format.dataType, bytes: z))
        }
        bytesAfter += e.addInitializers.suffix(zName == nil ? 2 : 3).reduce(0) { $0 + $1.dataByteCount }
        if let k = decision.definition.constantNodeIndex {
            e.replaceNodes[k] = []
        } else {
            e.removeInitializers.insert(weightName)
        }
        edits[decision.key.path] = e

        for use in decision.dynamicUses {
            let n = use.consumer
            let activation = n.inputs[0]
            let base = n.name.isEmpty ? n.outputs[0] : n.name
            let outputs = shared("dynamic|\(activation)", at: use.path, reader: use.node) {
                Node("DynamicQuantizeLinear", inputs: [activation],
                     outputs: [names.fresh("\(activation)_quantized"), names.fresh("\(activation)_scale"),
                               names.fresh("\(activation)_zero_point")],
                     name: names.fresh("\(activation)/DynamicQuantizeLinear"))
            }
            let (aq, ascale, azero) = (outputs[0], outputs[1], outputs[2])
            let integer = names.fresh("\(n.outputs[0])_int32"), wide = names.fresh("\(n.outputs[0])_float")
            let scale = names.fresh("\(n.outputs[0])_scale")
            let hasBias = n.opType == GemmOp.opType && n.inputs.count > 2 && !n.inputs[2].isEmpty
            let product = hasBias ? names.fresh("\(n.outputs[0])_product") : n.outputs[0]
            var nodes = [
                Node("MatMulInteger", inputs: [aq, qName, azero] + (zName.map { [$0] } ?? []), outputs: [integer],
                     name: names.fresh("\(base)/MatMulInteger")),
                Node("Cast", inputs: [integer], outputs: [wide], name: names.fresh("\(base)/Cast"),
                     attributes: [.int("to", Int64(DataType.float.rawValue))]),
                Node("Mul", inputs: [ascale, sName], outputs: [scale], name: names.fresh("\(base)/scales")),
                Node("Mul", inputs: [wide, scale], outputs: [product], name: names.fresh("\(base)/Mul")),
            ]
            if hasBias {
                nodes.append(Node("Add", inputs: [product, n.inputs[2]], outputs: [n.outputs[0]], name: names.fresh("\(base)/Add")))
            }
            edits[use.path, default: GraphEdits()].replaceNodes[use.node] = nodes
        }
    }

    static func transposed(_ values: [Float], rows: Int, columns: Int) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        for r in 0..<rows { for c in 0..<columns { out[c * rows + r] = values[r * columns + c] } }
        return out
    }

    /// Folded 4-bit weights (Conv): packed bytes widened by constant ops that runtimes fold at
    /// load (onnxruntime cannot Cast from int4, and runs a DequantizeLinear before a Conv on every
    /// inference):
    ///
    ///     W_quantized_bytes → unpack nibbles (NibbleUnpacking) → Cast → [view as blocks]
    ///       → Sub(zero point) → Mul(scale) → [reshape back] → W
    private mutating func applyFoldedNibbles(_ decision: QuantizeWeightsPass.Decision, _ q: QuantizedTensor,
                                             scaleType: DataType, names: inout NameAllocator) {
        let path = decision.key.path, weightName = decision.key.name, dims = q.dims
        let signed = options.format == .int4
        let blocked = decision.layout.blockSize != nil
        let scaleDims = Self.broadcastDims(decision.layout, rank: dims.count, dims: dims)
        let bytesName = names.fresh("\(weightName)_quantized_bytes"), sName = names.fresh("\(weightName)_scale")
        let zName = names.fresh("\(weightName)_zero_point"), shape = names.fresh("\(weightName)_shape")
        let zeros = NibbleUnpacking.offsetBinaryZeroPoints(q.zeroPoints, groups: q.scales.count, signed: signed)
        var e = edits[path] ?? GraphEdits()
        let added = [
            TensorValues.tensor(bytesName, dims: [Int64(q.data.count)], type: .uint8,
                                bytes: NibbleUnpacking.offsetBinaryBytes(q.data, signed: signed)),
            TensorValues.tensor(sName, dims: scaleDims, floats: q.scales, as: scaleType),
            // One zero point when all agree (symmetric), else one per group.
            Set(zeros).count == 1
                ? TensorValues.tensor(zName, dims: [], floats: [Float(zeros[0])], as: scaleType)
                : TensorValues.tensor(zName, dims: scaleDims, floats: zeros.map(Float.init), as: scaleType),
            TensorValues.tensor(shape, dims: [Int64(dims.count)], int64s: dims.map(Int64.init)),
        ]
        e.addInitializers += added
        bytesAfter += added.reduce(0) { $0 + $1.dataByteCount }

        let constants = nibbleConstants(at: path, &e, &names)
        let codes = names.fresh("\(weightName)_codes"), wide = names.fresh("\(weightName)_widened")
        var chain = NibbleUnpacking.unpack(bytes: bytesName, into: codes, shape: shape, base: weightName, constants, names: &names)
        chain.append(Node("Cast", inputs: [codes], outputs: [wide], name: names.fresh("\(weightName)/Cast"),
                          attributes: [.int("to", Int64(scaleType.rawValue))]))
        var current = wide
        if blocked {
            let view = names.fresh("\(weightName)_blocks_shape"), blocks = names.fresh("\(weightName)_blocks")
            e.addInitializers.append(TensorValues.tensor(view, dims: [4], int64s: Self.blockedView(decision.layout, dims: dims)))
            chain.append(Node("Reshape", inputs: [wide, view], outputs: [blocks], name: names.fresh("\(weightName)/blocks")))
            current = blocks
        }
        let centered = names.fresh("\(weightName)_centered")
        chain.append(Node("Sub", inputs: [current, zName], outputs: [centered], name: names.fresh("\(weightName)/Sub")))
        let scaled = blocked || q.offsets != nil ? names.fresh("\(weightName)_scaled") : weightName
        chain.append(Node("Mul", inputs: [centered, sName], outputs: [scaled], name: names.fresh("\(weightName)/Mul")))
        var weighted = scaled
        if let offsets = q.offsets {
            // Float zero points: each group's offset added in the same constant chain.
            let oName = names.fresh("\(weightName)_offsets")
            let offsetTensor = TensorValues.tensor(oName, dims: scaleDims, floats: offsets, as: scaleType)
            e.addInitializers.append(offsetTensor)
            bytesAfter += offsetTensor.dataByteCount
            parameterTensors.insert(oName)
            weighted = blocked ? names.fresh("\(weightName)_shifted") : weightName
            chain.append(Node("Add", inputs: [scaled, oName], outputs: [weighted], name: names.fresh("\(weightName)/AddOffsets")))
        }
        if blocked {
            chain.append(Node("Reshape", inputs: [weighted, shape], outputs: [weightName], name: names.fresh("\(weightName)/Reshape")))
        }
        if let k = decision.definition.constantNodeIndex {
            e.replaceNodes[k] = chain
        } else {
            e.removeInitializers.insert(weightName)
            e.prepend += chain
        }
        edits[path] = e
    }

    /// The weight viewed as [outer, blocks, block, inner] for blocked folding.
    static func blockedView(_ layout: QuantLayout, dims: [Int]) -> [Int64] {
        let axis = layout.axis!, block = layout.blockSize!
        let outer = dims[..<axis].reduce(1, *), inner = dims[(axis + 1)...].reduce(1, *)
        return [outer, dims[axis] / block, block, inner].map(Int64.init)
    }

    /// Scale dims that broadcast against the weight: [C, 1, …] along the channel axis, or
    /// [outer, blocks, 1, inner] against the blocked view.
    static func broadcastDims(_ layout: QuantLayout, rank: Int, dims: [Int]) -> [Int64] {
        if layout.blockSize != nil {
            var view = blockedView(layout, dims: dims)
            view[2] = 1
            return view
        }
        guard let axis = layout.axis else { return [] }
        return [Int64(dims[axis])] + [Int64](repeating: 1, count: rank - 1 - axis)
    }

    /// Integer codes of packed 8-bit zero points as floats.
    static func codes(_ bytes: [UInt8], _ format: QuantFormat) -> [Float] {
        bytes.map { format == .int8 ? Float(Int8(bitPattern: $0)) : Float($0) }
    }

    /// A 4-bit embedding table read by lookups: stored as bytes, unpacked after gathering
    /// (see `NibbleUnpacking`). Other consumers get the whole table unpacked and dequantized.
    private mutating func applyPackedTable(_ decision: QuantizeWeightsPass.Decision, _ q: QuantizedTensor,
                                           scaleType: DataType, names: inout NameAllocator, graph: Graph) {
        let path = decision.key.path
        let weightName = decision.key.name
        // A per-row layout is one block per row.
        let rows = q.dims[0], width = q.dims[1], block = decision.layout.blockSize ?? width
        let scaleDims: [Int64] = [Int64(rows), Int64(q.scales.count / rows)]
        let signed = options.format == .int4
        let tableName = names.fresh("\(weightName)_quantized_bytes")
        let scaleName = names.fresh("\(weightName)_scale")
        let zeroName = names.fresh("\(weightName)_zero_point")
        let groups = q.scales.count
        let added = [
            TensorValues.tensor(tableName, dims: [Int64(rows), Int64(width / 2)], type: .uint8,
                                bytes: NibbleUnpacking.offsetBinaryBytes(q.data, signed: signed)),
            TensorValues.tensor(scaleName, dims: scaleDims, floats: q.scales, as: scaleType),
            TensorValues.tensor(zeroName, dims: scaleDims, type: .uint8,
                                bytes: NibbleUnpacking.offsetBinaryZeroPoints(q.zeroPoints, groups: groups, signed: signed)),
        ]
        bytesAfter += added.reduce(0) { $0 + $1.dataByteCount }
        var e = edits[path] ?? GraphEdits()
        e.addInitializers += added
        let constantIndex = decision.definition.constantNodeIndex
        var full: [Node] = []
        if decision.needsFullDequantize {
            let constants = nibbleConstants(at: path, &e, &names)
            let shape = names.fresh("\(weightName)_shape")
            e.addInitializers.append(TensorValues.tensor(shape, dims: [2], int64s: [Int64(rows), Int64(width)]))
            let codes = names.fresh("\(weightName)_codes")
            full = NibbleUnpacking.unpack(bytes: tableName, into: codes, shape: shape, base: weightName, constants, names: &names)
            full.append(Node("DequantizeLinear", inputs: [codes, scaleName, zeroName], outputs: [weightName],
                             name: names.fresh("\(weightName)/DequantizeLinear"),
                             attributes: [.int("axis", 1), .int("block_size", Int64(block))]))
        }
        if let constantIndex {
            e.replaceNodes[constantIndex] = full
        } else {
            e.removeInitializers.insert(weightName)
            e.prepend += full
        }
        edits[path] = e
        for use in decision.lookupUses {
            var ue = edits[use.path] ?? GraphEdits()
            let constants = nibbleConstants(at: use.path, &ue, &names)
            let ids = use.consumer.inputs[1], output = use.consumer.outputs[0]
            let base = use.consumer.name.isEmpty ? output : use.consumer.name
            let rowBytes = names.fresh("\(output)_quantized_rows"), idsShape = names.fresh("\(output)_ids_shape")
            let width64 = names.fresh("\(output)_row_width"), shape = names.fresh("\(output)_codes_shape")
            let codes = names.fresh("\(output)_codes")
            let rowScales = names.fresh("\(output)_row_scales"), rowZeros = names.fresh("\(output)_row_zero_points")
            ue.addInitializers.append(TensorValues.tensor(width64, dims: [1], int64s: [Int64(width)]))
            var nodes = [
                Node("Gather", inputs: [tableName, ids], outputs: [rowBytes], name: names.fresh("\(base)/quantized"), attributes: [.int("axis", 0)]),
                Node("Shape", inputs: [ids], outputs: [idsShape], name: names.fresh("\(base)/ids_shape")),
                Node("Concat", inputs: [idsShape, width64], outputs: [shape], name: names.fresh("\(base)/codes_shape"), attributes: [.int("axis", 0)]),
            ]
            nodes += NibbleUnpacking.unpack(bytes: rowBytes, into: codes, shape: shape, base: base, constants, names: &names)
            nodes += [
                Node("Gather", inputs: [scaleName, ids], outputs: [rowScales], name: names.fresh("\(base)/scales"), attributes: [.int("axis", 0)]),
                Node("Gather", inputs: [zeroName, ids], outputs: [rowZeros], name: names.fresh("\(base)/zero_points"), attributes: [.int("axis", 0)]),
                Node("DequantizeLinear", inputs: [codes, rowScales, rowZeros], outputs: [output], name: names.fresh("\(base)/DequantizeLinear"),
                     attributes: [.int("axis", -1), .int("block_size", Int64(block))]),
            ]
            ue.replaceNodes[use.node] = nodes
            edits[use.path] = ue
            lookups += 1
        }
    }

    /// The unpacking constants of one graph, created on first use.
    private var nibbleConstantsByGraph: [GraphPath: NibbleUnpacking.Constants] = [:]
    private mutating func nibbleConstants(at path: GraphPath, _ e: inout GraphEdits, _ names: inout NameAllocator) -> NibbleUnpacking.Constants {
        if let c = nibbleConstantsByGraph[path] { return c }
        let (c, tensors) = NibbleUnpacking.constants(&names)
        e.addInitializers += tensors
        nibbleConstantsByGraph[path] = c
        return c
    }

    /// Row-scaled 8-bit lookups below opset 21 dequantize with Cast and Mul (DequantizeLinear
    /// takes a per-row block only from opset 21).
    private var useCastForm: Bool { opset < 21 && !options.format.isSubByte }

    private func lookupNodes(_ gather: Node, quantized: String, scale: String, zero: String?, layout: QuantLayout,
                             rowLength: Int, scaleType: DataType, names: inout NameAllocator) -> [Node] {
        let ids = gather.inputs[1]
        let output = gather.outputs[0]
        let base = gather.name.isEmpty ? output : gather.name
        let rows = names.fresh("\(output)_quantized_rows")
        var nodes = [Node("Gather", inputs: [quantized, ids], outputs: [rows], name: names.fresh("\(base)/quantized"),
                          attributes: [.int("axis", 0)])]
        var scaleInput = scale, zeroInput = zero
        if layout.axis != nil {
            scaleInput = names.fresh("\(output)_row_scales")
            nodes.append(Node("Gather", inputs: [scale, ids], outputs: [scaleInput], name: names.fresh("\(base)/scales"),
                              attributes: [.int("axis", 0)]))
            if let zero {
                zeroInput = names.fresh("\(output)_row_zero_points")
                nodes.append(Node("Gather", inputs: [zero, ids], outputs: [zeroInput!], name: names.fresh("\(base)/zero_points"),
                                  attributes: [.int("axis", 0)]))
            }
        }
        if layout.axis == 0 && layout.blockSize == nil && useCastForm {
            var cast = Node("Cast", inputs: [rows], outputs: [names.fresh("\(output)_rows_float")], name: names.fresh("\(base)/Cast"),
                            attributes: [.int("to", Int64(scaleType.rawValue))])
            nodes.append(cast)
            if let zeroInput {
                let centered = Node("Sub", inputs: [cast.outputs[0], zeroInput], outputs: [names.fresh("\(output)_rows_centered")],
                                    name: names.fresh("\(base)/Sub"))
                nodes.append(centered)
                cast = centered
            }
            nodes.append(Node("Mul", inputs: [cast.outputs[0], scaleInput], outputs: [output], name: names.fresh("\(base)/Mul")))
            return nodes
        }
        var dq = Node("DequantizeLinear", inputs: [rows, scaleInput] + (zeroInput.map { [$0] } ?? []), outputs: [output],
                      name: names.fresh("\(base)/DequantizeLinear"))
        if layout.axis != nil {
            dq.attributes = [.int("axis", -1), .int("block_size", Int64(layout.blockSize ?? rowLength))]
        }
        nodes.append(dq)
        return nodes
    }

    /// Applies every collected edit.
    mutating func commit(into graph: inout Graph) {
        for (path, nodes) in sharedNodes {
            // (Sorted by key: the same model gives the same file.)
            for (_, entry) in nodes.sorted(by: { $0.key < $1.key }) {
                edits[path, default: GraphEdits()].insertBefore[entry.first, default: []].append(entry.node)
            }
        }
        sharedNodes = [:]
        for (path, e) in edits.sorted(by: { $0.key.depth > $1.key.depth }) {
            graph.withGraph(at: path) { g in
                for index in Set(e.replaceNodes.keys).union(e.insertBefore.keys).sorted(by: >) {
                    let replacement = e.replaceNodes[index] ?? [g.nodes[index]]
                    g.nodes.replaceSubrange(index...index, with: (e.insertBefore[index] ?? []) + replacement)
                }
                g.initializers.removeAll { e.removeInitializers.contains($0.name) }
                // A weight also listed as a graph input (IR 3 style) is no longer an initializer.
                g.inputs.removeAll { e.removeInitializers.contains($0.name) }
                g.initializers += e.addInitializers
                g.nodes.insert(contentsOf: e.prepend, at: 0)
            }
        }
        edits = [:]
    }
}
