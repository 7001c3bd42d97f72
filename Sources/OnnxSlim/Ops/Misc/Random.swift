/// Random generators. The evaluator does not run them (their outputs differ from run to run);
/// their shapes are simple: from the `shape` attribute, or the input's (the *Like forms).
enum RandomOps {
    static let shapeRules: [String: ShapeRule] = [
        "RandomNormal": fromAttribute,
        "RandomUniform": fromAttribute,
        "RandomNormalLike": like,
        "RandomUniformLike": like,
        "Bernoulli": like,
        "Multinomial": { call in
            let s = try call.shape(0)
            guard s.count == 2 else { throw call.gap("input must be [batch, classes]") }
            return [.tensor(DataType(Int32(call.int("dtype", Int(DataType.int32.rawValue)))), [s[0], DimExpr(call.int("sample_size", 1))])]
        },
    ]

    /// float32 unless `dtype` says otherwise.
    static func fromAttribute(_ call: ShapeCall) throws -> [InferredValue] {
        guard let shape = call.ints("shape") else { throw call.gap("the shape attribute is required") }
        return [.tensor(DataType(Int32(call.int("dtype", Int(DataType.float.rawValue)))), shape.map { DimExpr($0) })]
    }

    /// The input's shape; the input's type unless `dtype` says otherwise.
    static func like(_ call: ShapeCall) throws -> [InferredValue] {
        let type = try call.attribute("dtype").map { DataType(Int32($0.i)) } ?? call.type(0)
        return [.tensor(type, try call.shape(0))]
    }
}
