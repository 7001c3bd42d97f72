/// Clip and Where: elementwise choices between values.
enum Selection {
    static let table: [String: Kernel] = [
        "Clip": clip,
        "Where": `where`,
    ]

    /// Bounds are attributes before opset 11 and optional scalar inputs from then on; a missing
    /// bound does not clip. Like numpy's clip, min > max gives max, and NaN stays NaN.
    static func clip(_ call: KernelCall) throws -> [Value] {
        let x = try call.tensor(0)
        if call.opset < 11 {
            let lo = call.float("min", -.greatestFiniteMagnitude), hi = call.float("max", .greatestFiniteMagnitude)
            return try Elementwise.mapFloats(call) { Swift.min(Swift.max($0, lo), hi) }
        }
        let lo = try call.optionalTensor(1), hi = try call.optionalTensor(2)
        for b in [lo, hi] {
            if let b, b.count != 1 { throw call.failure("bounds must be scalars, got shape \(b.shape)") }
        }
        switch x.storage {
        case .float:
            let l = lo?.asFloats[0] ?? -.infinity, h = hi?.asFloats[0] ?? .infinity
            return try Elementwise.mapFloats(call) { Swift.min(Swift.max($0, l), h) }
        case .int:
            let l = lo?.asInt64s[0], h = hi?.asInt64s[0]
            if Elementwise.isUInt64(x.dataType) {
                // Orders bit patterns as unsigned numbers by flipping the sign bit.
                let fl = (l ?? 0) ^ .min, fh = (h ?? -1) ^ .min
                return try Elementwise.mapNumbers(call, float: { $0 }, int: { v, _ in
                    Swift.min(Swift.max(v ^ .min, fl), fh) ^ .min
                })
            }
            let ll = l ?? .min, hh = h ?? .max
            return try Elementwise.mapNumbers(call, float: { $0 }, int: { v, _ in Swift.min(Swift.max(v, ll), hh) })
        default:
            throw call.failure("input is \(x.dataType), expected a number")
        }
    }

    /// condition ? X : Y with all three broadcast together; X and Y may hold any element kind.
    static func `where`(_ call: KernelCall) throws -> [Value] {
        let c = try call.tensor(0), x = try call.tensor(1), y = try call.tensor(2)
        guard let cond = c.bools else { throw call.failure("condition is \(c.dataType), expected bool") }
        guard x.dataType == y.dataType else { throw call.failure("X is \(x.dataType) and Y is \(y.dataType)") }
        let out = try Broadcast.shape([c.shape, x.shape, y.shape])
        let n = out.reduce(1, *)
        // nil where an operand already has the output's layout.
        func map(_ shape: [Int], _ count: Int) -> [Int]? { count == n ? nil : Broadcast.sourceIndices(shape, in: out) }
        let ci = map(c.shape, c.count), xi = map(x.shape, x.count), yi = map(y.shape, y.count)
        @inline(__always) func pick<T>(_ a: [T], _ b: [T]) -> [T] {
            cond.withUnsafeBufferPointer { pc in
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        [T](unsafeUninitializedCapacity: n) { r, count in
                            for k in 0..<n {
                                let v = pc[ci?[k] ?? k] ? pa[xi?[k] ?? k] : pb[yi?[k] ?? k]
                                (r.baseAddress! + k).initialize(to: v)
                            }
                            count = n
                        }
                    }
                }
            }
        }
        let storage: NDArray.Storage
        switch (x.storage, y.storage) {
        case (.float(let a), .float(let b)): storage = .float(pick(a, b))
        case (.int(let a), .int(let b)): storage = .int(pick(a, b))
        case (.bool(let a), .bool(let b)): storage = .bool(pick(a, b))
        case (.string(let a), .string(let b)): storage = .string(pick(a, b))
        default: throw call.failure("X is \(x.dataType) and Y is \(y.dataType)")
        }
        return [.tensor(NDArray(x.dataType, shape: out, storage: storage))]
    }
}

extension Selection {
    static let shapeRules: [String: ShapeRule] = [
        "Clip": ShapeRules.elementwise(flops: 1),
        "Where": { call in
            let shape = try ShapeRules.broadcast([call.shape(0), call.shape(1), call.shape(2)], call)
            var out = InferredValue.tensor(try call.type(1), shape)
            call.countElementwise(out, 1)
            // Contents pick symbolically when the condition is known (exporters build shapes this way).
            if let c = call.constantInts(0), let x = call.dimValues(1), let y = call.dimValues(2),
               let n = out.elementCount?.constant, [c.count, x.count, y.count].allSatisfy({ $0 == n || $0 == 1 }) {
                out.values = (0..<n).map { i in c[c.count == 1 ? 0 : i] != 0 ? x[x.count == 1 ? 0 : i] : y[y.count == 1 ? 0 : i] }
            }
            return [out]
        },
    ]
}
