/// Loops the elementwise kernels share. They write into an operand's buffer when the call owns it
/// (the evaluator hands values over at their last use), so a chain of activations allocates nothing.
/// Every helper is `@inline(__always)` so the operation closures passed from the kernel tables
/// inline into the loops.
enum Elementwise {
    /// Input `k`'s float values, moved out of the call: unique when nothing else holds them.
    @inline(__always)
    static func takeFloats(_ call: KernelCall, _ k: Int) throws -> (NDArray, [Float]) {
        var a = try call.take(k)
        guard case .float(let v) = a.storage else {
            throw call.failure("input \(k) is \(a.dataType), expected a floating type")
        }
        a.storage = .float([])
        return (a, v)
    }

    /// `op` applied to every float of input 0; the result keeps its type and shape.
    @inline(__always)
    static func mapFloats(_ call: KernelCall, _ op: (Float) -> Float) throws -> [Value] {
        var (a, v) = try takeFloats(call, 0)
        v.withUnsafeMutableBufferPointer { p in
            for k in 0..<p.count { p[k] = op(p[k]) }
        }
        a.storage = .float(v)
        return [.tensor(a)]
    }

    /// `body` run once over input 0's floats, in place; for the FastMath loops.
    static func updateFloats(_ call: KernelCall, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) throws -> [Value] {
        var (a, v) = try takeFloats(call, 0)
        v.withUnsafeMutableBufferPointer { body($0) }
        a.storage = .float(v)
        return [.tensor(a)]
    }

    /// `float` over floating inputs, `int` over integer ones (given the element type).
    @inline(__always)
    static func mapNumbers(_ call: KernelCall, float: (Float) -> Float,
                           int: (Int64, DataType) -> Int64) throws -> [Value] {
        var a = try call.take(0)
        switch a.storage {
        case .float(var v):
            a.storage = .float([])
            v.withUnsafeMutableBufferPointer { p in for k in 0..<p.count { p[k] = float(p[k]) } }
            a.storage = .float(v)
        case .int(var v):
            a.storage = .int([])
            let t = a.dataType
            v.withUnsafeMutableBufferPointer { p in for k in 0..<p.count { p[k] = int(p[k], t) } }
            a.storage = .int(v)
        default:
            throw call.failure("input is \(a.dataType), expected a number")
        }
        return [.tensor(a)]
    }

    /// A predicate over the floats of input 0, as a bool tensor.
    @inline(__always)
    static func testFloats(_ call: KernelCall, _ test: (Float) -> Bool) throws -> [Value] {
        let a = try call.tensor(0)
        guard let v = a.floats else { throw call.failure("input is \(a.dataType), expected a floating type") }
        let r = v.withUnsafeBufferPointer { p in
            [Bool](unsafeUninitializedCapacity: p.count) { out, n in
                for k in 0..<p.count { (out.baseAddress! + k).initialize(to: test(p[k])) }
                n = p.count
            }
        }
        return [.tensor(NDArray(bools: r, shape: a.shape))]
    }

    // MARK: binary

    /// `op(x, y)` over `x` and `y` broadcast together. Writes into whichever operand already has
    /// the result's shape (its buffer is reused when unique); otherwise allocates.
    @inline(__always)
    static func combine<T>(_ x: inout [T], _ xShape: [Int], _ y: inout [T], _ yShape: [Int],
                           _ op: (T, T) -> T) throws -> (values: [T], shape: [Int]) {
        let out = try Broadcast.shape(xShape, yShape)
        if xShape == out {
            update(&x, with: y, yShape, out, op)
            return (x, out)
        }
        if yShape == out {
            update(&y, with: x, xShape, out, { op($1, $0) })
            return (y, out)
        }
        return try Broadcast.binary(x, xShape, y, yShape, op)
    }

    /// `d[k] = op(d[k], o[…])` with `o` (of shape `oShape`) broadcast to `out`, the shape of `d`.
    /// Fast paths: equal shapes, a scalar, and an operand that varies along one run of dims (a
    /// bias over the last dims, or per-channel values over [C, 1, 1]).
    @inline(__always)
    static func update<T>(_ d: inout [T], with o: [T], _ oShape: [Int], _ out: [Int], _ op: (T, T) -> T) {
        let n = d.count
        o.withUnsafeBufferPointer { po in
            d.withUnsafeMutableBufferPointer { pd in
                if po.count == n {
                    for k in 0..<n { pd[k] = op(pd[k], po[k]) }
                    return
                }
                if po.count == 1 {
                    let s = po[0]
                    for k in 0..<n { pd[k] = op(pd[k], s) }
                    return
                }
                if n == 0 { return }
                if let (m, inner) = run(of: oShape, in: out) {
                    let outer = n / (m * inner)
                    var k = 0
                    if inner == 1 {
                        for _ in 0..<outer {
                            for j in 0..<m { pd[k + j] = op(pd[k + j], po[j]) }
                            k += m
                        }
                    } else {
                        for _ in 0..<outer {
                            for j in 0..<m {
                                let s = po[j]
                                for i in k..<(k + inner) { pd[i] = op(pd[i], s) }
                                k += inner
                            }
                        }
                    }
                    return
                }
                let st = Broadcast.strides(oShape, in: out)
                Broadcast.forEachOffset(out, st) { k, off in pd[k] = op(pd[k], po[off]) }
            }
        }
    }

    /// When `shape` (broadcast into `out`) is 1 everywhere except one run of dims equal to the
    /// same dims of `out`: the run's element count and the element count of `out` after the run.
    static func run(of shape: [Int], in out: [Int]) -> (m: Int, inner: Int)? {
        let lead = out.count - shape.count
        guard lead >= 0 else { return nil }
        let dims = shape.enumerated().filter { $0.element != 1 }.map { $0.offset }
        guard let first = dims.first, let last = dims.last, last - first + 1 == dims.count else { return nil }
        var m = 1
        for k in first...last {
            guard shape[k] == out[lead + k] else { return nil }
            m *= shape[k]
        }
        let inner = out[(lead + last + 1)...].reduce(1, *)
        return (m, inner)
    }

    /// A binary kernel over two operands of one storage kind (float or integer); the result has
    /// the first operand's type. `int` receives the element type for unsigned 64-bit semantics.
    @inline(__always)
    static func binary(_ call: KernelCall, float: (Float, Float) -> Float,
                       int: (Int64, Int64) -> Int64) throws -> [Value] {
        var a = try call.take(0)
        var b = try call.take(1)
        guard a.dataType == b.dataType else { throw call.failure("operands are \(a.dataType) and \(b.dataType)") }
        switch (a.storage, b.storage) {
        case (.float(var x), .float(var y)):
            a.storage = .float([]); b.storage = .float([])
            let r = try combine(&x, a.shape, &y, b.shape, float)
            return [.tensor(NDArray(floats: r.values, shape: r.shape, type: a.dataType))]
        case (.int(var x), .int(var y)):
            a.storage = .int([]); b.storage = .int([])
            let r = try combine(&x, a.shape, &y, b.shape, int)
            return [.tensor(NDArray(int64s: r.values, shape: r.shape, type: a.dataType))]
        default:
            throw call.failure("operands are \(a.dataType) and \(b.dataType)")
        }
    }

    /// True for the one integer type whose values do not fit Int64's sign: uint64 is stored as its
    /// bit pattern, so its comparisons, division and right shifts need the unsigned forms.
    @inline(__always)
    static func isUInt64(_ t: DataType) -> Bool { t == .uint64 }
}
