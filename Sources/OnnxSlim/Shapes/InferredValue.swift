/// What shape inference knows about one value: its kind, element type and shape (dims may be
/// symbolic), and for small tensors their contents, so shape arithmetic (Shape → Gather → Concat →
/// Reshape) stays exact.
public struct InferredValue: Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case tensor, sequence, optional, map, unknown }

    public var kind: Kind
    /// The element type (for a sequence or optional: of the tensor inside); `.undefined` when unknown.
    public var elemType: DataType
    /// Dims, nil when even the rank is unknown. For a sequence or optional: of the tensor inside.
    public var shape: [DimExpr]?
    /// Contents of a small integer or bool tensor (bools as 0/1), row-major.
    public var values: [DimExpr]?
    /// Contents of a small floating tensor (Resize scales, …).
    public var floats: [Double]?
    /// Why the value is unknown (or only partly known).
    public var reason: String?

    public init(kind: Kind = .tensor, elemType: DataType, shape: [DimExpr]?, values: [DimExpr]? = nil, floats: [Double]? = nil) {
        self.kind = kind
        self.elemType = elemType
        self.shape = shape
        self.values = values
        self.floats = floats
    }

    public static func tensor(_ type: DataType, _ shape: [DimExpr]?) -> InferredValue {
        InferredValue(elemType: type, shape: shape)
    }

    /// A 1-D or 0-D integer tensor with known contents (a shape being computed).
    public static func integers(_ values: [DimExpr], type: DataType = .int64, scalar: Bool = false) -> InferredValue {
        InferredValue(elemType: type, shape: scalar ? [] : [DimExpr(values.count)], values: values)
    }

    public static func unknown(_ reason: String) -> InferredValue {
        var v = InferredValue(kind: .unknown, elemType: .undefined, shape: nil)
        v.reason = reason
        return v
    }

    /// True when kind, element type and every dim are known (symbols count as known).
    public var isComplete: Bool {
        guard kind != .unknown else { return false }
        if kind == .map { return true }
        guard elemType != .undefined, let shape else { return false }
        return !shape.contains { $0.hasUnknown }
    }

    /// The element count as an expression, when the shape is known.
    public var elementCount: DimExpr? {
        guard kind == .tensor, let shape else { return nil }
        return shape.reduce(DimExpr(1), *)
    }

    /// Integer contents as numbers, when every element is a known number.
    public var constantInts: [Int]? {
        guard let values else { return nil }
        var out: [Int] = []
        out.reserveCapacity(values.count)
        for v in values {
            guard let c = v.constant else { return nil }
            out.append(c)
        }
        return out
    }

    /// "float32[batch,3,224,224]", "seq(int64[?])", "?".
    public var description: String {
        let dims = shape.map { "[" + $0.map(\.description).joined(separator: ",") + "]" } ?? "[…]"
        let type = elemType == .undefined ? "?" : elemType.description
        switch kind {
        case .tensor: return type + dims
        case .sequence: return "seq(\(type)\(dims))"
        case .optional: return "optional(\(type)\(dims))"
        case .map: return "map"
        case .unknown: return "?"
        }
    }

    /// The declared ONNX type as an inferred value: dim_params become symbols, dims with neither
    /// value nor name (or a negative value) become symbols named after the value (`input_1`), so
    /// formulas can name them.
    public init(declared type: TypeProto?, name: String) {
        func tensor(_ t: TensorType) -> (DataType, [DimExpr]?) {
            let dims = t.shape.map { shape in
                shape.dims.enumerated().map { k, d -> DimExpr in
                    switch d.value {
                    // Paddle writes unknown dims as dim_value -1: a negative value is unknown.
                    case .value(let v) where v >= 0: return DimExpr(Int(v))
                    case .param(let p): return .symbol(p)
                    case .value, .unknown: return .symbol("\(name)_\(k)")
                    }
                }
            }
            return (t.elemType, dims)
        }
        switch type?.value {
        case .tensor(let t)?, .sparseTensor(let t)?:
            let (e, d) = tensor(t)
            self.init(elemType: e, shape: d)
        case .sequence(let c)?, .optional(let c)?:
            var kind = Kind.sequence
            if case .optional = type?.value { kind = .optional }
            if case .tensor(let t)? = c.elemType?.value {
                let (e, d) = tensor(t)
                self.init(kind: kind, elemType: e, shape: d)
            } else {
                self.init(kind: kind, elemType: .undefined, shape: nil)
            }
        case .map?:
            self.init(kind: .map, elemType: .undefined, shape: nil)
        default:
            self.init(kind: .unknown, elemType: .undefined, shape: nil)
            reason = "no declared type"
        }
    }
}
