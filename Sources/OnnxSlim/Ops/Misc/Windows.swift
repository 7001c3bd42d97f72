import Glibc

/// HannWindow, HammingWindow, BlackmanWindow: window functions of a given length, periodic
/// (denominator N) or symmetric (N - 1).
enum Windows {
    static let table: [String: Kernel] = [
        "HannWindow": kernel { n, d in let s = sin(Double.pi * n / d); return s * s },
        "HammingWindow": kernel { n, d in 25.0 / 46.0 - (21.0 / 46.0) * cos(2 * Double.pi * n / d) },
        "BlackmanWindow": kernel { n, d in 0.42 - 0.5 * cos(2 * Double.pi * n / d) + 0.08 * cos(4 * Double.pi * n / d) },
    ]

    static func kernel(_ w: @escaping (Double, Double) -> Double) -> Kernel {
        return { call in
            let sizeT = try call.tensor(0)
            guard sizeT.count == 1, let size = sizeT.asInts.first, size >= 0 else {
                throw call.failure("size must be one non-negative value")
            }
            let denominator = Double(call.int("periodic", 1) != 0 ? size : size - 1)
            let values = (0..<size).map { w(Double($0), denominator) }
            let type = DataType(Int32(call.int("output_datatype", 1)))
            switch ElementKind(type) {
            case .float: return [.tensor(NDArray(floats: values.map { Float($0) }, shape: [size], type: type))]
            case .int: return [.tensor(NDArray(int64s: values.map { Int64($0) }, shape: [size], type: type))]
            default: throw call.failure("output_datatype \(type) is not numeric")
            }
        }
    }
}

extension Windows {
    /// [size] of `output_datatype` (float by default).
    static let shapeRules: [String: ShapeRule] = ShapeRules.table(table.keys) { call in
        [.tensor(DataType(Int32(call.int("output_datatype", 1))), [try call.requiredDims(0, "the window size").first ?? call.runtimeDim()])]
    }
}
