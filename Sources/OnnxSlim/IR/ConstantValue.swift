/// A Constant node may hold its value as a tensor (`value`, `sparse_value`) or as plain attribute
/// values (`value_float`, `value_floats`, `value_int`, `value_ints`, `value_string(s)`). The latter
/// are presented to passes as tensors too, so weights are reachable uniformly; a pass that changes
/// such a tensor gets it written back as an ordinary `value` tensor (same meaning in ONNX).
extension Attribute {
    static let constantValueNames: Set<String> = [
        "value_float", "value_floats", "value_int", "value_ints", "value_string", "value_strings",
    ]

    /// The tensor a Constant's scalar/list value attribute stands for; nil for other attributes.
    func constantValueTensor(name: String) -> Tensor? {
        var t = Tensor()
        t.name = name
        switch self.name {
        case "value_float": t.dataType = .float; t.floatData = [f]
        case "value_floats": t.dataType = .float; t.dims = [Int64(floats.count)]; t.floatData = floats
        case "value_int": t.dataType = .int64; t.int64Data = [i]
        case "value_ints": t.dataType = .int64; t.dims = [Int64(ints.count)]; t.int64Data = ints
        case "value_string": t.dataType = .string; t.stringData = [ByteView(copying: s)]
        case "value_strings": t.dataType = .string; t.dims = [Int64(strings.count)]; t.stringData = strings.map { ByteView(copying: $0) }
        default: return nil
        }
        return t
    }
}

extension Node {
    /// True for a Constant of the default domain.
    public var isConstant: Bool { opType == "Constant" && isDefaultDomain }
}
