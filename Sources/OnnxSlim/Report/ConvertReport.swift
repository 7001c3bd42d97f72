/// The before/after report every convert run ends with.
public struct ConvertReport: Sendable {
    public var input: String
    public var output: String
    public var before: ModelSummary
    public var after: ModelSummary
    /// One line per pass that ran, saying what it changed.
    public var passes: [String]
    public var externalDataPath: String?
    public var seconds: Double
    /// `--verify` results, with how the samples were obtained.
    public var verification: Verification?

    public struct Verification: Sendable {
        public var samples: Int
        /// "generated (seed 0)" or the folder they came from.
        public var source: String
        public var outputs: [OutputAgreement]
        public init(samples: Int, source: String, outputs: [OutputAgreement]) {
            self.samples = samples
            self.source = source
            self.outputs = outputs
        }
    }

    public init(input: String, output: String, before: ModelSummary, after: ModelSummary,
                passes: [String], externalDataPath: String?, seconds: Double) {
        self.input = input
        self.output = output
        self.before = before
        self.after = after
        self.passes = passes
        self.externalDataPath = externalDataPath
        self.seconds = seconds
    }

    public var text: String {
        func ratio(_ a: Int, _ b: Int) -> String {
            b == 0 ? "" : " (\(Formatting.fixed(Double(a) / Double(b), 2))x)"
        }
        var rows: [[String]] = [["", "before", "after"]]
        rows.append(["file", Formatting.bytes(before.fileSize), Formatting.bytes(after.fileSize) + ratio(before.fileSize, after.fileSize)])
        rows.append(["parameters", Formatting.count(before.parameters), Formatting.count(after.parameters)])
        rows.append(["weights", Formatting.bytes(before.weightBytes), Formatting.bytes(after.weightBytes)])
        rows.append(["nodes", String(before.nodes + before.subgraphNodes), String(after.nodes + after.subgraphNodes)])
        let dtypes = (before.byDataType.map(\.dtype) + after.byDataType.map(\.dtype)).reduce(into: [String]()) {
            if !$0.contains($1) { $0.append($1) }
        }
        for d in dtypes {
            let b = before.byDataType.first { $0.dtype == d }?.bucket.bytes ?? 0
            let a = after.byDataType.first { $0.dtype == d }?.bucket.bytes ?? 0
            rows.append(["  \(d)", Formatting.bytes(b), Formatting.bytes(a)])
        }
        var lines = ["\(input) -> \(output)\(after.compressed ? " (zstd)" : "")"]
        lines.append(Formatting.table(rows))
        let opChanges = ConvertReport.opDelta(before, after)
        if !opChanges.isEmpty { lines.append("ops changed: " + opChanges.joined(separator: ", ")) }
        lines.append(passes.isEmpty ? "passes: none (faithful re-encode)" : "passes:")
        for p in passes { lines.append("  " + p) }
        if let externalDataPath { lines.append("external data: \(externalDataPath)") }
        if let v = verification {
            lines.append("verify: \(Formatting.plural(v.samples, "sample")), \(v.source)")
            var table: [[String]] = [["output", "cosine", "max abs error", "top-1"]]
            for o in v.outputs {
                table.append([o.name, Formatting.fixed(o.cosine, 6), Formatting.fixed(o.maxAbsError, 6),
                              o.top1.map { Formatting.fixed($0 * 100, 1) + "%" } ?? "-"])
            }
            lines.append(Formatting.table(table).trimmingTrailingNewline)
        }
        lines.append("time: \(Formatting.fixed(seconds, 3)) s")
        return lines.joined(separator: "\n")
    }

    static func opDelta(_ a: ModelSummary, _ b: ModelSummary) -> [String] {
        let before = Dictionary(a.opCounts.map { ($0.op, $0.count) }, uniquingKeysWith: +)
        let after = Dictionary(b.opCounts.map { ($0.op, $0.count) }, uniquingKeysWith: +)
        return Set(before.keys).union(after.keys).sorted().compactMap { op in
            let x = before[op] ?? 0, y = after[op] ?? 0
            return x == y ? nil : "\(op) \(x)->\(y)"
        }
    }

    public var json: JSONValue {
        .object([
            ("input", .string(input)),
            ("output", .string(output)),
            ("before", before.json),
            ("after", after.json),
            ("passes", .array(passes.map { .string($0) })),
            ("external_data", externalDataPath.map { .string($0) } ?? .null),
            ("seconds", .double(seconds)),
            ("verification", verification.map { v in
                .object([
                    ("samples", .int(v.samples)),
                    ("source", .string(v.source)),
                    ("outputs", .array(v.outputs.map { o in
                        .object([("name", .string(o.name)), ("cosine", .double(o.cosine)),
                                 ("max_abs_error", .double(o.maxAbsError)),
                                 ("top1", o.top1.map { .double($0) } ?? .null)])
                    })),
                ])
            } ?? .null),
        ])
    }
}

private extension String {
    var trimmingTrailingNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
