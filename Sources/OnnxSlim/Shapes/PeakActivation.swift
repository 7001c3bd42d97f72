/// An estimate of the most activation memory a run of the main graph holds at once: values are
/// allocated when produced and freed after their last reader, in evaluation order; weights are
/// not counted (they are the parameters). With symbolic dims the peak is picked with every
/// unbound symbol taken as `assumedSymbolValue`, and reported as the formula at that point.
public enum PeakActivation {
    public struct Estimate: Sendable {
        public var bytes: DimExpr
        /// The node after which the peak is reached.
        public var atNode: String
        /// Values whose size is not known and so are left out.
        public var unknownValues: Int
    }

    public static let assumedSymbolValue = 64

    /// `e` with unbound symbols at `assumedSymbolValue` (0 when a size is data-dependent): what
    /// picks the peak, and what orders formulas in reports.
    static func representative(_ e: DimExpr, bindings: [String: Int] = [:]) -> Int {
        var values = bindings
        for s in e.symbols where values[s] == nil { values[s] = assumedSymbolValue }
        return e.evaluate(values) ?? 0
    }

    static func estimate(_ walk: ShapeInference.GraphWalk, records: [ShapeInference.NodeRecord],
                         bindings: [String: Int]) -> Estimate? {
        var unknown = 0
        func bytes(_ name: String) -> DimExpr {
            guard let v = walk.values[name], v.kind == .tensor, let n = v.elementCount, !n.hasUnknown,
                  let bits = v.elemType.bitWidth else { unknown += 1; return 0 }
            return bits % 8 == 0 ? n * DimExpr(bits / 8) : (n * DimExpr(bits)).ceilDiv(8)
        }
        var sizes: [String: DimExpr] = [:]
        var total = DimExpr(0)
        for name in walk.inputNames {
            let b = bytes(name)
            sizes[name] = b
            total += b
        }
        var best: (value: Int, bytes: DimExpr, at: Int)? = nil
        for step in walk.steps {
            for name in step.creates where sizes[name] == nil {
                let b = bytes(name)
                sizes[name] = b
                total += b
            }
            let v = representative(total, bindings: bindings)
            if best == nil || v > best!.value { best = (v, total, step.record) }
            for name in step.releases {
                if let b = sizes.removeValue(forKey: name) { total = total - b }
            }
        }
        guard let best else { return nil }
        let r = records[best.at]
        return Estimate(bytes: best.bytes, atNode: r.name.isEmpty ? r.opType : r.name, unknownValues: unknown)
    }
}
