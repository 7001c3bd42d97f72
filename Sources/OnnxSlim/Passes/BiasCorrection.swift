/// After GPTQ, the mean output shift the rounding leaves moves into the layer's bias (bias
/// correction, as in Nagel et al.'s data-free quantization, here with the calibration mean):
///
///     E[y − ŷ] = E[x]·(W − Ŵ) = Δb,   b ← b + Δb
///
/// so the quantized layer's outputs keep the float layer's mean. It costs nothing at run time
/// and can only lower the layer's output error on the calibration inputs:
/// E‖x(W − Ŵ) − Δb‖² = tr(ΔᵀHΔ) − ‖Δb‖². A CNN's convs, followed by ReLUs that turn a shifted
/// mean into lost activations, gain most.
///
/// The bias: a Conv's or Gemm's third input (a Conv without one gets one), or the constant
/// vector of the Add after a MatMul (through the offset term of float zero points); a bias other
/// nodes also read, a Gemm without C and a MatMul without a bias Add are left as they are.
enum BiasCorrection {
    /// Applies the shifts (weight name → Δb per output) to the main graph; returns how many layers took theirs.
    static func apply(_ shifts: [String: [Float]], to graph: inout Graph, parameters: Set<String>,
                      reader: ExternalDataReader, names: inout NameAllocator) throws -> Int {
        let index = GraphIndex(graph, weights: false)
        var initializer: [String: Int] = [:]
        for (k, t) in graph.initializers.enumerated() { initializer[t.name] = k }

        /// Adds Δb to the float32 initializer `name` of shift.count values read once.
        func addToBias(_ name: String, _ shift: [Float]) throws -> Bool {
            guard index.readers(of: name, in: .main).count == 1, let k = initializer[name], graph.initializers[k].dataType == .float,
                  graph.initializers[k].elementCount == shift.count else { return false }
            var values = try TensorValues.floats(graph.initializers[k], reader: reader)
            for o in 0..<shift.count { values[o] += shift[o] }
            let t = graph.initializers[k]
            graph.initializers[k] = TensorValues.tensor(name, dims: t.dims, floats: values, as: .float)
            return true
        }

        var corrected = 0
        for (weight, shift) in shifts.sorted(by: { $0.key < $1.key }) {
            guard shift.contains(where: { $0 != 0 }),
                  let k = graph.nodes.firstIndex(where: { $0.inputs.count > 1 && $0.inputs[1] == weight && $0.isDefaultDomain }) else { continue }
            let node = graph.nodes[k]
            switch node.opType {
            case "Conv":
                if node.inputs.count > 2 && !node.inputs[2].isEmpty {
                    if try addToBias(node.inputs[2], shift) { corrected += 1 }
                } else {
                    let name = names.fresh("\(weight)_bias")
                    graph.initializers.append(TensorValues.tensor(name, dims: [Int64(shift.count)], floats: shift, as: .float))
                    graph.nodes[k].inputs = Array(node.inputs.prefix(2)) + [name]
                    corrected += 1
                }
            case "Gemm":
                if node.inputs.count > 2, !node.inputs[2].isEmpty, (node.attribute("beta")?.f ?? 1) == 1,
                   try addToBias(node.inputs[2], shift) { corrected += 1 }
            case "MatMul":
                // The single Add after it (after the offsets' Add, for float zero points).
                var value = node.outputs[0]
                for _ in 0..<2 {
                    let readers = index.readers(of: value, in: .main)
                    guard readers.count == 1, let (add, input) = readers.first, add.opType == "Add", add.inputs.count == 2 else { break }
                    let other = add.inputs[1 - input]
                    if initializer[other] != nil {
                        if try addToBias(other, shift) { corrected += 1 }
                        break
                    }
                    // Through the offset term: its other operand is a MatMul of the offsets.
                    guard let term = index.producerNode(of: other, in: .main), term.opType == "MatMul", term.inputs.count > 1,
                          parameters.contains(term.inputs[1]) else { break }
                    value = add.outputs[0]
                }
            default:
                continue
            }
        }
        return corrected
    }
}
