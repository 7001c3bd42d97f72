import Foundation

/// A Hugging Face tokenizer (tokenizer.json) in Swift, so calibration can start from text: the
/// `tokenizers` crate's pipeline for one sequence — added tokens split out of the raw text,
/// normalizer, pre-tokenizer, model (WordPiece or BPE), post-processor, truncation — giving the
/// same ids (the tests compare token for token with the `tokenizers` package). Padding is left
/// out: calibration samples keep their own lengths.
public struct Tokenizer {
    var normalizer: Normalizer?
    var preTokenizer: PreTokenizer?
    var model: TokenModel
    var postProcessor = PostProcessor()
    /// Added tokens matched in the raw text, longest first.
    var addedTokens: [(content: [Unicode.Scalar], id: Int)] = [] {
        didSet { addedFirstScalars = Set(addedTokens.compactMap(\.content.first)) }
    }
    private var addedFirstScalars: Set<Unicode.Scalar> = []
    var maxLength: Int?
    var truncateLeft = false

    init(model: TokenModel) { self.model = model }

    /// One encoded sequence: ids and token type ids.
    public struct Encoding: Equatable, Sendable {
        public var ids: [Int]
        public var types: [Int]
    }

    /// True when the post-processor adds special tokens around a sequence (an encoder's
    /// [CLS] … [SEP]): such models take one sentence per sample.
    public var addsSpecialTokens: Bool { postProcessor.added > 0 }

    /// The id of `token` (special tokens included), nil when the vocabulary lacks it.
    public func id(of token: String) -> Int? { model.vocabulary[Array(token.utf8)] }

    /// `text`'s ids. `specialTokens`: with the post-processor's tokens and truncation, as
    /// `tokenizers`' encode(text) gives them; without, the plain ids (for windows of a long text).
    public func encode(_ text: String, specialTokens: Bool = true) -> Encoding {
        var ids: [Int] = []
        var cache: [String: [Int]] = [:]
        for segment in splitAddedTokens(text) {
            switch segment {
            case let .token(id): ids.append(id)
            case let .text(raw):
                let normalized = normalizer?.apply(raw) ?? raw
                let pieces = preTokenizer?.apply([normalized]) ?? [normalized]
                for piece in pieces where !piece.isEmpty { ids += model.encode(piece, cache: &cache) }
            }
        }
        guard specialTokens else { return Encoding(ids: ids, types: [Int](repeating: 0, count: ids.count)) }
        if let maxLength {
            let room = max(0, maxLength - postProcessor.added)
            if ids.count > room { ids = truncateLeft ? Array(ids.suffix(room)) : Array(ids.prefix(room)) }
        }
        let (out, types) = postProcessor.apply(ids)
        return Encoding(ids: out, types: types)
    }

    private enum Segment { case text(String), token(Int) }

    /// The raw text cut at every added token (leftmost, then longest match).
    private func splitAddedTokens(_ text: String) -> [Segment] {
        guard !addedTokens.isEmpty else { return [.text(text)] }
        let s = Array(text.unicodeScalars)
        var out: [Segment] = []
        var start = 0, i = 0
        while i < s.count {
            if addedFirstScalars.contains(s[i]), let hit = addedTokens.first(where: { t in
                i + t.content.count <= s.count && s[i..<(i + t.content.count)].elementsEqual(t.content)
            }) {
                if i > start { out.append(.text(String(String.UnicodeScalarView(s[start..<i])))) }
                out.append(.token(hit.id))
                i += hit.content.count
                start = i
            } else {
                i += 1
            }
        }
        if start < s.count { out.append(.text(String(String.UnicodeScalarView(s[start...])))) }
        return out
    }
}
