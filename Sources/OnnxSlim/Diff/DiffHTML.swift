/// `diff --html FILE`: one self-contained page (inline SVG, CSS and a few lines of JS; nothing
/// fetched) drawing each changed region of A beside the same region of B. Regions are the
/// vertices of one change (or of overlapping changes) plus one ring of unchanged neighbours for
/// context, laid out in layers by depth, coloured by kind of change.
public enum DiffHTML {
    public static func write(_ diff: ModelDiff, to path: String) throws {
        try AtomicFile.write(Array(render(diff).utf8), to: path)
    }

    static let colors: [ModelDiff.Kind: String] = [
        .quantized: "#60a5fa", .lowRank: "#a78bfa", .pruned: "#fbbf24", .precision: "#22d3ee", .folded: "#a3e635",
        .nodeAdded: "#4ade80", .weightAdded: "#4ade80", .inputAdded: "#4ade80", .outputAdded: "#4ade80",
        .nodeRemoved: "#f87171", .weightRemoved: "#f87171", .inputRemoved: "#f87171", .outputRemoved: "#f87171",
        .nodeChanged: "#fb923c", .weightChanged: "#fb923c", .inputChanged: "#fb923c", .outputChanged: "#fb923c",
    ]

    struct Block {
        var changes: [Int] = []
        var a = Set<Int>()
        var b = Set<Int>()
    }

    static let maxVertices = 60
    static let maxBlocks = 300

    public static func render(_ diff: ModelDiff) -> String {
        var html = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>onnx-slim diff</title>
            <style>
            body{font:13px system-ui,sans-serif;margin:16px;color:#111;background:#fff}
            h1{font-size:18px;margin:0 0 6px} h2{font-size:14px;margin:18px 0 6px}
            .sides{font-family:monospace;font-size:12px;color:#333}
            .legend span{display:inline-block;padding:2px 8px;margin:2px;border-radius:4px;border:1px solid #999}
            table.sum td{padding:1px 10px 1px 0}
            .block{border:1px solid #ccc;border-radius:6px;margin:10px 0;padding:8px}
            .block.hl{border-color:#111;box-shadow:0 0 0 2px #111}
            .title{font-family:monospace;font-size:12px;margin-bottom:6px;white-space:pre-wrap}
            .pair{display:flex;gap:16px;align-items:flex-start;overflow-x:auto}
            .side{flex:1;min-width:0} .side h3{font-size:12px;margin:2px 0;color:#555}
            svg text{font:11px monospace;pointer-events:none}
            svg rect{stroke:#333;stroke-width:1}
            svg g.v:hover rect{stroke-width:3}
            .changes li{font-family:monospace;font-size:12px;cursor:pointer}
            .changes li:hover{text-decoration:underline}
            </style></head><body>
            <h1>onnx-slim diff</h1>

            """
        html += "<div class=\"sides\">A: \(escape(diff.a.path)) — \(Formatting.bytes(diff.a.fileSize)), \(diff.a.nodes) nodes<br>"
        html += "B: \(escape(diff.b.path)) — \(Formatting.bytes(diff.b.fileSize)), \(diff.b.nodes) nodes<br>"
        html += "matched \(diff.matchedNodes) of \(diff.a.nodes) nodes of A</div>\n"
        html += "<h2>Summary: \(diff.changes.isEmpty ? "no changes" : Formatting.plural(diff.changes.count, "change"))</h2><table class=\"sum\">"
        for (k, n) in diff.counts {
            html += "<tr><td><span style=\"background:\(colors[k] ?? "#ddd");padding:0 8px;border-radius:3px\">&nbsp;</span></td><td>\(escape(k.label))</td><td>\(n)</td></tr>"
        }
        html += "</table>\n<div class=\"legend\">"
        for (label, kind) in [("quantized", ModelDiff.Kind.quantized), ("low rank", .lowRank), ("pruned", .pruned), ("precision", .precision),
                              ("folded", .folded), ("added", .nodeAdded), ("removed", .nodeRemoved), ("changed", .nodeChanged)] {
            html += "<span style=\"background:\(colors[kind]!)\">\(label)</span>"
        }
        html += "<span style=\"background:#f3f4f6\">context (unchanged)</span></div>\n"

        // Blocks: changes of the main graph with vertices; overlapping ones merged.
        var blocks: [Block] = []
        var ownerA: [Int: Int] = [:], ownerB: [Int: Int] = [:]
        var listed: [(Int, Int?)] = []
        for (k, c) in diff.changes.enumerated() {
            guard c.graph.isEmpty, !(c.aVertices.isEmpty && c.bVertices.isEmpty) else { listed.append((k, nil)); continue }
            var target = c.aVertices.compactMap { ownerA[$0] }.first ?? c.bVertices.compactMap { ownerB[$0] }.first
            if target == nil {
                guard blocks.count < maxBlocks else { listed.append((k, nil)); continue }
                blocks.append(Block()); target = blocks.count - 1
            }
            let t = target!
            blocks[t].changes.append(k)
            for v in c.aVertices { blocks[t].a.insert(v); ownerA[v] = t }
            for v in c.bVertices { blocks[t].b.insert(v); ownerB[v] = t }
            listed.append((k, t))
        }
        html += "<h2>Changes</h2><ol class=\"changes\">"
        for (k, t) in listed {
            let c = diff.changes[k]
            let onclick = t.map { " onclick=\"show(\($0))\"" } ?? ""
            html += "<li\(onclick)><b>\(c.kind.rawValue)</b> \(escape((c.graph.isEmpty ? "" : "[\(c.graph)] ") + c.detail))</li>"
        }
        html += "</ol>\n"
        if let ga = diff.graphA, let gb = diff.graphB, !blocks.isEmpty {
            html += "<h2>Changed regions (A left, B right)</h2>\n"
            for (t, block) in blocks.enumerated() {
                var kindOfA: [Int: ModelDiff.Kind] = [:], kindOfB: [Int: ModelDiff.Kind] = [:]
                for k in block.changes {
                    for v in diff.changes[k].aVertices where kindOfA[v] == nil { kindOfA[v] = diff.changes[k].kind }
                    for v in diff.changes[k].bVertices where kindOfB[v] == nil { kindOfB[v] = diff.changes[k].kind }
                }
                let title = block.changes.prefix(6).map { "\(diff.changes[$0].kind.rawValue): \(diff.changes[$0].detail)" }.joined(separator: "\n")
                    + (block.changes.count > 6 ? "\n… and \(block.changes.count - 6) more" : "")
                html += "<div class=\"block\" id=\"b\(t)\"><div class=\"title\">\(escape(title))</div><div class=\"pair\">"
                html += "<div class=\"side\"><h3>A</h3>\(svg(ga, kinds: kindOfA))</div>"
                html += "<div class=\"side\"><h3>B</h3>\(svg(gb, kinds: kindOfB))</div>"
                html += "</div></div>\n"
            }
        }
        html += """
            <script>
            function show(t){document.querySelectorAll('.block.hl').forEach(function(e){e.classList.remove('hl')});
            var e=document.getElementById('b'+t); if(e){e.classList.add('hl'); e.scrollIntoView({behavior:'smooth',block:'center'});}}
            </script>
            </body></html>

            """
        return html
    }

    /// The changed vertices and one ring of neighbours, in layers by depth inside the selection.
    static func svg(_ g: DiffGraph, kinds: [Int: ModelDiff.Kind]) -> String {
        var chosen = Set(kinds.keys.sorted { g.order[$0] < g.order[$1] }.prefix(maxVertices))
        let core = chosen
        for v in core {
            for s in g.vertices[v].inputs where s.vertex >= 0 && chosen.count < maxVertices + 24 { chosen.insert(s.vertex) }
            for outs in g.consumers[v] { for c in outs where chosen.count < maxVertices + 24 { chosen.insert(c.vertex) } }
        }
        if chosen.isEmpty { return "<div style=\"color:#777\">(nothing on this side)</div>" }
        let list = chosen.sorted { g.order[$0] < g.order[$1] }
        var depth: [Int: Int] = [:]
        for v in list {
            var d = 0
            for s in g.vertices[v].inputs where s.vertex >= 0 { if let p = depth[s.vertex] { d = max(d, p + 1) } }
            depth[v] = d
        }
        var rows: [[Int]] = []
        for v in list {
            let d = depth[v]!
            while rows.count <= d { rows.append([]) }
            rows[d].append(v)
        }
        rows.removeAll { $0.isEmpty }
        let w = 150, h = 34, gx = 14, gy = 26
        let width = max(1, rows.map(\.count).max() ?? 1) * (w + gx) + gx
        let height = rows.count * (h + gy) + gy
        var pos: [Int: (Int, Int)] = [:]
        for (r, row) in rows.enumerated() {
            let offset = (width - row.count * (w + gx) - gx) / 2
            for (k, v) in row.enumerated() { pos[v] = (offset + gx + k * (w + gx), gy / 2 + r * (h + gy)) }
        }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">"
        s += "<defs><marker id=\"ar\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"#555\"/></marker></defs>"
        for v in list {
            guard let (x2, y2) = pos[v] else { continue }
            for s2 in g.vertices[v].inputs where s2.vertex >= 0 {
                guard let (x1, y1) = pos[s2.vertex] else { continue }
                s += "<line x1=\"\(x1 + w / 2)\" y1=\"\(y1 + h)\" x2=\"\(x2 + w / 2)\" y2=\"\(y2)\" stroke=\"#555\" stroke-width=\"1\" marker-end=\"url(#ar)\"/>"
            }
        }
        for v in list {
            guard let (x, y) = pos[v] else { continue }
            let vx = g.vertices[v]
            let fill = kinds[v].flatMap { colors[$0] } ?? "#f3f4f6"
            let top: String, bottom: String
            switch vx.kind {
            case .input: top = "input"; bottom = vx.name
            case .weight: top = vx.tensor.map(GraphText.tensorType) ?? "weight"; bottom = vx.name
            case .node: top = vx.tensor != nil ? "Constant " + GraphText.tensorType(vx.tensor!) : vx.op; bottom = g.label(v)
            }
            let tip = "\(top)\n\(g.label(v))" + (kinds[v].map { "\n\($0.rawValue)" } ?? "")
            s += "<g class=\"v\"><title>\(escape(tip))</title><rect x=\"\(x)\" y=\"\(y)\" width=\"\(w)\" height=\"\(h)\" rx=\"\(vx.kind == .node ? 6 : 0)\" fill=\"\(fill)\"/>"
            s += "<text x=\"\(x + 6)\" y=\"\(y + 14)\" font-weight=\"bold\">\(escape(clip(top, 21)))</text>"
            s += "<text x=\"\(x + 6)\" y=\"\(y + 28)\">\(escape(clip(bottom, 21, tail: true)))</text></g>"
        }
        return s + "</svg>"
    }

    static func clip(_ s: String, _ n: Int, tail: Bool = false) -> String {
        guard s.count > n else { return s }
        return tail ? "…" + String(s.suffix(n - 1)) : String(s.prefix(n - 1)) + "…"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }
}
