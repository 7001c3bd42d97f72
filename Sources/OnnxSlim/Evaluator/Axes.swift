/// Axis arguments as operators take them: negative values count from the end.
public enum Axes {
    /// `axis` in 0..<rank (negative counts from the end); throws when out of range.
    public static func normalize(_ axis: Int, rank: Int) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0 && a < max(rank, 1) else {
            throw OnnxSlimError(.badInput, "axis \(axis) is out of range for rank \(rank)")
        }
        return a
    }

    public static func normalize(_ axes: [Int], rank: Int) throws -> [Int] {
        try axes.map { try normalize($0, rank: rank) }
    }

    /// Product of `shape[range]`.
    public static func product(_ shape: [Int], _ range: Range<Int>) -> Int {
        shape[range].reduce(1, *)
    }
}
