/// The layers `--repair` refits: every main-graph MatMul, Gemm or 2-D Conv of the compressed model (the
/// student) whose float32 weight differs from the same layer's in the model as it was (the
/// teacher), paired by the weight's name, which compression keeps (pruning slices W in place,
/// low-rank's second factor takes W's name); and every unchanged one downstream of those, whose
/// inputs compression moved: refitting a layer to the teacher's output on the student's inputs
/// absorbs part of the error before it (on MiniLM at low-rank 75%, Lee r 0.607 → 0.616 with the
/// changed layers alone, 0.632 with the downstream ones too; float 0.633). Each is refit in a
/// stage after every refit layer it reads from, so it is fitted to inputs its repaired
/// predecessors produce.
struct RepairLayer {
    var layer: DenseLayer
    /// The teacher value the layer must reproduce: its output, after the bias when it has one.
    var target: String
    var targetWidth: Int
    /// The teacher output columns that are the student's outputs (nil: all, in order): the
    /// columns pruning kept.
    var columns: [Int]?
    /// The student's bias (Gemm's C or the vector its bias Add adds), refit with W.
    var bias: GraphIndex.Key?
    /// 1 for layers reading no other refit layer; else one more than the latest they read.
    var stage = 1
    /// False for an unchanged layer refit because its inputs moved.
    var changed = true
    /// A Conv's patches and groups (nil: a MatMul or Gemm).
    var conv: ConvPatches?
}

enum RepairLayers {
    /// The changed layers, with the reasons changed layers were left.
    /// `kept`: `PassContext.keptIndices`.
    static func find(teacher: Model, student: Model, kept: [String: [Int: [Int]]], reader: ExternalDataReader) throws
        -> (layers: [RepairLayer], skipped: [String: Int]) {
        guard let tg = teacher.graph, let sg = student.graph else { return ([], [:]) }
        let ti = GraphIndex(tg), si = GraphIndex(sg)
        let teacherLayers = candidates(ti).layers
        var byWeight: [GraphIndex.Key: DenseLayer] = [:]
        for l in teacherLayers { byWeight[l.weightKey] = l }
        var layers: [RepairLayer] = [], skipped: [String: Int] = [:]
        var unchanged: [RepairLayer] = []
        let (studentLayers, geometry) = candidates(si)
        for s in studentLayers {
            guard let t = byWeight[s.weightKey], t.path == s.path, t.isConv == s.isConv, t.transposed == s.transposed else { continue }
            let tw = try t.weightMatrix(ti, reader), sw = try s.weightMatrix(si, reader)
            let changed = tw.rows != sw.rows || tw.cols != sw.cols || tw.values != sw.values
            if s.path != .main {
                if changed { skipped["in a subgraph (repair refits main-graph layers)", default: 0] += 1 }
                continue
            }
            // The teacher's value the layer reproduces: its output, after its bias.
            let tb = bias(of: t, ti), sb = bias(of: s, si)
            let target = tb?.output ?? ti.main.nodes[t.node].outputs[0]
            guard changed else {
                if s.dataType == .float, gemmIsPlain(s, si), (tb == nil) == (sb == nil) {
                    unchanged.append(RepairLayer(layer: s, target: target, targetWidth: t.outputs, columns: nil, bias: sb?.key,
                                                 changed: false, conv: geometry[s.node]))
                }
                continue
            }
            guard s.dataType == .float else { skipped["not a float32 weight", default: 0] += 1; continue }
            guard (tb == nil) == (sb == nil), gemmIsPlain(t, ti), gemmIsPlain(s, si) else {
                skipped["a bias or Gemm scaling the teacher does not share", default: 0] += 1
                continue
            }
            var columns: [Int]?
            if sw.cols != tw.cols {
                // The outputs pruning kept, as it recorded them (stored out×in: axis 0).
                guard let recorded = kept[s.weight]?[s.transposed ? 0 : 1], recorded.count == sw.cols,
                      recorded.allSatisfy({ $0 < tw.cols }) else {
                    skipped["outputs not matched to the teacher's", default: 0] += 1
                    continue
                }
                columns = recorded
            }
            layers.append(RepairLayer(layer: s, target: target, targetWidth: t.outputs, columns: columns, bias: sb?.key,
                                      conv: geometry[s.node]))
        }
        let after = try downstream(of: Set(layers.map(\.layer.node)), sg, si)
        layers += unchanged.filter { after.contains($0.layer.node) }
        try assignStages(&layers, sg, si)
        return (layers, skipped)
    }

    /// The bias the layer's output gets: Gemm's C or Conv's B, or the 1-D vector of the one Add reading a
    /// MatMul's output; with the value after it.
    static func bias(of l: DenseLayer, _ index: GraphIndex) -> (key: GraphIndex.Key, output: String)? {
        let scope = index.main, node = scope.nodes[l.node]
        func vector(_ name: String) -> GraphIndex.Key? {
            guard let d = index.weight(name, from: .main), d.tensor.dataType == .float, d.tensor.dims == [Int64(l.outputs)] else { return nil }
            let key = GraphIndex.Key(path: d.path, name: name)
            return index.uses(of: key).count == 1 ? key : nil
        }
        if node.opType == "Gemm" || node.opType == "Conv" {
            guard node.inputs.count > 2, !node.inputs[2].isEmpty, let key = vector(node.inputs[2]) else { return nil }
            return (key, node.outputs[0])
        }
        guard let readers = scope.readers[node.outputs[0]], readers.count == 1 else { return nil }
        let add = scope.nodes[readers[0].node]
        guard add.opType == "Add", add.isDefaultDomain, add.inputs.count == 2, let key = vector(add.inputs[1 - readers[0].slot]) else { return nil }
        return (key, add.outputs[0])
    }

    /// MatMul and Gemm layers (`DenseLayers`, heads included) and every main-graph 2-D Conv
    /// with a weight of its own, with its geometry: [Cout, Cg, kh, kw] read as Cg·kh·kw inputs
    /// and Cout outputs (per group, the outputs of that group).
    static func candidates(_ index: GraphIndex) -> (layers: [DenseLayer], geometry: [Int: ConvPatches]) {
        var layers = DenseLayers.find(index, ops: ["MatMul", "Gemm"], exclude: nil, includingHeads: true).layers
        var geometry: [Int: ConvPatches] = [:]
        for (k, node) in index.main.nodes.enumerated() where node.opType == "Conv" && node.isDefaultDomain && node.inputs.count > 1 {
            guard index.weight(node.inputs[0], from: .main) == nil, let w = index.weight(node.inputs[1], from: .main),
                  DenseLayers.factorable.contains(w.tensor.dataType), let g = ConvPatches(node, weightDims: w.tensor.dims) else { continue }
            let key = GraphIndex.Key(path: w.path, name: node.inputs[1])
            guard index.uses(of: key).count == 1 else { continue }
            let dims = w.tensor.dims.map(Int.init)
            layers.append(DenseLayer(path: .main, node: k, label: node.name.isEmpty ? node.outputs[0] : node.name, input: node.inputs[0],
                                     weight: node.inputs[1], weightKey: key, dataType: w.tensor.dataType, transposed: true, isConv: true,
                                     inputs: dims[1] * dims[2] * dims[3], outputs: dims[0], spatial: 2))
            geometry[k] = g
        }
        return (layers, geometry)
    }

    /// A Gemm computes x·W + C as written (alpha and beta 1); a MatMul always does.
    static func gemmIsPlain(_ l: DenseLayer, _ index: GraphIndex) -> Bool {
        let node = index.main.nodes[l.node]
        guard node.opType == "Gemm" else { return true }
        return (node.attribute("alpha")?.f ?? 1) == 1 && (node.attribute("beta")?.f ?? 1) == 1
    }

    /// The nodes reading, directly or through other nodes, what one of `changed` computes.
    static func downstream(of changed: Set<Int>, _ graph: Graph, _ index: GraphIndex) throws -> Set<Int> {
        var moved = Set<String>(), out = Set<Int>()
        let reads = index.main.nodeReads
        for n in try GraphSchedule(graph).order {
            let reached = reads[n].contains { moved.contains($0) }
            if reached { out.insert(n) }
            if reached || changed.contains(n) { moved.formUnion(graph.nodes[n].outputs.filter { !$0.isEmpty }) }
        }
        return out
    }

    /// Stage numbers in dependency order: a value carries the latest stage of the changed
    /// layers upstream of it.
    static func assignStages(_ layers: inout [RepairLayer], _ graph: Graph, _ index: GraphIndex) throws {
        var layerAt: [Int: Int] = [:]
        for (k, l) in layers.enumerated() { layerAt[l.layer.node] = k }
        var level: [String: Int] = [:]
        let reads = index.main.nodeReads
        for n in try GraphSchedule(graph).order {
            var lvl = reads[n].reduce(0) { max($0, level[$1] ?? 0) }
            if let k = layerAt[n] {
                lvl += 1
                layers[k].stage = lvl
            }
            for o in graph.nodes[n].outputs where !o.isEmpty { level[o] = lvl }
        }
    }
}
