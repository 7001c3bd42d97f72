/// Human-readable numbers for reports: 1.23 M parameters, 45.6 MB.
public enum Formatting {
    public static func count(_ n: Int) -> String { scaled(Double(n), units: ["", " K", " M", " G", " T"], base: 1000) }

    public static func bytes(_ n: Int) -> String {
        n < 1000 ? "\(n) B" : scaled(Double(n), units: [" B", " KB", " MB", " GB", " TB"], base: 1000)
    }

    static func scaled(_ value: Double, units: [String], base: Double) -> String {
        var v = value
        var k = 0
        while abs(v) >= base && k + 1 < units.count {
            v /= base
            k += 1
        }
        if k == 0 { return "\(Int(v))\(units[0])" }
        return fixed(v, v >= 100 ? 0 : v >= 10 ? 1 : 2) + units[k]
    }

    /// `value` with `digits` decimals.
    public static func fixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = (value * scale).rounded() / scale
        var s = String(r)
        if let dot = s.firstIndex(of: ".") {
            let decimals = s.distance(from: dot, to: s.endIndex) - 1
            if digits == 0 { s = String(s[..<dot]) } else if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
        }
        return s
    }

    /// "1 tensor", "3 tensors".
    public static func plural(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

    /// Left-aligned columns.
    public static func table(_ rows: [[String]], indent: String = "  ") -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: width)
        for r in rows { for (k, c) in r.enumerated() { widths[k] = max(widths[k], c.count) } }
        return rows.map { r in
            indent + r.enumerated().map { k, c in
                k + 1 == r.count ? c : c + String(repeating: " ", count: widths[k] - c.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
