/// Value statistics of two weights of one shape (`diff --weights`): max absolute difference and
/// relative L2 error ‖b − a‖ / ‖a‖. Values are read one tensor pair at a time (external data too,
/// float16/bfloat16 widened), so memory stays at two tensors.
public struct WeightStatistics: Sendable {
    public var maxAbs: Double
    public var relativeL2: Double
    public var differ: Bool

    /// nil when the pair cannot be compared as numbers (different shapes, non-numeric types).
    public static func compare(_ a: Tensor, _ b: Tensor, reader: ExternalDataReader) throws -> WeightStatistics? {
        guard a.dims == b.dims else { return nil }
        let floatA = TensorValues.floatTypes.contains(a.dataType), floatB = TensorValues.floatTypes.contains(b.dataType)
        if floatA && floatB {
            let x = try TensorValues.floats(a, reader: reader), y = try TensorValues.floats(b, reader: reader)
            guard x.count == y.count else { return nil }
            var maxAbs = 0.0, num = 0.0, den = 0.0
            for k in 0..<x.count {
                if x[k] == y[k] { den += x[k].isFinite ? Double(x[k]) * Double(x[k]) : 0; continue }
                let dx = Double(y[k]) - Double(x[k])
                if dx.isNaN { if !(x[k].isNaN && y[k].isNaN) { maxAbs = .infinity } ; continue }
                maxAbs = max(maxAbs, abs(dx))
                num += dx * dx
                den += Double(x[k]) * Double(x[k])
            }
            let rel = den > 0 ? (num / den).squareRoot() : (num > 0 ? Double.infinity : 0)
            return WeightStatistics(maxAbs: maxAbs, relativeL2: rel, differ: maxAbs > 0)
        }
        guard a.dataType == b.dataType else { return nil }
        let intTypes: Set<DataType> = [.int64, .int32, .int16, .int8, .uint8, .uint16, .uint32, .bool]
        if intTypes.contains(a.dataType) {
            let x = try TensorValues.int64s(a, reader: reader), y = try TensorValues.int64s(b, reader: reader)
            guard x.count == y.count else { return nil }
            var maxAbs = 0.0, num = 0.0, den = 0.0
            for k in 0..<x.count {
                let dx = Double(y[k]) - Double(x[k])
                maxAbs = max(maxAbs, abs(dx)); num += dx * dx; den += Double(x[k]) * Double(x[k])
            }
            let rel = den > 0 ? (num / den).squareRoot() : (num > 0 ? Double.infinity : 0)
            return WeightStatistics(maxAbs: maxAbs, relativeL2: rel, differ: maxAbs > 0)
        }
        // Other types: equal bytes or not.
        if let x = try TensorValues.rawBytes(a, reader: reader), let y = try TensorValues.rawBytes(b, reader: reader) {
            let same = x == y
            return WeightStatistics(maxAbs: same ? 0 : .nan, relativeL2: same ? 0 : .nan, differ: !same)
        }
        return nil
    }

    /// "max |Δ| 1.23e-03, rel L2 4.56e-04".
    public var text: String { "max |Δ| \(WeightStatistics.scientific(maxAbs)), rel L2 \(WeightStatistics.scientific(relativeL2))" }

    public var json: JSONValue {
        .object([("max_abs_diff", maxAbs.isFinite ? .double(maxAbs) : .null),
                 ("relative_l2", relativeL2.isFinite ? .double(relativeL2) : .null)])
    }

    /// Three significant digits in e-notation, without Foundation.
    public static func scientific(_ x: Double) -> String {
        if x.isNaN { return "n/a" }
        if x.isInfinite { return "inf" }
        if x == 0 { return "0" }
        var m = abs(x), e = 0
        while m >= 10 { m /= 10; e += 1 }
        while m < 1 { m *= 10; e -= 1 }
        var digits = Formatting.fixed(m, 2)
        if digits.hasPrefix("10") { digits = "1.00"; e += 1 }
        let sign = x < 0 ? "-" : ""
        return "\(sign)\(digits)e\(e < 0 ? "-" : "+")\(abs(e) < 10 ? "0" : "")\(abs(e))"
    }
}

extension JSONValue {
    /// The value of `key` in an object, or null.
    public func field(_ key: String) -> JSONValue {
        if case .object(let fields) = self { return fields.first { $0.0 == key }?.1 ?? .null }
        return .null
    }
}
