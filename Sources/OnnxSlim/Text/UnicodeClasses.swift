/// The character classes tokenizers split on, as the Rust `tokenizers` crate and its regex
/// engine define them (on Unicode scalars, not grapheme clusters).
extension Unicode.Scalar {
    /// The crate's regexes (Oniguruma) know Unicode up to 15.0: a scalar assigned later is in
    /// none of their classes (U+1ADC, a nonspacing mark since 17.0, is no \w there).
    var isInRegexTables: Bool {
        guard let age = properties.age else { return false }
        return age.major < 15 || (age.major == 15 && age.minor == 0)
    }

    /// \p{L}: a letter (Lu, Ll, Lt, Lm, Lo), by the regexes' tables.
    var isLetter: Bool {
        guard isInRegexTables else { return false }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    /// \p{N}: Nd, Nl, No, by the regexes' tables.
    var isNumber: Bool { isInRegexTables && isNumeric }

    /// Rust's `char::is_numeric` (the Digits pre-tokenizer): Nd, Nl, No, current tables.
    var isNumeric: Bool {
        switch properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// \s and Rust's `char::is_whitespace`: the White_Space property.
    var isSpace: Bool { properties.isWhitespace }

    /// Unicode punctuation (P*), as BERT's pre-tokenizer isolates it together with ASCII symbols.
    var isPunctuation: Bool {
        guard isInBertTables else { return false }
        switch properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// ASCII punctuation and symbols: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~.
    var isASCIIPunctuation: Bool {
        let v = value
        return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
    }

    /// Control, format, private-use and surrogate scalars, except tab, newline and carriage
    /// return: what BERT's text cleaning drops. (The crate means all of C*, but its category
    /// tables list no unassigned code points, so those stay.)
    var isBertControl: Bool {
        if value == 9 || value == 10 || value == 13 { return false }
        guard isInBertTables else { return false }
        switch properties.generalCategory {
        case .control, .format, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// BERT's normalizer and pre-tokenizer take categories from the `unicode_categories` crate,
    /// whose tables are Unicode 9.0's: a scalar assigned later is in none of them (U+07FD, a
    /// nonspacing mark since 11.0, is not an accent to strip there).
    var isInBertTables: Bool {
        guard let age = properties.age else { return false }
        return age.major < 9 || (age.major == 9 && age.minor == 0)
    }

    /// A nonspacing mark (Mn) by BERT's tables: what stripping accents drops after NFD.
    var isBertNonspacingMark: Bool { isInBertTables && properties.generalCategory == .nonspacingMark }

    /// \w as the regex crate defines it: Alphabetic, marks, decimal digits, connector
    /// punctuation, joiners.
    var isWordCharacter: Bool {
        guard isInRegexTables else { return false }
        if properties.isAlphabetic || value == 0x200C || value == 0x200D { return true }
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// A CJK ideograph, which BERT surrounds with spaces (each becomes a word).
    var isCJKIdeograph: Bool {
        switch value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}
