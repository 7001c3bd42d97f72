/// Squeeze, Unsqueeze and Flatten: new shapes over the same values. Axes are an attribute
/// before opset 13 and an input from 13.
enum SqueezeOp {
    private static func axes(_ call: KernelCall) throws -> [Int]? {
        if call.opset >= 13 { return try call.optionalTensor(1)?.asInts }
        return call.ints("axes")
    }

    static func squeeze(_ call: KernelCall) throws -> [Value] {
        let x = try call.take(0)
        let shape: [Int]
        if let spec = try axes(call) {
            let drop = Set(try Axes.normalize(spec, rank: x.rank))
            for a in drop where x.shape[a] != 1 { throw call.failure("dim \(a) of shape \(x.shape) is not 1") }
            shape = x.shape.enumerated().filter { !drop.contains($0.offset) }.map(\.element)
        } else {
            shape = x.shape.filter { $0 != 1 }
        }
        return [.tensor(x.reshaped(shape))]
    }

    static func unsqueeze(_ call: KernelCall) throws -> [Value] {
        let x = try call.take(0)
        guard let spec = try axes(call) else { throw call.failure("axes are required") }
        let rank = x.rank + spec.count
        let added = Set(try Axes.normalize(spec, rank: rank))
        guard added.count == spec.count else { throw call.failure("repeated axes \(spec)") }
        var rest = x.shape.makeIterator()
        let shape = (0..<rank).map { added.contains($0) ? 1 : rest.next() ?? 1 }
        return [.tensor(x.reshaped(shape))]
    }

    static func flatten(_ call: KernelCall) throws -> [Value] {
        let x = try call.take(0)
        let raw = call.int("axis", 1)
        let axis = raw < 0 ? raw + x.rank : raw
        guard axis >= 0 && axis <= x.rank else { throw call.failure("axis \(raw) is out of range for rank \(x.rank)") }
        return [.tensor(x.reshaped([Axes.product(x.shape, 0..<axis), Axes.product(x.shape, axis..<x.rank)]))]
    }
}
