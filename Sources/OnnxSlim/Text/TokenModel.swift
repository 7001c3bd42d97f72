/// A tokenizer.json `model`: one pre-tokenized piece → token ids.
enum TokenModel {
    case wordPiece(WordPiece)
    case bpe(BytePairEncoding)

    var vocabulary: [VocabularyKey: Int] {
        switch self {
        case let .wordPiece(m): return m.vocabulary
        case let .bpe(m): return m.vocabulary
        }
    }

    func encode(_ piece: String, cache: inout [String: [Int]]) -> [Int] {
        switch self {
        case let .wordPiece(m): return m.encode(piece)
        case let .bpe(m):
            if let hit = cache[piece] { return hit }
            let ids = m.encode(piece)
            if cache.count < 100_000 { cache[piece] = ids }
            return ids
        }
    }
}

/// Vocabulary keys as UTF-8 bytes: Swift's String equality is canonical equivalence, which
/// would merge vocabulary entries the tokenizer keeps apart ("é" as one scalar or two).
typealias VocabularyKey = [UInt8]

/// WordPiece (BERT): each word greedily split into the longest vocabulary entries from its
/// start, every entry after the first with the continuation prefix ("##"); a word with a part
/// not in the vocabulary, or longer than `maxCharacters`, is the unknown token.
struct WordPiece {
    var vocabulary: [VocabularyKey: Int]
    var unknown: Int
    var prefix: String
    var maxCharacters: Int

    func encode(_ word: String) -> [Int] {
        let scalars = Array(word.unicodeScalars)
        if scalars.count > maxCharacters { return [unknown] }
        var ids: [Int] = []
        var start = 0
        while start < scalars.count {
            var end = scalars.count, found: Int?
            while end > start {
                var piece = String(String.UnicodeScalarView(scalars[start..<end]))
                if start > 0 { piece = prefix + piece }
                if let id = vocabulary[Array(piece.utf8)] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unknown] }
            ids.append(id)
            start = end
        }
        return ids
    }
}

/// Byte-pair encoding: a piece starts as its characters (byte characters for byte-level
/// vocabularies), and the adjacent pair of lowest merge rank is merged until no pair has one;
/// equal ranks merge leftmost first, as the `tokenizers` crate does.
struct BytePairEncoding {
    /// (left id << 32 | right id) → (rank, merged id).
    var merges: [Int: (rank: Int, id: Int)]
    var vocabulary: [VocabularyKey: Int]
    var unknown: Int?
    var prefix: String?
    var suffix: String?

    func encode(_ piece: String) -> [Int] {
        let chars = Array(piece.unicodeScalars)
        var symbols: [Int] = []
        symbols.reserveCapacity(chars.count)
        for (k, c) in chars.enumerated() {
            var s = String(c)
            if k > 0, let prefix { s = prefix + s }
            if k == chars.count - 1, let suffix { s += suffix }
            if let id = vocabulary[Array(s.utf8)] {
                symbols.append(id)
            } else if let unknown {
                // (fuse_unk aside: consecutive unknowns stay separate.)
                symbols.append(unknown)
            }
        }
        while symbols.count > 1 {
            var best = Int.max, at = -1, merged = 0
            for k in 0..<(symbols.count - 1) {
                if let m = merges[symbols[k] << 32 | symbols[k + 1]], m.rank < best {
                    best = m.rank; at = k; merged = m.id
                }
            }
            if at < 0 { break }
            symbols[at] = merged
            symbols.remove(at: at + 1)
        }
        return symbols
    }
}
