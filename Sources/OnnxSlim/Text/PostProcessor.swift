/// A tokenizer.json `post_processor` for one sequence: the special tokens around it (BERT's
/// [CLS] … [SEP]) and the token type ids.
struct PostProcessor {
    enum Item { case special([Int], type: Int), sequence(type: Int) }
    var items: [Item] = [.sequence(type: 0)]

    /// Tokens it adds to a sequence (what truncation leaves room for).
    var added: Int { items.reduce(0) { if case let .special(ids, _) = $1 { return $0 + ids.count }; return $0 } }

    func apply(_ ids: [Int]) -> (ids: [Int], types: [Int]) {
        var out: [Int] = [], types: [Int] = []
        for item in items {
            switch item {
            case let .special(special, type):
                out += special
                types += [Int](repeating: type, count: special.count)
            case let .sequence(type):
                out += ids
                types += [Int](repeating: type, count: ids.count)
            }
        }
        return (out, types)
    }
}
