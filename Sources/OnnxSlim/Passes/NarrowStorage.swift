/// Stores float32 tensors — initializers and Constant values, in every graph — in a narrower
/// float type behind a Cast back to float32, which runtimes fold once at load:
///
///     W (float32)  →  W_float16 (float16) → Cast(to float32) → W
///
/// The passes that use it (`BFloat16StoragePass`, `HalfStoragePass`) only decide which tensors
/// qualify.
enum NarrowStorage {
    struct Totals {
        var tensors = 0
        var bytesBefore = 0
        var bytesAfter = 0
    }

    /// Rewrites every tensor for which `narrow(tensor, valueName, graphInputNames)` returns a
    /// narrowed copy (the names of the graph's inputs: IR-3 weights are declared there too).
    static func rewrite(_ graph: inout Graph, to type: DataType, names: inout NameAllocator,
                        narrow: (Tensor, String, Set<String>) throws -> Tensor?) throws -> Totals {
        var totals = Totals()
        func widen(_ stored: String, into name: String) -> Node {
            Node("Cast", inputs: [stored], outputs: [name], name: names.fresh("\(name)/Cast"),
                 attributes: [.int("to", Int64(DataType.float.rawValue))])
        }
        try graph.mutateEachGraph { g in
            var casts: [Node] = []
            var narrowed = Set<String>()
            let inputs = Set(g.inputs.map(\.name))
            for k in g.initializers.indices {
                let t = g.initializers[k]
                guard var small = try narrow(t, t.name, inputs) else { continue }
                small.name = names.fresh("\(t.name)_\(type)")
                casts.append(widen(small.name, into: t.name))
                totals.tensors += 1
                totals.bytesBefore += t.dataByteCount
                totals.bytesAfter += small.dataByteCount
                narrowed.insert(t.name)
                g.initializers[k] = small
            }
            g.inputs.removeAll { narrowed.contains($0.name) }   // weights declared as inputs (IR 3)
            var nodes: [Node] = []
            nodes.reserveCapacity(g.nodes.count)
            for var n in g.nodes {
                guard n.isConstant, let t = n.attribute("value")?.t, let output = n.outputs.first,
                      let small = try narrow(t, output, inputs) else {
                    nodes.append(n)
                    continue
                }
                let stored = names.fresh("\(output)_\(type)")
                n.attributes = [.tensor("value", small)]
                n.outputs = [stored]
                nodes.append(n)
                nodes.append(widen(stored, into: output))
                totals.tensors += 1
                totals.bytesBefore += t.dataByteCount
                totals.bytesAfter += small.dataByteCount
            }
            g.nodes = casts + nodes
        }
        return totals
    }
}
