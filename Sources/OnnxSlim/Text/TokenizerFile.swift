import Foundation

/// Reading a Hugging Face tokenizer.json into a `Tokenizer`. Components it does not implement
/// (a Metaspace pre-tokenizer, a Unigram model, regex Split/Replace patterns) are refused with
/// their name, rather than tokenized differently.
extension Tokenizer {
    public static func load(_ path: String) throws -> Tokenizer {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw OnnxSlimError.badInput(path, "cannot read the tokenizer file")
        }
        let json: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw OnnxSlimError.badInput(path, "not a tokenizer.json (no top-level object)")
            }
            json = object
        } catch let error as OnnxSlimError {
            throw error
        } catch {
            throw OnnxSlimError.badInput(path, "not valid JSON")
        }
        func fail(_ what: String) -> OnnxSlimError { OnnxSlimError.badInput(path, what) }
        guard let modelJSON = json["model"] as? [String: Any] else { throw fail("no \"model\"") }
        var tokenizer = Tokenizer(model: try Self.model(modelJSON, fail: fail))
        tokenizer.normalizer = try (json["normalizer"] as? [String: Any]).map { try Self.normalizer($0, fail: fail) }
        tokenizer.preTokenizer = try (json["pre_tokenizer"] as? [String: Any]).map { try Self.preTokenizer($0, fail: fail) }
        if let post = json["post_processor"] as? [String: Any] { tokenizer.postProcessor = try Self.postProcessor(post, fail: fail) }
        var added: [(content: [Unicode.Scalar], id: Int)] = []
        for case let token as [String: Any] in json["added_tokens"] as? [Any] ?? [] {
            guard let content = token["content"] as? String, let id = Self.int(token["id"]) else { continue }
            added.append((Array(content.unicodeScalars), id))
        }
        tokenizer.addedTokens = added.sorted { $0.content.count > $1.content.count }
        if let truncation = json["truncation"] as? [String: Any] {
            tokenizer.maxLength = Self.int(truncation["max_length"])
            tokenizer.truncateLeft = (truncation["direction"] as? String) == "Left"
        }
        return tokenizer
    }

    static func int(_ value: Any?) -> Int? {
        if let i = value as? Int { return i }
        if let d = value as? Double, d == d.rounded() { return Int(d) }
        if let n = value as? NSNumber { return n.intValue }
        return nil
    }

    private static func vocabulary(_ json: [String: Any], fail: (String) -> OnnxSlimError) throws -> [VocabularyKey: Int] {
        guard let vocab = json["vocab"] as? [String: Any] else { throw fail("model has no \"vocab\" object") }
        var out: [VocabularyKey: Int] = [:]
        out.reserveCapacity(vocab.count)
        for (token, value) in vocab {
            guard let id = int(value) else { throw fail("vocab entry '\(token)' has no integer id") }
            out[Array(token.utf8)] = id
        }
        return out
    }

    private static func model(_ json: [String: Any], fail: (String) -> OnnxSlimError) throws
        -> TokenModel {
        let type = json["type"] as? String ?? (json["merges"] != nil ? "BPE" : "")
        let vocab = try vocabulary(json, fail: fail)
        func id(_ token: String?) -> Int? { token.flatMap { vocab[Array($0.utf8)] } }
        switch type {
        case "WordPiece":
            guard let unknown = id(json["unk_token"] as? String ?? "[UNK]") else { throw fail("WordPiece unk_token not in the vocabulary") }
            let wp = WordPiece(vocabulary: vocab, unknown: unknown, prefix: json["continuing_subword_prefix"] as? String ?? "##",
                               maxCharacters: int(json["max_input_chars_per_word"]) ?? 100)
            return .wordPiece(wp)
        case "BPE":
            if let dropout = json["dropout"] as? Double, dropout > 0 { throw fail("BPE dropout is random; not supported") }
            var merges: [Int: (rank: Int, id: Int)] = [:]
            let list = json["merges"] as? [Any] ?? []
            merges.reserveCapacity(list.count)
            for (rank, entry) in list.enumerated() {
                // "a b" (older files) or ["a", "b"].
                let pair: [String]
                if let s = entry as? String {
                    guard let space = s.firstIndex(of: " ") else { throw fail("merge '\(s)' is not two tokens") }
                    pair = [String(s[..<space]), String(s[s.index(after: space)...])]
                } else if let a = entry as? [String], a.count == 2 {
                    pair = a
                } else {
                    throw fail("merge \(rank) is neither \"a b\" nor [a, b]")
                }
                // With a continuation prefix the merged token drops the right part's ("th" + "@@e" → "the").
                var rightText = pair[1]
                if let prefix = json["continuing_subword_prefix"] as? String, !prefix.isEmpty, rightText.hasPrefix(prefix) {
                    rightText = String(rightText.dropFirst(prefix.count))
                }
                guard let left = id(pair[0]), let right = id(pair[1]), let merged = id(pair[0] + rightText) else { continue }
                let key = left << 32 | right
                if merges[key] == nil { merges[key] = (rank, merged) }
            }
            let bpe = BytePairEncoding(merges: merges, vocabulary: vocab, unknown: id(json["unk_token"] as? String),
                                       prefix: json["continuing_subword_prefix"] as? String,
                                       suffix: json["end_of_word_suffix"] as? String)
            return .bpe(bpe)
        default:
            throw fail("model type '\(type)' is not supported (WordPiece and BPE are)")
        }
    }

    private static func normalizer(_ json: [String: Any], fail: (String) -> OnnxSlimError) throws -> Normalizer {
        let type = json["type"] as? String ?? ""
        switch type {
        case "BertNormalizer":
            let lowercase = json["lowercase"] as? Bool ?? true
            return .bert(cleanText: json["clean_text"] as? Bool ?? true, chineseChars: json["handle_chinese_chars"] as? Bool ?? true,
                         stripAccents: json["strip_accents"] as? Bool ?? lowercase, lowercase: lowercase)
        case "Lowercase": return .lowercase
        case "StripAccents": return .stripAccents
        case "NFC", "NFD", "NFKC", "NFKD": return .unicode(Normalizer.Form(rawValue: type)!)
        case "Prepend": return .prepend(json["prepend"] as? String ?? "")
        case "Strip": return .strip(left: json["strip_left"] as? Bool ?? true, right: json["strip_right"] as? Bool ?? true)
        case "Replace":
            guard let pattern = (json["pattern"] as? [String: Any])?["String"] as? String else {
                throw fail("normalizer Replace with a regex pattern is not supported")
            }
            return .replace(pattern: pattern, content: json["content"] as? String ?? "")
        case "Sequence":
            return .sequence(try (json["normalizers"] as? [[String: Any]] ?? []).map { try normalizer($0, fail: fail) })
        default:
            throw fail("normalizer '\(type)' is not supported")
        }
    }

    private static func preTokenizer(_ json: [String: Any], fail: (String) -> OnnxSlimError) throws -> PreTokenizer {
        let type = json["type"] as? String ?? ""
        switch type {
        case "BertPreTokenizer": return .bert
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: json["add_prefix_space"] as? Bool ?? true, useRegex: json["use_regex"] as? Bool ?? true)
        case "Digits": return .digits(individual: json["individual_digits"] as? Bool ?? false)
        case "Whitespace": return .whitespace
        case "WhitespaceSplit": return .whitespaceSplit
        case "Sequence":
            return .sequence(try (json["pretokenizers"] as? [[String: Any]] ?? []).map { try preTokenizer($0, fail: fail) })
        default:
            throw fail("pre_tokenizer '\(type)' is not supported")
        }
    }

    private static func postProcessor(_ json: [String: Any], fail: (String) -> OnnxSlimError) throws -> PostProcessor {
        let type = json["type"] as? String ?? ""
        func pair(_ key: String) throws -> Int {
            guard let p = json[key] as? [Any], p.count == 2, let id = int(p[1]) else { throw fail("\(type) without \(key)") }
            return id
        }
        switch type {
        case "ByteLevel": return PostProcessor()
        case "BertProcessing", "RobertaProcessing":
            return PostProcessor(items: [.special([try pair("cls")], type: 0), .sequence(type: 0), .special([try pair("sep")], type: 0)])
        case "TemplateProcessing":
            let specials = json["special_tokens"] as? [String: Any] ?? [:]
            var items: [PostProcessor.Item] = []
            for case let item as [String: Any] in json["single"] as? [Any] ?? [] {
                if let special = item["SpecialToken"] as? [String: Any], let name = special["id"] as? String {
                    guard let ids = ((specials[name] as? [String: Any])?["ids"] as? [Any])?.compactMap(int) else {
                        throw fail("TemplateProcessing special token '\(name)' has no ids")
                    }
                    items.append(.special(ids, type: int(special["type_id"]) ?? 0))
                } else if let sequence = item["Sequence"] as? [String: Any] {
                    items.append(.sequence(type: int(sequence["type_id"]) ?? 0))
                }
            }
            return PostProcessor(items: items)
        case "Sequence":
            // (ByteLevel steps add nothing; at most one step adds tokens.)
            let steps = try (json["processors"] as? [[String: Any]] ?? []).map { try postProcessor($0, fail: fail) }
            return steps.first { $0.added > 0 } ?? PostProcessor()
        default:
            throw fail("post_processor '\(type)' is not supported")
        }
    }
}
