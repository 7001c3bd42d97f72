/// What `info` adds from shape inference: parameters, MACs and FLOPs per op type and in total
/// (numbers when dims are fixed, short formulas in the symbolic dims otherwise), the peak
/// activation memory, the values inference could not work out, and the per-node table (`--layers`).
public struct ComputeSummary: Sendable {
    public struct OpTotals: Sendable {
        public var op: String
        public var nodes = 0
        public var parameters = 0
        public var macs = DimExpr(0)
        public var flops = DimExpr(0)
        /// Nodes of this type whose cost is unknown (their inputs were not inferred).
        public var uncounted = 0
    }

    public var inference: ShapeInference.Result
    public var byOpType: [OpTotals]
    public var parameters: Int
    public var macs: DimExpr
    public var flops: DimExpr
    public var uncountedNodes: Int

    public init(_ inference: ShapeInference.Result) {
        self.inference = inference
        var table: [String: OpTotals] = [:]
        var macs = DimExpr(0), flops = DimExpr(0), parameters = inference.unreadParameters, uncounted = 0
        for r in inference.nodes {
            var t = table[r.qualifiedOp] ?? OpTotals(op: r.qualifiedOp)
            t.nodes += 1
            t.parameters += r.parameters
            parameters += r.parameters
            if let m = r.macs, let f = r.flops {
                t.macs += m
                t.flops += f
                macs += m
                flops += f
            } else {
                t.uncounted += 1
                uncounted += 1
            }
            table[r.qualifiedOp] = t
        }
        byOpType = table.values.sorted {
            let a = PeakActivation.representative($0.macs), b = PeakActivation.representative($1.macs)
            if a != b { return a > b }
            if $0.parameters != $1.parameters { return $0.parameters > $1.parameters }
            return $0.op < $1.op
        }
        self.parameters = parameters
        self.macs = macs
        self.flops = flops
        uncountedNodes = uncounted
    }

    /// "1.23 G", or "85.0 M*batch*seq + 1.18 M*batch*seq^2" when symbolic.
    public static func readable(_ e: DimExpr) -> String {
        e.text { Formatting.count($0) }
    }

    static func readableBytes(_ e: DimExpr) -> String {
        e.constant.map { Formatting.bytes($0) } ?? e.text(unitCoefficients: true) { Formatting.bytes($0) }
    }

    public var text: String {
        var lines: [String] = []
        let gaps = inference.gaps
        let valueCount = inference.nodes.reduce(0) { $0 + $1.outputNames.filter { !$0.isEmpty }.count }
        lines.append("compute     MACs \(Self.readable(macs)), FLOPs \(Self.readable(flops))"
                     + (uncountedNodes > 0 ? " (\(Formatting.plural(uncountedNodes, "node")) not counted)" : ""))
        if let peak = inference.peak {
            var line = "peak activations  \(Self.readableBytes(peak.bytes)) after '\(peak.atNode)'"
            if !peak.bytes.symbols.isEmpty { line += " (picked with symbols = \(PeakActivation.assumedSymbolValue))" }
            if peak.unknownValues > 0 { line += ", \(Formatting.plural(peak.unknownValues, "value")) of unknown size left out" }
            lines.append(line)
        }
        lines.append("shapes      " + (gaps.isEmpty ? "all \(valueCount) values inferred"
                                       : "\(valueCount - gaps.count) of \(valueCount) values inferred; not inferred:"))
        for g in gaps.prefix(20) { lines.append("  \(g.value): \(g.reason)") }
        if gaps.count > 20 { lines.append("  … and \(gaps.count - 20) more (--json lists all)") }
        lines.append("by op type")
        var rows = [["op", "nodes", "params", "MACs", "FLOPs"]]
        for t in byOpType {
            rows.append([t.op, String(t.nodes), t.parameters == 0 ? "-" : Formatting.count(t.parameters),
                         Self.cell(t.macs, known: t.uncounted < t.nodes), Self.cell(t.flops, known: t.uncounted < t.nodes)])
        }
        if inference.unreadParameters > 0 {
            rows.append(["(read by no node)", "", Formatting.count(inference.unreadParameters), "", ""])
        }
        lines.append(Formatting.table(rows))
        return lines.joined(separator: "\n")
    }

    /// A table cell: "-" for nothing, "?" for unknown.
    static func cell(_ e: DimExpr, known: Bool) -> String {
        known ? (e == DimExpr(0) ? "-" : readable(e)) : "?"
    }

    /// The per-node table: name, op, output shapes, params, MACs (subgraph nodes indented).
    public var layersText: String {
        var rows = [["node", "op", "output", "params", "MACs"]]
        for r in inference.nodes {
            let indent = String(repeating: "  ", count: r.depth)
            let shapes = zip(r.outputNames, r.outputs).filter { !$0.0.isEmpty }.map(\.1.description).joined(separator: ", ")
            rows.append([indent + (r.name.isEmpty ? "(unnamed)" : r.name), r.qualifiedOp, shapes,
                         r.parameters == 0 ? "-" : Formatting.count(r.parameters),
                         Self.cell(r.macs ?? 0, known: r.macs != nil)])
        }
        return Formatting.table(rows)
    }

    /// A number when the expression is one, else its formula.
    static func json(_ e: DimExpr) -> JSONValue { e.constant.map { .int($0) } ?? .string(e.description) }

    public func json(layers: Bool) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("macs", Self.json(macs)),
            ("flops", Self.json(flops)),
            ("parameters", .int(parameters)),
            ("uncounted_nodes", .int(uncountedNodes)),
            ("by_op_type", .array(byOpType.map { t in
                .object([("op", .string(t.op)), ("nodes", .int(t.nodes)), ("parameters", .int(t.parameters)),
                         ("macs", Self.json(t.macs)), ("flops", Self.json(t.flops)), ("uncounted", .int(t.uncounted))])
            })),
            ("unread_parameters", .int(inference.unreadParameters)),
            ("inputs", .object(inference.inputs.map { ($0.name, .string($0.value.description)) })),
            ("outputs", .object(inference.outputs.map { ($0.name, .string($0.value.description)) })),
            ("not_inferred", .array(inference.gaps.map { .object([("value", .string($0.value)), ("reason", .string($0.reason))]) })),
        ]
        if let peak = inference.peak {
            fields.append(("peak_activation_bytes", Self.json(peak.bytes)))
            fields.append(("peak_after_node", .string(peak.atNode)))
        }
        if layers {
            fields.append(("layers", .array(inference.nodes.map { r in
                var o: [(String, JSONValue)] = [("name", .string(r.name)), ("op", .string(r.qualifiedOp)), ("depth", .int(r.depth)),
                                                ("outputs", .array(zip(r.outputNames, r.outputs).map {
                                                    .object([("name", .string($0.0)), ("type", .string($0.1.description))])
                                                })),
                                                ("parameters", .int(r.parameters))]
                o.append(("macs", r.macs.map(Self.json) ?? .null))
                o.append(("flops", r.flops.map(Self.json) ?? .null))
                if let g = r.gap { o.append(("not_inferred", .string(g))) }
                return .object(o)
            })))
        }
        return .object(fields)
    }
}
