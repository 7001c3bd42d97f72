/// Everything that must shrink together when units (neurons, heads, channels) of one layer's
/// output go: found by following the units through the graph with the operators' axis rules
/// (`AxisRule`), DepGraph-style, forwards to every reader and backwards to every producer,
/// until each path ends in a reduction (the next layer's input side) or in a weight.
///
///     W1 [384, 1536] ─ MatMul ─ Add(b1) ─ Gelu ─ MatMul ─ W2 [1536, 384]
///       axis 1          axis 2   b1 axis 0        axis 2    axis 0  (the reduction: the walk ends)
///
/// A group the rules cannot follow to the end (a graph output, Softmax over the axis, a Reshape
/// target known only at run time) is not a group: `ChannelGroups` reports why.
public struct ChannelGroup {
    public enum Kind: String, Sendable { case neurons, heads, channels }

    /// A weight sliced along one axis.
    public struct Slice {
        public var weight: String
        public var axis: Int
        public var units: AxisUnits
    }

    /// A length written in a node (a Reshape target element, a depthwise Conv's group) that
    /// becomes the kept index count of `units`.
    public struct Length {
        public var node: Int
        public var edit: LengthEdit
        public var units: AxisUnits
    }

    /// A layer reading the units on its input (reduction) side: where importance is measured
    /// (its activation input) and where removed units are compensated (its bias).
    public struct Reduction {
        public var node: Int
        public var activation: String
        public var activationAxis: Int
        public var units: AxisUnits
        public var weight: String
        public var weightAxis: Int
    }

    public var kind: Kind
    /// The node whose weight the walk started from, and its name for the report.
    public var origin: Int
    public var label: String
    public var unitCount: Int
    /// Indices per unit on the origin weight's output axis (1 for neurons, head_dim for heads).
    public var unitSize: Int
    public var slices: [Slice] = []
    public var lengths: [Length] = []
    public var reductions: [Reduction] = []
    /// Activations the units run through (value name → axis and units), for importance.
    public var activations: [String: AxisUnits] = [:]
}

/// The walk that finds one group (see `ChannelGroup`).
struct ChannelWalk {
    let index: GraphIndex.Scope
    let weights: [String: Tensor]
    let values: [String: InferredValue]
    let opset: Int
    /// The cap on rule applications per walk (a group is local; this only stops runaways).
    static let limit = 20_000

    enum Failure: Error { case opaque(String) }

    /// Follows `units` from weight input `input` of node `node`, on weight axis `axis`.
    func group(from node: Int, input: Int, axis: Int, units: AxisUnits) -> Result<ChannelGroup, Failure> {
        var group = ChannelGroup(kind: .neurons, origin: node, label: index.nodes[node].name,
                                 unitCount: units.units.count, unitSize: units.units.first?.count ?? 1)
        var seenValues: [String: AxisUnits] = [:]   // by "name@axis"
        var seenNames = Set<String>()
        var seenPorts = Set<String>()
        var queue: [(node: Int, port: NodePort, units: AxisUnits)] = []
        var steps = 0
        func failure(_ reason: String, at n: Int) -> Result<ChannelGroup, Failure> {
            let node = index.nodes[n]
            return .failure(.opaque("\(node.opType) '\(node.name)': \(reason)"))
        }

        /// Reaching a value: a weight is sliced; an activation is followed to its producer and readers.
        func reach(_ name: String, _ u: AxisUnits) -> String? {
            // One value may carry the units on two axes (a square conv between two convs of a
            // residual block shrinks on both); on one axis they must agree.
            let key = "\(name)@\(u.axis)"
            if let seen = seenValues[key] {
                return seen == u ? nil : "'\(name)' is reached with two different unit layouts"
            }
            let seenBefore = !seenNames.insert(name).inserted
            seenValues[key] = u
            if weights[name] != nil {
                group.slices.append(ChannelGroup.Slice(weight: name, axis: u.axis, units: u))
            } else if seenBefore {
                return "'\(name)' carries the units on two axes"
            } else {
                if index.graphInputs.contains(name) { return "the units reach graph input '\(name)'" }
                if index.graphOutputs.contains(name) { return "the units reach graph output '\(name)'" }
                if index.subgraphReaders[name] != nil { return "'\(name)' is read inside a subgraph" }
                group.activations[name] = u
                if let p = index.producers[name] { queue.append((p.node, .output(p.slot), u)) }
            }
            for r in index.readers[name] ?? [] { queue.append((r.node, .input(r.slot), u)) }
            return nil
        }

        seenValues["\(index.nodes[node].inputs[input])@\(axis)"] = units
        seenNames.insert(index.nodes[node].inputs[input])
        let origin = index.nodes[node].inputs[input]
        group.slices.append(ChannelGroup.Slice(weight: origin, axis: axis, units: units))
        for r in index.readers[origin] ?? [] { queue.append((r.node, .input(r.slot), units)) }
        var head = 0
        while head < queue.count {
            let (n, port, u) = queue[head]
            head += 1
            guard seenPorts.insert("\(n)|\(port)").inserted else { continue }
            steps += 1
            if steps > Self.limit { return failure("the group grows past \(Self.limit) steps", at: n) }
            let node = index.nodes[n]
            guard let rule = AxisRuleRegistry.rule(for: node) else {
                return failure("no axis rule for \(node.isDefaultDomain ? "" : node.domain + ".")\(node.opType)", at: n)
            }
            // Periodic units (a head axis merged with a symbolic one) only travel through layout.
            if u.period != nil && !["Reshape", "Transpose", "Identity", "Cast"].contains(node.opType) {
                return failure("a head axis merged with a symbolic dim reaches \(node.opType)", at: n)
            }
            let call = axisCall(node)
            switch rule(call, port, u) {
            case .opaque(let reason): return failure(reason, at: n)
            case .tied(let links, let edits):
                for e in edits {
                    let tracked = e.tracks == port ? u : links.first { $0.port == e.tracks }?.units
                    guard let tracked else { return failure("a length follows an axis the units do not reach", at: n) }
                    group.lengths.append(ChannelGroup.Length(node: n, edit: e, units: tracked))
                }
                if case .input(let i) = port, let reduction = reduction(n, input: i, units: u, links: links) {
                    group.reductions.append(reduction)
                }
                for link in links {
                    seenPorts.insert("\(n)|\(link.port)")
                    let name: String
                    switch link.port {
                    case .input(let k): name = node.inputs[k]
                    case .output(let k): name = node.outputs[k]
                    }
                    guard !name.isEmpty else { continue }
                    if let problem = reach(name, link.units) { return failure(problem, at: n) }
                }
            }
        }
        return .success(group)
    }

    /// Units arriving at a layer's activation input and tied only to its weight's reduction axis.
    private func reduction(_ n: Int, input: Int, units: AxisUnits, links: [(port: NodePort, units: AxisUnits)]) -> ChannelGroup.Reduction? {
        let node = index.nodes[n]
        guard let knowledge = Operators.knowledge(node), links.count == 1, case .input(let w) = links[0].port,
              w != input, let weight = weights[node.inputs[w]],
              let use = knowledge.weightUse(node, weightRank: weight.dims.count), use.input == w,
              use.reductionAxis == links[0].units.axis else { return nil }
        return ChannelGroup.Reduction(node: n, activation: node.inputs[input], activationAxis: units.axis, units: units,
                                      weight: node.inputs[w], weightAxis: use.reductionAxis)
    }

    /// What the axis rule of `node` sees: inferred dims, small integer contents.
    func axisCall(_ node: Node) -> AxisCall {
        func shape(_ name: String) -> [DimExpr]? {
            guard !name.isEmpty else { return nil }
            if let w = weights[name] { return w.dims.map { DimExpr(Int($0)) } }
            return values[name]?.shape
        }
        func contents(_ name: String) -> [Int?]? {
            guard !name.isEmpty else { return nil }
            return values[name]?.values?.map(\.constant)
        }
        return AxisCall(node: node, opset: opset, inputShapes: node.inputs.map(shape), outputShapes: node.outputs.map(shape),
                        inputValues: node.inputs.map(contents))
    }
}
