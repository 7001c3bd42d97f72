/// Attribute access with ONNX defaults, shared by what kernels see (`KernelCall`) and what shape
/// rules see (`ShapeCall`).
public protocol AttributeReading {
    var node: Node { get }
    /// The error for attributes that do not fit (a kernel's bad input, a shape rule's gap), so
    /// arithmetic on attributes (ConvGeometry) is written once for both.
    func attributeError(_ message: String) -> any Error
}

extension AttributeReading {
    public func attribute(_ name: String) -> Attribute? { node.attribute(name) }
    public func int(_ name: String, _ fallback: Int) -> Int { node.attribute(name).map { Int($0.i) } ?? fallback }
    public func float(_ name: String, _ fallback: Float) -> Float { node.attribute(name)?.f ?? fallback }
    public func ints(_ name: String) -> [Int]? { node.attribute(name).map { $0.ints.map { Int($0) } } }
    public func floats(_ name: String) -> [Float]? { node.attribute(name)?.floats }
    public func string(_ name: String, _ fallback: String) -> String { node.attribute(name)?.stringValue ?? fallback }
    public func strings(_ name: String) -> [String]? {
        node.attribute(name).map { $0.strings.map { String(decoding: $0, as: UTF8.self) } }
    }
}
