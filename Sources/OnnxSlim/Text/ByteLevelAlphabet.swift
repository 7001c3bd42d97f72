/// GPT-2's byte-to-character table: every byte of the UTF-8 text maps to one printable
/// character, so byte-level BPE vocabularies hold only visible strings ("Ġthe" for " the").
/// Printable Latin-1 bytes (!…~, ¡…¬, ®…ÿ) map to themselves; the other 68 to U+0100 onwards,
/// in byte order.
enum ByteLevelAlphabet {
    static let characters: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The characters of `text`'s UTF-8 bytes.
    static func encode(_ text: Substring.UnicodeScalarView) -> String {
        var out = String.UnicodeScalarView()
        for byte in String(String.UnicodeScalarView(text)).utf8 { out.append(characters[Int(byte)]) }
        return String(out)
    }
}
