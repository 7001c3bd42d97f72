/// A tokenizer.json `pre_tokenizer`: splits normalized text into the pieces the model encodes
/// one by one, as the `tokenizers` crate does. Pieces are Unicode scalar strings; ByteLevel
/// turns each into its byte characters (`ByteLevelAlphabet`).
indirect enum PreTokenizer {
    /// BERT's: split on whitespace (dropped) and isolate every punctuation character.
    case bert
    /// GPT-2's: optionally a leading space, the GPT-2 regex split (`GPT2Split`), then bytes as characters.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    /// Digits isolated one by one (`individual`) or in runs.
    case digits(individual: Bool)
    /// `\w+|[^\w\s]+` runs (whitespace dropped).
    case whitespace
    /// Split on whitespace only.
    case whitespaceSplit
    case sequence([PreTokenizer])

    /// `pieces` split further (each piece on its own, as the crate splits each existing split).
    func apply(_ pieces: [String]) -> [String] {
        switch self {
        case let .sequence(steps):
            return steps.reduce(pieces) { $1.apply($0) }
        default:
            return pieces.flatMap { split($0) }
        }
    }

    private func split(_ piece: String) -> [String] {
        let s = Array(piece.unicodeScalars)
        switch self {
        case .bert:
            return Self.runs(s, drop: { $0.isSpace }, isolate: { $0.isPunctuation || $0.isASCIIPunctuation })
        case let .byteLevel(addPrefixSpace, useRegex):
            var scalars = s
            if addPrefixSpace && scalars.first != " " { scalars.insert(" ", at: 0) }
            let parts = useRegex ? GPT2Split.split(scalars) : [scalars[...]]
            return parts.map { ByteLevelAlphabet.encode(String.UnicodeScalarView($0)[...]) }
        case let .digits(individual):
            if individual { return Self.runs(s, drop: { _ in false }, isolate: { $0.isNumeric }) }
            return Self.groups(s) { $0.isNumeric ? 1 : 0 }
        case .whitespace:
            // Runs of \w, or of neither \w nor whitespace.
            return Self.groups(s) { c in c.isSpace ? -1 : c.isWordCharacter ? 1 : 0 }
        case .whitespaceSplit:
            return Self.runs(s, drop: { $0.isSpace }, isolate: { _ in false })
        case .sequence:
            return apply([piece])
        }
    }

    /// Runs between dropped scalars, with each `isolate` scalar a piece of its own.
    private static func runs(_ s: [Unicode.Scalar], drop: (Unicode.Scalar) -> Bool,
                             isolate: (Unicode.Scalar) -> Bool) -> [String] {
        var out: [String] = [], current = String.UnicodeScalarView()
        func flush() { if !current.isEmpty { out.append(String(current)); current = String.UnicodeScalarView() } }
        for c in s {
            if drop(c) { flush(); continue }
            if isolate(c) { flush(); out.append(String(c)); continue }
            current.append(c)
        }
        flush()
        return out
    }

    /// Maximal runs of scalars of one class (class −1: dropped).
    private static func groups(_ s: [Unicode.Scalar], classOf: (Unicode.Scalar) -> Int) -> [String] {
        var out: [String] = [], current = String.UnicodeScalarView(), currentClass = Int.min
        for c in s {
            let k = classOf(c)
            if k != currentClass || k == -1 {
                if !current.isEmpty { out.append(String(current)) }
                current = String.UnicodeScalarView()
                currentClass = k
            }
            if k != -1 { current.append(c) }
        }
        if !current.isEmpty { out.append(String(current)) }
        return out
    }
}

/// The GPT-2 pre-tokenization regex, scanned by hand over Unicode scalars (the crate's regex,
/// leftmost-first alternation):
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
enum GPT2Split {
    static func split(_ s: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var out: [ArraySlice<Unicode.Scalar>] = []
        var i = 0
        let n = s.count
        while i < n {
            let end = match(s, at: i, n: n)
            out.append(s[i..<end])
            i = end
        }
        return out
    }

    private static func match(_ s: [Unicode.Scalar], at i: Int, n: Int) -> Int {
        // Contractions.
        if s[i] == "'" {
            for suffix in ["s", "t", "re", "ve", "m", "ll", "d"] {
                let u = Array(suffix.unicodeScalars)
                if i + u.count < n, Array(s[(i + 1)...(i + u.count)]) == u {
                    return i + 1 + u.count
                }
            }
        }
        // ` ?X+` for the three classes.
        let start = s[i] == " " && i + 1 < n ? i + 1 : i
        for scalarClass in 0..<3 {
            var j = start
            while j < n && classOf(s[j]) == scalarClass { j += 1 }
            if j > start { return j }
        }
        // \s+(?!\S), then \s+.
        var j = i
        while j < n && s[j].isSpace { j += 1 }
        if j > i {
            if j == n { return j }
            if j - 1 > i { return j - 1 }
            return j
        }
        return i + 1   // (unreachable: every scalar is a space, letter, number or other)
    }

    /// 0 letter, 1 number, 2 other, 3 space.
    @inline(__always)
    private static func classOf(_ c: Unicode.Scalar) -> Int {
        if c.isLetter { return 0 }
        if c.isNumber { return 1 }
        return c.isSpace ? 3 : 2
    }
}
