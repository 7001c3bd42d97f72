/// Axis rules: which axes of a node's inputs and outputs carry the same channels, so structural
/// pruning can follow one channel (or head) through the graph and find everything that must
/// shrink with it (as tract's `axes_mapping`, DepGraph's dependency rules).
///
/// A rule answers one question: given channel units on `axis` of port `from`, which other ports
/// carry them, on which axis and at which indices? A MatMul's reduction axis ties A's last axis
/// to B's rows and reaches no output, so a walk ends there; Softmax over the axis cannot be
/// followed and says why.
public enum NodePort: Hashable, Sendable, CustomStringConvertible {
    case input(Int)
    case output(Int)

    public var description: String {
        switch self {
        case .input(let k): return "input \(k)"
        case .output(let k): return "output \(k)"
        }
    }
}

/// Channel units on one axis of a value: unit u is the set of indices `units[u]` along `axis`
/// (one index for a neuron or channel; a block of head_dim indices for a head; several blocks
/// for a head of a packed QKV weight). `length` is the axis length.
///
/// On an axis that merges a head axis with a symbolic one ([B, H] → [B·H], as the dynamo
/// exporter builds Kᵀ), the units repeat with `period` (= `length`): index i belongs to the
/// unit holding i mod period.
public struct AxisUnits: Hashable, Sendable {
    public var axis: Int
    public var length: Int
    public var units: [[Int]]
    /// Set when the axis is a symbolic number of repetitions of `length` indices.
    public var period: Int?

    public init(axis: Int, length: Int, units: [[Int]], period: Int? = nil) {
        self.axis = axis
        self.length = length
        self.units = units
        self.period = period
    }

    /// The same indices on another axis (of the same length).
    public func on(axis: Int) -> AxisUnits { AxisUnits(axis: axis, length: length, units: units, period: period) }

    /// The indices shifted by `offset` on an axis of `length` (Concat inputs into their output).
    public func shifted(by offset: Int, axis: Int, length: Int) -> AxisUnits {
        AxisUnits(axis: axis, length: length, units: units.map { $0.map { $0 + offset } })
    }

    /// The units restricted to [start, start + count), re-based to 0 (a Concat output into one
    /// input); nil when a unit straddles the boundary. Units with no index there become empty.
    public func window(start: Int, count: Int, axis: Int) -> AxisUnits? {
        var out: [[Int]] = []
        for u in units {
            let inside = u.filter { $0 >= start && $0 < start + count }
            guard inside.isEmpty || inside.count == u.count else { return nil }
            out.append(inside.map { $0 - start })
        }
        return AxisUnits(axis: axis, length: count, units: out)
    }

    /// Every index expanded into `inner` consecutive ones, repeated for `outer` blocks of the
    /// merged axis (axes [outer…, this, inner…] merged into one): index i becomes
    /// o·length·inner + i·inner + p.
    public func merged(outer: Int, inner: Int, axis: Int) -> AxisUnits {
        let units = self.units.map { u in
            (0..<outer).flatMap { o in u.flatMap { i in (0..<inner).map { o * length * inner + i * inner + $0 } } }
        }
        return AxisUnits(axis: axis, length: outer * length * inner, units: units)
    }

    /// The inverse of `merged`: this axis is [outer, n, inner] flattened; nil unless every unit is
    /// exactly a set of whole inner blocks repeated identically across the outer blocks.
    public func split(outer: Int, inner: Int, axis: Int) -> AxisUnits? {
        guard outer > 0, inner > 0, length % (outer * inner) == 0 else { return nil }
        let n = length / (outer * inner)
        var out: [[Int]] = []
        for u in units {
            let set = Set(u)
            let rows = Set(u.map { ($0 / inner) % n })
            guard set.count == rows.count * outer * inner else { return nil }
            for r in rows {
                for o in 0..<outer { for p in 0..<inner where !set.contains(o * n * inner + r * inner + p) { return nil } }
            }
            out.append(rows.sorted())
        }
        return AxisUnits(axis: axis, length: n, units: out)
    }

    /// Indices of the units kept, in axis order.
    public func keptIndices(_ kept: [Int]) -> [Int] { kept.flatMap { units[$0] }.sorted() }
}

/// A length written in the graph that must follow an axis when it shrinks: an element of a
/// Reshape/Expand shape input, a Split size, a depthwise Conv's `group`.
public struct LengthEdit: Hashable, Sendable {
    public enum Site: Hashable, Sendable {
        /// Element `element` of the constant (or constant-built) 1-D input at `input`.
        case inputElement(input: Int, element: Int)
        /// An INT attribute, or element `element` of an INTS attribute.
        case attribute(String, element: Int?)
    }
    public var site: Site
    /// The new value is the length of this port's axis after pruning, divided by `divisor`
    /// (a head count from its head_dim-wide blocks).
    public var tracks: NodePort
    public var axis: Int
    public var divisor: Int = 1
}

/// What a rule says about units arriving at one port.
public enum AxisAnswer: Sendable {
    /// The ports carrying the same units (none: the axis ends here, as a reduction does), and
    /// the lengths written in the node that follow them.
    case tied([(port: NodePort, units: AxisUnits)], edits: [LengthEdit] = [])
    /// The units cannot be followed through the node; the reason goes in the report.
    case opaque(String)
}

/// What a rule sees of the node: dims as shape inference knows them (symbolic dims as
/// expressions, nil for an unknown rank) and the integer contents of small inputs.
public struct AxisCall: AttributeReading {
    public let node: Node
    public let opset: Int
    public let inputShapes: [[DimExpr]?]
    public let outputShapes: [[DimExpr]?]
    /// Known contents of small integer inputs (Reshape shapes, Split sizes, axes), elements nil
    /// where symbolic.
    public let inputValues: [[Int?]?]

    public init(node: Node, opset: Int, inputShapes: [[DimExpr]?], outputShapes: [[DimExpr]?], inputValues: [[Int?]?]) {
        self.node = node
        self.opset = opset
        self.inputShapes = inputShapes
        self.outputShapes = outputShapes
        self.inputValues = inputValues
    }

    public func shape(_ port: NodePort) -> [DimExpr]? {
        switch port {
        case .input(let k): return k < inputShapes.count ? inputShapes[k] : nil
        case .output(let k): return k < outputShapes.count ? outputShapes[k] : nil
        }
    }
    public func rank(_ port: NodePort) -> Int? { shape(port)?.count }
    /// A dim as a number, nil when symbolic or unknown.
    public func dim(_ port: NodePort, _ axis: Int) -> Int? {
        guard let s = shape(port), axis >= 0, axis < s.count else { return nil }
        return s[axis].constant
    }
    public func hasInput(_ k: Int) -> Bool { k < node.inputs.count && !node.inputs[k].isEmpty }
    public func values(_ k: Int) -> [Int?]? { k < inputValues.count ? inputValues[k] : nil }
    /// Input `k`'s contents when every element is known.
    public func knownValues(_ k: Int) -> [Int]? {
        guard let v = values(k), !v.contains(where: { $0 == nil }) else { return nil }
        return v.map { $0! }
    }
    public var inputCount: Int { node.inputs.count }
    public var outputCount: Int { node.outputs.count }

    public func attributeError(_ message: String) -> any Error {
        OnnxSlimError(.badInput, "\(node.opType) node '\(node.name)': \(message)")
    }
}

public typealias AxisRule = (AxisCall, NodePort, AxisUnits) -> AxisAnswer

/// Rules many operators share.
public enum AxisRules {
    /// One input, one output, same shape (Relu, Cast, Identity, Dropout's data, …).
    public static func identity(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        switch from {
        case .input(0): return .tied([(.output(0), u)])
        case .output(0): return .tied([(.input(0), u)])
        default: return .tied([])   // a second output (Dropout's mask) or a parameter input
        }
    }

    /// Numpy broadcasting over every input (Add, Mul, Where, …): the output axis aligned with
    /// the arriving one, and every input whose dim there is not 1. An input whose dim there is
    /// unknown could be broadcasting or not: the rule cannot tell.
    public static func broadcast(_ call: AxisCall, _ from: NodePort, _ u: AxisUnits) -> AxisAnswer {
        guard let outRank = call.rank(.output(0)) else { return .opaque("output rank unknown") }
        let fromRank = call.rank(from) ?? outRank
        let outAxis = u.axis + (outRank - fromRank)
        var links: [(port: NodePort, units: AxisUnits)] = []
        if from != .output(0) { links.append((.output(0), u.on(axis: outAxis))) }
        for k in call.node.inputs.indices where call.hasInput(k) && from != .input(k) {
            guard let shape = call.shape(.input(k)) else { return .opaque("input \(k)'s rank is unknown") }
            let axis = outAxis - (outRank - shape.count)
            guard axis >= 0 else { continue }                        // lower rank: broadcast along it
            guard let dim = shape[axis].constant else { return .opaque("cannot tell whether input \(k) broadcasts along the axis") }
            if dim == 1 && u.length != 1 { continue }
            guard dim == u.length else { return .opaque("input \(k) has \(dim) along the axis, not \(u.length)") }
            links.append((.input(k), u.on(axis: axis)))
        }
        return .tied(links)
    }

    /// An operator whose every output axis is a function of all input positions along it
    /// (Softmax's axis, a normalization's normalized axes) is opaque on those axes and an
    /// identity elsewhere; `opaqueAxes` lists them for the rank.
    public static func identity(except opaqueAxes: @escaping (AxisCall, Int) -> Set<Int>, reason: String) -> AxisRule {
        { call, from, u in
            guard let rank = call.rank(from) ?? call.rank(.output(0)) else { return .opaque("rank unknown") }
            if opaqueAxes(call, rank).contains(u.axis) { return .opaque(reason) }
            return identity(call, from, u)
        }
    }

    /// Rules for operators the walk cannot follow, with the reason.
    public static func opaque(_ reason: String) -> AxisRule { { _, _, _ in .opaque(reason) } }

    /// `axis` (possibly negative) as an index into `rank` dims.
    public static func normalize(_ axis: Int, rank: Int) -> Int { axis < 0 ? axis + rank : axis }
}
