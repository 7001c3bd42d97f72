/// A value flowing through a graph: a tensor, a sequence of tensors, or an optional.
public indirect enum Value: Sendable {
    case tensor(NDArray)
    /// A sequence with the element type it was declared with (for empty sequences).
    case sequence([NDArray], elementType: DataType)
    /// An optional: a value or none (with the declared type when known).
    case optional(Value?, type: TypeProto?)

    public var tensor: NDArray? { if case .tensor(let t) = self { return t }; return nil }

    public var kindName: String {
        switch self {
        case .tensor: return "tensor"
        case .sequence: return "sequence"
        case .optional: return "optional"
        }
    }
}
