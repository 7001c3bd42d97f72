/// TfIdfVectorizer: counts the n-grams of a pool (with up to `max_skip_count` skipped items
/// between their elements) in each row of the input, weighted per `mode` (TF, IDF, TFIDF).
enum TfIdfVectorizer {
    static let table: [String: Kernel] = ["TfIdfVectorizer": kernel]

    /// A trie over pool items: `id` (1-based, 0 for none) names the n-gram ending here.
    final class Trie<Key: Hashable> {
        var id = 0
        var children: [Key: Trie] = [:]
    }

    static func kernel(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        if let pool = call.strings("pool_strings"), !pool.isEmpty {
            guard let items = x.strings else { throw call.failure("input must be strings for pool_strings") }
            return try evaluate(call, x.shape, items, pool)
        }
        let pool = (call.attribute("pool_int64s")?.ints ?? []).map { Int64($0) }
        guard x.kind == .int else { throw call.failure("input must be integer for pool_int64s") }
        return try evaluate(call, x.shape, x.asInt64s, pool)
    }

    static func evaluate<Key: Hashable>(_ call: KernelCall, _ shape: [Int], _ items: [Key], _ pool: [Key]) throws -> [Value] {
        let minGram = call.int("min_gram_length", 1), maxGram = call.int("max_gram_length", 1)
        let maxSkip = call.int("max_skip_count", 0)
        let counts = call.ints("ngram_counts") ?? [], indexes = call.ints("ngram_indexes") ?? []
        let weights = call.floats("weights") ?? []
        let mode = call.string("mode", "TF")
        guard minGram >= 1, maxGram >= minGram, maxSkip >= 0 else { throw call.failure("bad gram lengths") }
        let outputSize = (indexes.max() ?? -1) + 1

        // The pool holds all 1-grams, then all 2-grams, …; group g starts at counts[g].
        let root = Trie<Key>()
        var nextID = 1
        for (g, start) in counts.enumerated() {
            let size = g + 1
            let end = g + 1 < counts.count ? counts[g + 1] : pool.count
            guard start >= 0, end <= pool.count, start <= end else { throw call.failure("ngram_counts do not fit the pool") }
            let grams = (end - start) / size
            guard size >= minGram && size <= maxGram else { nextID += grams; continue }
            for q in 0..<grams {
                var node = root
                for e in 0..<size {
                    let key = pool[start + q * size + e]
                    let child = node.children[key] ?? Trie<Key>()
                    node.children[key] = child
                    node = child
                }
                node.id = nextID
                nextID += 1
            }
        }

        let rows: Int, width: Int
        switch shape.count {
        case 0, 1: rows = 1; width = items.count
        case 2: rows = shape[0]; width = shape[1]
        default: throw call.failure("input must be [C] or [B, C]")
        }
        var frequency = [Int](repeating: 0, count: rows * outputSize)
        for row in 0..<rows {
            let begin = row * width, end = begin + width
            var startSize = minGram
            for skip in 1...(maxSkip + 1) {
                var start = begin
                while start < end && start + skip * (startSize - 1) < end {
                    var node = root, item = start, size = 1
                    while !node.children.isEmpty && size <= maxGram && item < end {
                        guard let next = node.children[items[item]] else { break }
                        if size >= startSize && next.id != 0 {
                            guard next.id - 1 < indexes.count else { throw call.failure("ngram_indexes is too short") }
                            frequency[row * outputSize + indexes[next.id - 1]] += 1
                        }
                        node = next
                        size += 1
                        item += skip
                    }
                    start += 1
                }
                // 1-grams do not depend on the skip distance: count them once.
                if startSize == 1 {
                    startSize = 2
                    if startSize > maxGram { break }
                }
            }
        }

        var out = [Float](repeating: 0, count: frequency.count)
        for (p, f) in frequency.enumerated() {
            let w: Float = weights.isEmpty ? 1 : (p % outputSize < weights.count ? weights[p % outputSize] : 0)
            switch mode {
            case "TF": out[p] = Float(f)
            case "IDF": out[p] = f > 0 ? w : 0
            case "TFIDF": out[p] = w * Float(f)
            default: throw call.failure("unknown mode '\(mode)'")
            }
        }
        let outShape = shape.count == 2 ? [rows, outputSize] : [outputSize]
        return [.tensor(NDArray(floats: out, shape: outShape))]
    }
}

extension TfIdfVectorizer {
    /// [D] or [N, D] with D one past the largest n-gram index.
    static let shapeRules: [String: ShapeRule] = ["TfIdfVectorizer": { call in
        let s = try call.shape(0)
        let d = DimExpr((call.ints("ngram_indexes")?.max() ?? -1) + 1)
        return [.tensor(.float, s.count == 2 ? [s[0], d] : [d])]
    }]
}
