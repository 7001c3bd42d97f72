/// Cast and CastLike between numbers, bools and strings. Narrow float and integer targets only
/// relabel here: the evaluator rounds float16/bfloat16/float8 and wraps narrow integers after the
/// node. Strings follow numpy's `astype(str)` and parsing, as the corpus was made with it.
enum Cast {
    static let table: [String: Kernel] = [
        "Cast": { call in
            [.tensor(try convert(call.take(0), to: DataType(Int32(truncatingIfNeeded: call.int("to", 0))), call))]
        },
        "CastLike": { call in
            let target = try call.tensor(1).dataType
            return [.tensor(try convert(call.take(0), to: target, call))]
        },
    ]

    static func convert(_ a: NDArray, to t: DataType, _ call: KernelCall) throws -> NDArray {
        if a.dataType == t { return a }
        switch ElementKind(t) {
        case .float:
            switch t {
            case .float, .double, .float16, .bfloat16: break
            case .float8e4m3fn:
                // Without saturation values beyond the largest finite one become NaN.
                if call.int("saturate", 1) == 0 {
                    let v = a.asFloats.map { abs($0) >= 464 ? Float.nan : $0 }
                    return NDArray(floats: v, shape: a.shape, type: t)
                }
            default: throw call.unsupported("cast to \(t)")
            }
            if case .string(let s) = a.storage {
                return NDArray(floats: try s.map { try parseFloat($0, call) }, shape: a.shape, type: t)
            }
            return NDArray(floats: a.asFloats, shape: a.shape, type: t)
        case .int:
            guard NDArray.integerRange(t) != nil || t == .uint64 else { throw call.unsupported("cast to \(t)") }
            switch a.storage {
            case .int(let v): return NDArray(int64s: v, shape: a.shape, type: t)
            case .float(let v):
                if t == .uint64 {
                    return NDArray(int64s: v.map { $0 >= 0x1p63 && $0 < 0x1p64 ? Int64(bitPattern: UInt64($0)) : NDArray.truncatingInt64($0) },
                                   shape: a.shape, type: t)
                }
                return NDArray(int64s: v.map(NDArray.truncatingInt64), shape: a.shape, type: t)
            case .bool(let v): return NDArray(int64s: v.map { $0 ? 1 : 0 }, shape: a.shape, type: t)
            case .string(let v):
                return NDArray(int64s: try v.map { s in
                    if let x = Int64(s) { return x }
                    if t == .uint64, let x = UInt64(s) { return Int64(bitPattern: x) }
                    throw call.failure("'\(s)' is not an integer")
                }, shape: a.shape, type: t)
            }
        case .bool:
            switch a.storage {
            case .float(let v): return NDArray(bools: v.map { $0 != 0 }, shape: a.shape)
            case .int(let v): return NDArray(bools: v.map { $0 != 0 }, shape: a.shape)
            case .bool: return a
            case .string(let v): return NDArray(bools: try v.map { try parseBool($0, call) }, shape: a.shape)
            }
        case .string:
            let s: [String]
            switch a.storage {
            case .float(let v):
                let cutoff: Double = a.dataType == .float16 ? 1e3 : (a.dataType == .double ? 1e16 : 1e6)
                s = v.map { x in
                    numpyString(x, digits: a.dataType == .float16 ? Float16(x).description : x.description, cutoff: cutoff)
                }
            case .int(let v):
                s = Elementwise.isUInt64(a.dataType) ? v.map { String(UInt64(bitPattern: $0)) } : v.map { String($0) }
            case .bool(let v): s = v.map { $0 ? "True" : "False" }
            case .string(let v): s = v
            }
            return NDArray(strings: s, shape: a.shape)
        }
    }

    static func parseFloat(_ s: String, _ call: KernelCall) throws -> Float {
        if let x = Float(s) { return x }
        let trimmed = s.trimmingSpaces
        if let x = Float(trimmed) { return x }
        throw call.failure("'\(s)' is not a number")
    }

    static func parseBool(_ s: String, _ call: KernelCall) throws -> Bool {
        switch s.trimmingSpaces.lowercased() {
        case "true": return true
        case "false", "": return false
        case let t:
            if let x = Float(t) { return x != 0 }
            throw call.failure("'\(s)' is not a bool")
        }
    }

    /// numpy's text for a float: its shortest round-trip digits (from Swift's `digits`
    /// rendering), positional when 1e-4 ≤ |x| < `cutoff` (1e6 for float32), else d.ddde±XX.
    static func numpyString(_ x: Float, digits text: String, cutoff: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        if x == 0 { return x.sign == .minus ? "-0.0" : "0.0" }
        let sign = x < 0 ? "-" : ""
        var body = Substring(text)
        if body.hasPrefix("-") { body = body.dropFirst() }
        // Significant digits d1 d2 … and exponent e of d1.d2… × 10^e.
        var digits: [Character], e: Int
        if let k = body.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            digits = body[..<k].filter { $0 != "." }
            e = Int(body[body.index(after: k)...]) ?? 0
        } else {
            let parts = body.split(separator: ".", omittingEmptySubsequences: false)
            let whole = parts[0], frac = parts.count > 1 ? parts[1] : ""
            let all = Array(whole + frac)
            let lead = all.prefix { $0 == "0" }.count
            digits = Array(all[lead...])
            e = whole.count - 1 - lead
        }
        while digits.count > 1 && digits.last == "0" { digits.removeLast() }
        if digits.isEmpty { digits = ["0"] }
        let magnitude = abs(x)
        if Double(magnitude) >= 1e-4 && Double(magnitude) < cutoff {
            if e >= 0 {
                let whole = String(digits.prefix(e + 1)) + String(repeating: "0", count: max(0, e + 1 - digits.count))
                let frac = digits.count > e + 1 ? String(digits[(e + 1)...]) : "0"
                return sign + whole + "." + frac
            }
            return sign + "0." + String(repeating: "0", count: -e - 1) + String(digits)
        }
        let mantissa = digits.count > 1 ? "\(digits[0])." + String(digits[1...]) : String(digits[0])
        let exponent = abs(e) < 10 ? "0\(abs(e))" : "\(abs(e))"
        return sign + mantissa + "e" + (e < 0 ? "-" : "+") + exponent
    }
}

private extension String {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed())
    }
}

extension Cast {
    /// Integer contents survive a cast between integer types (shapes are often cast to int32 and back).
    static let shapeRules: [String: ShapeRule] = [
        "Cast": { call in try cast(call, to: DataType(Int32(truncatingIfNeeded: call.int("to", 0)))) },
        "CastLike": { call in try cast(call, to: call.type(1)) },
    ]

    static func cast(_ call: ShapeCall, to type: DataType) throws -> [InferredValue] {
        let x = try call.input(0)
        var out = InferredValue.tensor(type, x.shape)
        if ElementKind(type) == .int { out.values = x.values }
        return [out]
    }
}
