/// A dimension as shape inference knows it: a whole number, a symbol from the model (`batch`,
/// `seq`), or an integer polynomial of them (`batch*seq`, `2*seq + 1`). Polynomials keep symbolic
/// shapes exact through Reshape, Concat and Conv arithmetic; what a polynomial cannot say (a
/// floor division that is not exact, a data-dependent size) becomes an opaque atom.
public struct DimExpr: Hashable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    /// Product terms: sorted atoms → coefficient. The empty product is the constant term; zero
    /// coefficients are never stored.
    public private(set) var terms: [[Atom]: Int]

    public indirect enum Atom: Hashable, Sendable {
        /// A named dimension of the model's inputs.
        case symbol(String)
        /// floor(expr / divisor) where the division is not exact.
        case floorDiv(DimExpr, Int)
        /// A size only known when the model runs (NonZero's count, …), numbered so distinct
        /// unknowns stay distinct.
        case unknown(Int)

        var sortKey: String {
            switch self {
            case .symbol(let s): return s
            case .floorDiv(let e, let d): return "~(\(e))/\(d)"
            case .unknown(let k): return "~?\(k)"
            }
        }
    }

    public init(integerLiteral value: Int) { self.init(value) }
    public init(_ value: Int) { terms = value == 0 ? [:] : [[]: value] }
    private init(terms: [[Atom]: Int]) { self.terms = terms.filter { $0.value != 0 } }
    public static func symbol(_ name: String) -> DimExpr { DimExpr(terms: [[.symbol(name)]: 1]) }
    public static func unknown(_ id: Int) -> DimExpr { DimExpr(terms: [[.unknown(id)]: 1]) }

    /// The number, when the expression has no symbols.
    public var constant: Int? {
        if terms.isEmpty { return 0 }
        if terms.count == 1, let c = terms[[]] { return c }
        return nil
    }

    /// True when a data-dependent size takes part.
    public var hasUnknown: Bool {
        terms.keys.contains { $0.contains { $0.hasUnknown } }
    }

    /// Symbol names it mentions.
    public var symbols: Set<String> {
        var out = Set<String>()
        for atoms in terms.keys { for a in atoms { a.collectSymbols(into: &out) } }
        return out
    }

    // MARK: arithmetic (overflow gives an unknown rather than a trap: dims come from files)

    public static func + (a: DimExpr, b: DimExpr) -> DimExpr {
        var t = a.terms
        for (k, v) in b.terms {
            let (s, o) = (t[k] ?? 0).addingReportingOverflow(v)
            if o { return overflow }
            t[k] = s
        }
        return DimExpr(terms: t)
    }

    public static prefix func - (a: DimExpr) -> DimExpr { a * DimExpr(-1) }
    public static func - (a: DimExpr, b: DimExpr) -> DimExpr { a + (-b) }

    public static func * (a: DimExpr, b: DimExpr) -> DimExpr {
        var t: [[Atom]: Int] = [:]
        for (ka, va) in a.terms {
            for (kb, vb) in b.terms {
                let key = (ka + kb).sorted { $0.sortKey < $1.sortKey }
                let (p, o1) = va.multipliedReportingOverflow(by: vb)
                let (s, o2) = (t[key] ?? 0).addingReportingOverflow(p)
                if o1 || o2 { return overflow }
                t[key] = s
            }
        }
        return DimExpr(terms: t)
    }

    public static func += (a: inout DimExpr, b: DimExpr) { a = a + b }

    /// A size too large for Int64: kept as an unknown.
    static let overflow = DimExpr.unknown(-1)

    /// floor(self / d) for d > 0: exact when every coefficient divides, an atom otherwise.
    public func floorDiv(_ d: Int) -> DimExpr {
        guard d > 0 else { return .overflow }
        if d == 1 { return self }
        if let c = constant { return DimExpr(Self.floorDivide(c, d)) }
        if terms.values.allSatisfy({ $0 % d == 0 }) { return DimExpr(terms: terms.mapValues { $0 / d }) }
        return DimExpr(terms: [[.floorDiv(self, d)]: 1])
    }

    /// Integer floor division (Swift's `/` truncates toward zero).
    static func floorDivide(_ c: Int, _ d: Int) -> Int { c >= 0 ? c / d : -((-c + d - 1) / d) }

    /// ceil(self / d) for d > 0.
    public func ceilDiv(_ d: Int) -> DimExpr { (self + DimExpr(d - 1)).floorDiv(d) }

    /// self / divisor when the division is exact as polynomials (the divisor a single term):
    /// batch*seq*768 / (batch*seq*12) = 64. Nil when it is not.
    public func dividedExactly(by divisor: DimExpr) -> DimExpr? {
        if let d = divisor.constant {
            guard d != 0 else { return nil }
            if let c = constant { return c % d == 0 ? DimExpr(c / d) : nil }
            guard terms.values.allSatisfy({ $0 % d == 0 }) else { return nil }
            return DimExpr(terms: terms.mapValues { $0 / d })
        }
        guard divisor.terms.count == 1, let (dAtoms, dCoef) = divisor.terms.first.map({ ($0.key, $0.value) }) else { return nil }
        var out: [[Atom]: Int] = [:]
        for (atoms, coef) in terms {
            guard coef % dCoef == 0 else { return nil }
            var rest = atoms
            for a in dAtoms {
                guard let i = rest.firstIndex(of: a) else { return nil }
                rest.remove(at: i)
            }
            out[rest] = coef / dCoef
        }
        return DimExpr(terms: out)
    }

    /// The value with symbols bound (nil when a symbol is unbound or a size is data-dependent).
    public func evaluate(_ bindings: [String: Int]) -> Int? {
        var total = 0
        for (atoms, coef) in terms {
            var product = coef
            for a in atoms {
                guard let v = a.evaluate(bindings) else { return nil }
                let (p, o) = product.multipliedReportingOverflow(by: v)
                if o { return nil }
                product = p
            }
            let (s, o) = total.addingReportingOverflow(product)
            if o { return nil }
            total = s
        }
        return total
    }

    /// The expression with symbols replaced by numbers where bound.
    public func substituting(_ bindings: [String: Int]) -> DimExpr {
        var out = DimExpr(0)
        for (atoms, coef) in terms {
            var product = DimExpr(coef)
            for a in atoms { product = product * a.substituting(bindings) }
            out += product
        }
        return out
    }

    // MARK: printing

    /// Terms, highest degree first, for printing.
    public var orderedTerms: [(atoms: [Atom], coefficient: Int)] {
        terms.map { ($0.key, $0.value) }.sorted {
            $0.atoms.count != $1.atoms.count ? $0.atoms.count > $1.atoms.count
                : Self.monomialText($0.atoms) < Self.monomialText($1.atoms)
        }
    }

    /// "batch*seq^2": equal atoms folded into powers.
    public static func monomialText(_ atoms: [Atom]) -> String {
        var parts: [String] = []
        var k = 0
        while k < atoms.count {
            var j = k
            while j < atoms.count && atoms[j] == atoms[k] { j += 1 }
            let base = atoms[k].description
            parts.append(j - k == 1 ? base : "\(base)^\(j - k)")
            k = j
        }
        return parts.joined(separator: "*")
    }

    /// `format` renders each coefficient (plain integers by default, "1.2 M" in reports); a
    /// coefficient of 1 is left out unless `unitCoefficients` (bytes: "1 B*batch").
    public func text(unitCoefficients: Bool = false, _ format: (Int) -> String = { String($0) }) -> String {
        if terms.isEmpty { return "0" }
        var out = ""
        for (i, (atoms, coef)) in orderedTerms.enumerated() {
            let magnitude = abs(coef)
            let body: String
            if atoms.isEmpty { body = format(magnitude) }
            else if magnitude == 1 && !unitCoefficients { body = Self.monomialText(atoms) }
            else { body = "\(format(magnitude))*\(Self.monomialText(atoms))" }
            if i == 0 { out = coef < 0 ? "-" + body : body } else { out += coef < 0 ? " - " + body : " + " + body }
        }
        return out
    }

    public var description: String { text() }
}

extension DimExpr.Atom: CustomStringConvertible {
    public var description: String {
        switch self {
        case .symbol(let s): return s
        case .floorDiv(let e, let d): return "floor((\(e))/\(d))"
        case .unknown: return "?"
        }
    }

    var hasUnknown: Bool {
        switch self {
        case .symbol: return false
        case .floorDiv(let e, _): return e.hasUnknown
        case .unknown: return true
        }
    }

    func collectSymbols(into out: inout Set<String>) {
        switch self {
        case .symbol(let s): out.insert(s)
        case .floorDiv(let e, _): out.formUnion(e.symbols)
        case .unknown: break
        }
    }

    func evaluate(_ bindings: [String: Int]) -> Int? {
        switch self {
        case .symbol(let s): return bindings[s]
        case .floorDiv(let e, let d): return e.evaluate(bindings).map { DimExpr.floorDivide($0, d) }
        case .unknown: return nil
        }
    }

    func substituting(_ bindings: [String: Int]) -> DimExpr {
        switch self {
        case .symbol(let s): return bindings[s].map { DimExpr($0) } ?? .symbol(s)
        case .floorDiv(let e, let d): return e.substituting(bindings).floorDiv(d)
        case .unknown: return DimExpr(terms: [[self]: 1])
        }
    }
}
