/// Every kernel the evaluator has, by operator type (default ONNX domain): the kernels of
/// `OperatorRegistry`.
public enum KernelRegistry {
    static let table: [String: Kernel] = OperatorRegistry.entries.compactMapValues(\.kernel)

    static func kernel(for node: Node) -> Kernel? {
        OperatorRegistry.entry(for: node)?.kernel
    }

    public static var supportedOperators: [String] { table.keys.sorted() }
}
