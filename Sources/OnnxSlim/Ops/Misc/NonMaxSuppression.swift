/// NonMaxSuppression: per batch and class, boxes by descending score (lower index first on
/// ties), each kept unless it overlaps a kept box by more than the IoU threshold.
enum NonMaxSuppression {
    static let table: [String: Kernel] = ["NonMaxSuppression": kernel]

    static func kernel(_ call: KernelCall) throws -> [Value] {
        let boxesT = try call.tensor(0), scoresT = try call.tensor(1)
        guard boxesT.rank == 3, boxesT.shape[2] == 4, scoresT.rank == 3,
              scoresT.shape[0] == boxesT.shape[0], scoresT.shape[2] == boxesT.shape[1] else {
            throw call.failure("boxes \(boxesT.shape) and scores \(scoresT.shape) do not match [B, N, 4] and [B, C, N]")
        }
        let maxOut = try call.optionalTensor(2)?.asInt64s.first ?? 0
        let iou = try call.optionalTensor(3)?.asFloats.first ?? 0
        let scoreThreshold = try call.optionalTensor(4)?.asFloats.first
        let centerFormat = call.int("center_point_box", 0) != 0
        let boxes = boxesT.asFloats, scores = scoresT.asFloats
        let batches = boxesT.shape[0], count = boxesT.shape[1], classes = scoresT.shape[1]

        /// [y1, x1, y2, x2] (or [xc, yc, w, h]) as ordered (yMin, xMin, yMax, xMax).
        func corners(_ b: Int, _ i: Int) -> (Float, Float, Float, Float) {
            let p = (b * count + i) * 4
            let a = boxes[p], c = boxes[p + 1], e = boxes[p + 2], f = boxes[p + 3]
            if centerFormat { return (c - f / 2, a - e / 2, c + f / 2, a + e / 2) }
            return (Swift.min(a, e), Swift.min(c, f), Swift.max(a, e), Swift.max(c, f))
        }
        func suppresses(_ b: Int, _ i: Int, _ j: Int) -> Bool {
            let p = corners(b, i), q = corners(b, j)
            let ix = Swift.min(p.3, q.3) - Swift.max(p.1, q.1), iy = Swift.min(p.2, q.2) - Swift.max(p.0, q.0)
            if ix <= 0 || iy <= 0 { return false }
            let inter = ix * iy
            let a1 = (p.3 - p.1) * (p.2 - p.0), a2 = (q.3 - q.1) * (q.2 - q.0)
            let union = a1 + a2 - inter
            if a1 <= 0 || a2 <= 0 || union <= 0 { return false }
            return inter / union > iou
        }

        var selected: [Int64] = []
        if maxOut > 0 {
            for b in 0..<batches {
                for cls in 0..<classes {
                    let base = (b * classes + cls) * count
                    var candidates = (0..<count).filter { scoreThreshold == nil || scores[base + $0] > scoreThreshold! }
                    candidates.sort { scores[base + $0] > scores[base + $1] || (scores[base + $0] == scores[base + $1] && $0 < $1) }
                    var kept: [Int] = []
                    for i in candidates {
                        if kept.count >= Int(maxOut) { break }
                        if kept.contains(where: { suppresses(b, i, $0) }) { continue }
                        kept.append(i)
                        selected += [Int64(b), Int64(cls), Int64(i)]
                    }
                }
            }
        }
        return [.tensor(NDArray(int64s: selected, shape: [selected.count / 3, 3]))]
    }
}

extension NonMaxSuppression {
    /// [selected, 3] int64: how many boxes survive is known only when the model runs.
    static let shapeRules: [String: ShapeRule] = ["NonMaxSuppression": { call in [.tensor(.int64, [call.runtimeDim(), 3])] }]
}
