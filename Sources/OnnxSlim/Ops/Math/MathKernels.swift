/// Elementwise math, activations, comparisons, logic and Cast: the evaluator's kernels of this
/// family, by operator type.
enum MathKernels {
    static let table: [String: Kernel] = {
        var all: [String: Kernel] = [:]
        for part in [Arithmetic.table, Bitwise.table, Unary.table, Activations.table, Variadic.table,
                     Comparison.table, Selection.table, Cast.table] {
            all.merge(part) { _, _ in preconditionFailure("an operator is registered twice in Ops/Math") }
        }
        return all
    }()
}

extension MathKernels {
    static let shapeRules: [String: ShapeRule] = {
        var all: [String: ShapeRule] = [:]
        for part in [Arithmetic.shapeRules, Bitwise.shapeRules, Unary.shapeRules, Activations.shapeRules,
                     Variadic.shapeRules, Comparison.shapeRules, Selection.shapeRules, Cast.shapeRules] {
            all.merge(part) { _, _ in preconditionFailure("an operator has two shape rules in Ops/Math") }
        }
        return all
    }()
}

extension MathKernels {
    /// Elementwise operators: one input keeps every axis; several broadcast.
    static let axisRules: [String: AxisRule] = {
        var all: [String: AxisRule] = [:]
        let broadcasting: Set<String> = ["Add", "Sub", "Mul", "Div", "Mod", "Pow", "PRelu", "Sum", "Mean", "Min", "Max",
                                         "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor",
                                         "Where", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor"]
        for op in table.keys {
            all[op] = broadcasting.contains(op) ? AxisRules.broadcast : AxisRules.identity
        }
        return all
    }()
}
