/// A stable, compact text form of a graph, close to ONNX's textual syntax, for tests, debugging
/// and reports:
///
///     graph main (x: float32[N,2]) -> (y: float32[N,2])
///       w: int8[2,2]
///       h = MatMul(x, w)
///       y = Add(h, b)
///       z = If(c) {then_branch: graph then (…) -> (…) { … }}
public enum GraphText {
    public static func text(_ graph: Graph, indent: String = "") -> String {
        var lines: [String] = []
        let sig = { (vs: [ValueInfo]) in vs.map { "\($0.name): \(ModelSummary.describe($0.type))" }.joined(separator: ", ") }
        lines.append("\(indent)graph \(graph.name.isEmpty ? "_" : graph.name) (\(sig(graph.inputs))) -> (\(sig(graph.outputs)))")
        for t in graph.initializers {
            lines.append("\(indent)  \(t.name): \(tensorType(t))")
        }
        for n in graph.nodes { lines.append(indent + "  " + text(n, indent: indent + "  ")) }
        return lines.joined(separator: "\n")
    }

    /// "float32[256,1024]".
    public static func tensorType(_ t: Tensor) -> String {
        "\(t.dataType)[\(t.dims.map(String.init).joined(separator: ","))]"
    }

    public static func text(_ n: Node, indent: String = "") -> String {
        let op = n.isDefaultDomain ? n.opType : "\(n.domain).\(n.opType)"
        var s = "\(n.outputs.joined(separator: ", ")) = \(op)(\(n.inputs.joined(separator: ", ")))"
        if !n.attributes.isEmpty {
            s += " {" + n.attributes.map { "\($0.name): \(value($0, indent: indent))" }.joined(separator: ", ") + "}"
        }
        return s
    }

    static func value(_ a: Attribute, indent: String) -> String {
        switch a.type {
        case .int: return String(a.i)
        case .float: return String(a.f)
        case .string: return "\"\(a.stringValue)\""
        case .ints: return "[" + a.ints.map(String.init).joined(separator: ", ") + "]"
        case .floats: return "[" + a.floats.map { String($0) }.joined(separator: ", ") + "]"
        case .tensor: return a.t.map(tensorType) ?? "tensor"
        case .graph: return a.g.map { "\n" + text($0, indent: indent + "    ") } ?? "graph"
        default: return a.type.description
        }
    }
}
