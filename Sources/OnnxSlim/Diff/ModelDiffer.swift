/// `onnx-slim diff A B`: signature (IR version, opsets, inputs, outputs), then the main graph and
/// its subgraphs through GraphDiffer. Reads the graph only; weight values only with `weights`.
public enum ModelDiffer {
    public struct Options: Sendable {
        /// Read weight values and compare them (max abs difference, relative L2).
        public var weights = false
        public init() {}
    }

    public static func diff(_ la: LoadedModel, _ lb: LoadedModel, options: Options = Options()) throws -> ModelDiff {
        let sa = ModelSummary(la), sb = ModelSummary(lb)
        func side(_ s: ModelSummary, _ l: LoadedModel) -> ModelDiff.Side {
            ModelDiff.Side(path: l.path, fileSize: s.fileSize, nodes: s.nodes + s.subgraphNodes, parameters: s.parameters,
                           weightBytes: s.weightBytes, opsets: s.opsets)
        }
        var result = ModelDiff(a: side(sa, la), b: side(sb, lb))
        result.weightsRead = options.weights
        let ma = la.model, mb = lb.model
        var changes: [ModelDiff.Change] = []

        if ma.irVersion != mb.irVersion {
            changes.append(.init(.irVersion, "IR version \(ma.irVersion) → \(mb.irVersion)",
                                 fields: [("version_a", .int(Int(ma.irVersion))), ("version_b", .int(Int(mb.irVersion)))]))
        }
        var va: [String: Int64] = [:], vb: [String: Int64] = [:]
        for o in ma.opsetImports { va[o.domain.isEmpty ? "ai.onnx" : o.domain] = o.version }
        for o in mb.opsetImports { vb[o.domain.isEmpty ? "ai.onnx" : o.domain] = o.version }
        for d in Set(va.keys).union(vb.keys).sorted() where va[d] != vb[d] {
            let x = va[d].map(String.init) ?? "none", y = vb[d].map(String.init) ?? "none"
            changes.append(.init(.opset, a: [d], b: [d], "\(d) \(x) → \(y)",
                                 fields: [("domain", .string(d)), ("version_a", va[d].map { .int(Int($0)) } ?? .null), ("version_b", vb[d].map { .int(Int($0)) } ?? .null)]))
        }

        let ga = DiffGraph(ma.graph ?? Graph()), gb = DiffGraph(mb.graph ?? Graph())
        let differ = GraphDiffer(ga, gb, reader: options.weights ? ExternalDataReader() : nil)
        // What pruning would remove together in A (the same walk the pruning pass uses).
        if ma.graph != nil { differ.channelGroups = try? ChannelGroups(ma, reader: ExternalDataReader()).groups }
        let m = differ.m

        // Inputs: as matched (by name, else position).
        for (x, v) in ga.vertices.enumerated() where v.kind == .input {
            let ta = ModelSummary.describe(ga.graph.inputs[v.index].type)
            guard let y = m.partner(ofA: x) else {
                var c = ModelDiff.Change(.inputRemoved, a: [v.name], "\(v.name): \(ta)"); c.aVertices = [x]; changes.append(c); continue
            }
            let w = gb.vertices[y]
            let tb = ModelSummary.describe(gb.graph.inputs[w.index].type)
            if w.name != v.name { result.renamedIO.append(("input", v.name, w.name)) }
            if ta != tb {
                var c = ModelDiff.Change(.inputChanged, a: [v.name], b: [w.name], "\(v.name): \(ta) → \(tb)", fields: [("type_a", .string(ta)), ("type_b", .string(tb))])
                c.aVertices = [x]; c.bVertices = [y]; changes.append(c)
            }
        }
        for (y, w) in gb.vertices.enumerated() where w.kind == .input && m.partner(ofB: y) == nil {
            var c = ModelDiff.Change(.inputAdded, b: [w.name], "\(w.name): \(ModelSummary.describe(gb.graph.inputs[w.index].type))")
            c.bVertices = [y]; changes.append(c)
        }
        // Outputs: by name, else by position.
        let oa = ga.graph.outputs, ob = gb.graph.outputs
        var pairedB = Set<Int>()
        var pairs: [(Int, Int)] = []
        var bIndex: [String: Int] = [:]
        for (k, o) in ob.enumerated() { bIndex[o.name] = k }
        var leftA: [Int] = []
        for (k, o) in oa.enumerated() {
            if let j = bIndex[o.name], !pairedB.contains(j) { pairs.append((k, j)); pairedB.insert(j) } else { leftA.append(k) }
        }
        for k in leftA {
            if k < ob.count, !pairedB.contains(k) { pairs.append((k, k)); pairedB.insert(k) }
            else { changes.append(.init(.outputRemoved, a: [oa[k].name], "\(oa[k].name): \(ModelSummary.describe(oa[k].type))")) }
        }
        for (k, o) in ob.enumerated() where !pairedB.contains(k) {
            changes.append(.init(.outputAdded, b: [o.name], "\(o.name): \(ModelSummary.describe(o.type))"))
        }
        for (k, j) in pairs.sorted(by: { $0.0 < $1.0 }) {
            let ta = ModelSummary.describe(oa[k].type), tb = ModelSummary.describe(ob[j].type)
            if oa[k].name != ob[j].name { result.renamedIO.append(("output", oa[k].name, ob[j].name)) }
            if ta != tb {
                changes.append(.init(.outputChanged, a: [oa[k].name], b: [ob[j].name], "\(oa[k].name): \(ta) → \(tb)", fields: [("type_a", .string(ta)), ("type_b", .string(tb))]))
            }
        }

        changes += try differ.run()
        result.changes = changes
        result.matchedNodes = ga.vertices.indices.filter { ga.vertices[$0].kind == .node && m.aToB[$0] >= 0 }.count
        result.graphA = ga
        result.graphB = gb
        result.matcher = m
        return result
    }
}
