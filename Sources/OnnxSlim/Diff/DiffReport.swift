/// Text and JSON forms of a ModelDiff: the summary first (changes by kind, size before and
/// after), then one line per change.
extension ModelDiff {
    public var text: String {
        var lines: [String] = []
        func sideLine(_ tag: String, _ s: Side) -> [String] {
            [tag, s.path, "\(Formatting.bytes(s.fileSize)), \(Formatting.plural(s.nodes, "node")), \(Formatting.count(s.parameters)) parameters (\(Formatting.bytes(s.weightBytes)))"]
        }
        lines.append(Formatting.table([sideLine("A", a), sideLine("B", b)], indent: ""))
        var size = "size      \(Formatting.bytes(a.fileSize)) → \(Formatting.bytes(b.fileSize))"
        if b.fileSize > 0 && a.fileSize != b.fileSize {
            let ratio = Double(a.fileSize) / Double(b.fileSize)
            size += ratio >= 1 ? " (\(Formatting.fixed(ratio, 2))x smaller)" : " (\(Formatting.fixed(1 / ratio, 2))x larger)"
        }
        lines.append(size)
        lines.append("weights   \(Formatting.bytes(a.weightBytes)) → \(Formatting.bytes(b.weightBytes))")
        lines.append("matched   \(matchedNodes) of \(a.nodes) nodes of A\(weightsRead ? "" : " (weights compared by dtype, shape and size; --weights compares values)")")
        if changes.isEmpty {
            lines.append("summary   no changes")
        } else {
            lines.append("summary   \(Formatting.plural(changes.count, "change"))")
            lines.append(Formatting.table(counts.map { [$0.0.label, String($0.1)] }))
            lines.append("details")
            lines.append(Formatting.table(changes.map { c in
                [c.kind.rawValue, (c.graph.isEmpty ? "" : "[\(c.graph)] ") + c.detail]
            }))
        }
        if !renamedIO.isEmpty {
            lines.append("renamed (matched by position; not counted as changes)")
            lines.append(Formatting.table(renamedIO.map { [$0.what, $0.a, "→ \($0.b)"] }))
        }
        return lines.joined(separator: "\n")
    }

    public var json: JSONValue {
        func side(_ s: Side) -> JSONValue {
            .object([("path", .string(s.path)), ("file_size", .int(s.fileSize)), ("nodes", .int(s.nodes)),
                     ("parameters", .int(s.parameters)), ("weight_bytes", .int(s.weightBytes)),
                     ("opsets", .object(s.opsets.map { ($0.domain, .int(Int($0.version))) }))])
        }
        return .object([
            ("a", side(a)),
            ("b", side(b)),
            ("identical", .bool(identical)),
            ("weights_read", .bool(weightsRead)),
            ("matched_nodes", .int(matchedNodes)),
            ("summary", .object([
                ("changes", .int(changes.count)),
                ("by_kind", .object(counts.map { ($0.0.rawValue, .int($0.1)) })),
                ("file_size", .object([("a", .int(a.fileSize)), ("b", .int(b.fileSize))])),
                ("weight_bytes", .object([("a", .int(a.weightBytes)), ("b", .int(b.weightBytes))])),
            ])),
            ("changes", .array(changes.map { c in
                .object([("kind", .string(c.kind.rawValue)), ("graph", .string(c.graph)),
                         ("a", .array(c.a.map { .string($0) })), ("b", .array(c.b.map { .string($0) })),
                         ("detail", .string(c.detail))] + c.fields)
            })),
            ("renamed", .array(renamedIO.map { .object([("what", .string($0.what)), ("a", .string($0.a)), ("b", .string($0.b))]) })),
        ])
    }
}
