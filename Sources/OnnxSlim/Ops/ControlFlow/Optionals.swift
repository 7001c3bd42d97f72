/// Optional, OptionalHasElement, OptionalGetElement: wrapping a value that may be absent.
enum OptionalOps {
    static let table: [String: Kernel] = [
        "Optional": make,
        "OptionalHasElement": hasElement,
        "OptionalGetElement": getElement,
    ]

    /// An optional holding the input, or an empty one of the `type` attribute.
    static func make(_ call: KernelCall) throws -> [Value] {
        let type = call.attribute("type")?.tp
        if call.has(0) { return [.optional(try call.value(0), type: type)] }
        guard type != nil else { throw call.failure("an empty Optional needs the type attribute") }
        return [.optional(nil, type: type)]
    }

    /// True when the input is a non-empty optional or a plain tensor/sequence; false when it is an
    /// empty optional or omitted (opset 18).
    static func hasElement(_ call: KernelCall) throws -> [Value] {
        var has = false
        if call.has(0) {
            if case .optional(let v, _) = try call.value(0) { has = v != nil } else { has = true }
        }
        return [.tensor(NDArray(bools: [has], shape: []))]
    }

    /// The optional's value; a plain tensor or sequence passes through (opset 18).
    static func getElement(_ call: KernelCall) throws -> [Value] {
        let v = try call.value(0)
        guard case .optional(let inner, _) = v else { return [v] }
        guard let inner else { throw call.failure("the optional holds no value") }
        return [inner]
    }
}

extension OptionalOps {
    static let shapeRules: [String: ShapeRule] = [
        "Optional": { call in
            var v = call.has(0) ? try call.input(0) : InferredValue(declared: call.attribute("type")?.tp, name: call.node.name)
            v.kind = .optional
            return [v]
        },
        "OptionalHasElement": { _ in [.tensor(.bool, [])] },
        "OptionalGetElement": { call in
            var v = try call.input(0)
            if v.kind == .optional { v.kind = .tensor }
            return [v]
        },
    ]
}
