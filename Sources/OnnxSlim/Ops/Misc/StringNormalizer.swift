/// StringNormalizer (not evaluated): stop words removed from a [C] or [1, C] string tensor, so the
/// length is known only when it runs, unless there are no stop words.
enum StringNormalizer {
    static let shapeRules: [String: ShapeRule] = ["StringNormalizer": { call in
        var s = try call.shape(0)
        guard let last = s.indices.last else { throw call.gap("needs a 1-D or [1, C] input") }
        if !(call.strings("stopwords") ?? []).isEmpty { s[last] = call.runtimeDim() }
        return [.tensor(.string, s)]
    }]
}
