import Foundation

/// A tokenizer.json `normalizer`: text → text before pre-tokenization, as the `tokenizers`
/// crate applies it (on Unicode scalars).
indirect enum Normalizer {
    /// BERT's: drop control characters and map whitespace to ' ' (`cleanText`), space out CJK
    /// ideographs, strip accents (NFD, drop nonspacing marks), lowercase — in that order.
    /// `stripAccents` alone drops every combining mark and does not decompose.
    case bert(cleanText: Bool, chineseChars: Bool, stripAccents: Bool, lowercase: Bool)
    case lowercase
    case stripAccents
    case unicode(Form)
    case prepend(String)
    case replace(pattern: String, content: String)
    case strip(left: Bool, right: Bool)
    case sequence([Normalizer])

    enum Form: String { case nfc = "NFC", nfd = "NFD", nfkc = "NFKC", nfkd = "NFKD" }

    func apply(_ text: String) -> String {
        switch self {
        case let .bert(cleanText, chineseChars, stripAccents, lowercase):
            var out = String.UnicodeScalarView()
            for s in text.unicodeScalars {
                if cleanText {
                    if s.value == 0 || s.value == 0xFFFD || s.isBertControl { continue }
                    if s.isSpace { out.append(" "); continue }
                }
                if chineseChars && s.isCJKIdeograph {
                    out.append(" "); out.append(s); out.append(" ")
                } else {
                    out.append(s)
                }
            }
            var result = String(out)
            if stripAccents {
                // NFD, then the nonspacing marks dropped.
                var kept = String.UnicodeScalarView()
                for s in result.decomposedStringWithCanonicalMapping.unicodeScalars where !s.isBertNonspacingMark { kept.append(s) }
                result = String(kept)
            }
            if lowercase { result = Normalizer.lowercase.apply(result) }
            return result
        case .lowercase:
            // Per scalar, as Rust's char::to_lowercase (full mappings, no context).
            var out = String.UnicodeScalarView()
            for s in text.unicodeScalars { out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars) }
            return String(out)
        case .stripAccents:
            // Every combining mark (M*) dropped, without decomposing first (a file puts NFD before it).
            var out = String.UnicodeScalarView()
            for s in text.unicodeScalars {
                guard s.isInBertTables else { out.append(s); continue }   // (the crate's tables predate Unicode 10 here too)
                switch s.properties.generalCategory {
                case .nonspacingMark, .spacingMark, .enclosingMark: continue
                default: out.append(s)
                }
            }
            return String(out)
        case let .unicode(form):
            switch form {
            case .nfc: return text.precomposedStringWithCanonicalMapping
            case .nfd: return text.decomposedStringWithCanonicalMapping
            case .nfkc: return text.precomposedStringWithCompatibilityMapping
            case .nfkd: return text.decomposedStringWithCompatibilityMapping
            }
        case let .prepend(prefix):
            return text.isEmpty ? text : prefix + text
        case let .replace(pattern, content):
            return text.replacingOccurrences(of: pattern, with: content)
        case let .strip(left, right):
            var scalars = Array(text.unicodeScalars)
            if right { while let last = scalars.last, last.isSpace { scalars.removeLast() } }
            if left { scalars = Array(scalars.drop { $0.isSpace }) }
            return String(String.UnicodeScalarView(scalars))
        case let .sequence(steps):
            return steps.reduce(text) { $1.apply($0) }
        }
    }
}
