/// Einsum: every equation reduces to diagonals (repeated labels in one operand), sums over
/// labels nobody needs any more, and pairwise contractions — each a transpose to
/// [batch, free, summed] × [batch, summed, free] and one matrix product per batch element.
enum Einsum {
    /// An operand (or partial result) with one label per axis: a letter's code point, or
    /// `ellipsisBase + j` for the j-th broadcast axis an ellipsis stands for.
    struct Term {
        var array: NDArray
        var labels: [Int]
    }

    static let ellipsisBase = 1000

    static func evaluate(_ call: KernelCall) throws -> [Value] {
        let equation = call.string("equation", "").filter { $0 != " " }
        // "->" is the only use of '>' and '-' in an equation.
        let sides = equation.filter { $0 != "-" }.split(separator: ">", omittingEmptySubsequences: false).map(String.init)
        guard equation.filter({ $0 == "-" }).count == sides.count - 1 else { throw call.failure("bad equation '\(equation)'") }
        guard sides.count <= 2, let lhs = sides.first else { throw call.failure("bad equation '\(equation)'") }
        let specs = lhs.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard specs.count == call.inputCount else {
            throw call.failure("equation names \(specs.count) operands, node has \(call.inputCount)")
        }
        var terms: [Term] = []
        let arrays = try (0..<call.inputCount).map { try call.tensor($0) }
        guard let type = arrays.first?.dataType, arrays.allSatisfy({ $0.dataType == type }) else {
            throw call.failure("operands must share one element type")
        }
        guard arrays.allSatisfy({ $0.kind == .float || $0.kind == .int }) else { throw call.unsupported("Einsum on \(type)") }

        // Ellipsis axes align from the right across operands, like broadcasting.
        let parsed = try specs.map { try parse($0, call) }
        var ellipsisRank = 0
        for (k, p) in parsed.enumerated() {
            let e = arrays[k].rank - p.letters.count
            guard p.hasEllipsis ? e >= 0 : e == 0 else {
                throw call.failure("operand \(k) of shape \(arrays[k].shape) does not fit '\(specs[k])'")
            }
            ellipsisRank = max(ellipsisRank, e)
        }
        for (k, p) in parsed.enumerated() {
            let e = arrays[k].rank - p.letters.count
            let ell = Array((ellipsisBase + ellipsisRank - e)..<(ellipsisBase + ellipsisRank))
            let labels = p.letters.prefix(p.ellipsisAt).map { $0 } + ell + p.letters.dropFirst(p.ellipsisAt)
            terms.append(Term(array: arrays[k], labels: labels))
        }

        let allEllipsis = Array(ellipsisBase..<(ellipsisBase + ellipsisRank))
        var output: [Int]
        if sides.count == 2 {
            let p = try parse(sides[1], call)
            output = p.hasEllipsis ? p.letters.prefix(p.ellipsisAt) + allEllipsis + p.letters.dropFirst(p.ellipsisAt) : p.letters
        } else {
            // Implicit output: broadcast axes, then letters used exactly once, alphabetically.
            var uses: [Int: Int] = [:]
            for p in parsed { for l in p.letters { uses[l, default: 0] += 1 } }
            output = allEllipsis + uses.filter { $0.value == 1 }.keys.sorted()
        }
        guard Set(output).count == output.count else { throw call.failure("repeated output label in '\(equation)'") }

        // The size of each label, broadcasting 1 against n.
        var sizes: [Int: Int] = [:]
        for t in terms {
            for (l, d) in zip(t.labels, t.array.shape) {
                let s = sizes[l] ?? 1
                guard s == d || s == 1 || d == 1 else { throw call.failure("label sizes \(s) and \(d) disagree") }
                sizes[l] = max(s, d)
            }
        }
        for l in output where sizes[l] == nil { throw call.failure("output label not among the inputs") }

        for k in terms.indices {
            terms[k] = try diagonal(terms[k], call)
            // A stretched size-1 axis is as if the operand lacked that label.
            let t = terms[k]
            let keep = t.labels.indices.filter { !(t.array.shape[$0] == 1 && (sizes[t.labels[$0]] ?? 1) > 1) }
            if keep.count < t.labels.count {
                terms[k] = Term(array: t.array.reshaped(keep.map { t.array.shape[$0] }), labels: keep.map { t.labels[$0] })
            }
        }

        func needed(after k: Int) -> Set<Int> {
            var s = Set(output)
            for t in terms[(k + 1)...] { s.formUnion(t.labels) }
            return s
        }
        var acc = sumOut(terms[0], keeping: needed(after: 0).union(terms.count > 1 ? terms[1].labels : []))
        for k in 1..<max(1, terms.count) {
            let keep = needed(after: k)
            let next = sumOut(terms[k], keeping: keep.union(acc.labels))
            acc = try contract(sumOut(acc, keeping: keep.union(next.labels)), next, keeping: keep, call)
        }
        acc = sumOut(acc, keeping: Set(output))
        // Labels of size 1 squeezed away everywhere come back as axes of size 1.
        for l in output where !acc.labels.contains(l) {
            acc = Term(array: acc.array.reshaped(acc.array.shape + [1]), labels: acc.labels + [l])
        }
        let result = transposed(acc, to: output).array
        return [.tensor(NDArray(type, shape: result.shape, storage: result.storage))]
    }

    /// One side of the equation: its letters and where an ellipsis sits among them.
    static func parse(_ spec: String, _ call: some AttributeReading) throws -> (letters: [Int], hasEllipsis: Bool, ellipsisAt: Int) {
        var letters: [Int] = [], at = -1
        var rest = Substring(spec)
        while let ch = rest.first {
            if rest.hasPrefix("...") {
                guard at < 0 else { throw call.attributeError("two ellipses in '\(spec)'") }
                at = letters.count
                rest = rest.dropFirst(3)
                continue
            }
            guard ch.isLetter, let v = ch.asciiValue else { throw call.attributeError("bad label '\(ch)' in '\(spec)'") }
            letters.append(Int(v))
            rest = rest.dropFirst()
        }
        return (letters, at >= 0, at >= 0 ? at : letters.count)
    }

    /// Folds repeated labels of one operand onto their diagonal.
    static func diagonal(_ t: Term, _ call: KernelCall) throws -> Term {
        var t = t
        while let j = t.labels.indices.first(where: { t.labels[..<$0].contains(t.labels[$0]) }) {
            guard let i = t.labels.firstIndex(of: t.labels[j]) else { break }
            guard t.array.shape[i] == t.array.shape[j] else { throw call.failure("diagonal of unequal axes") }
            var st = NDArray.strides(t.array.shape)
            st[i] += st[j]
            st.remove(at: j)
            var shape = t.array.shape
            shape.remove(at: j)
            t.array = t.array.gathered(Broadcast.sourceIndicesStrided(shape, st), shape: shape)
            t.labels.remove(at: j)
        }
        return t
    }

    /// `t` with its axes reordered to `labels` (a permutation of its own).
    static func transposed(_ t: Term, to labels: [Int]) -> Term {
        let perm = labels.compactMap { t.labels.firstIndex(of: $0) }
        if perm == Array(0..<perm.count) { return Term(array: t.array, labels: labels) }
        let shape = perm.map { t.array.shape[$0] }
        return Term(array: t.array.gathered(NDArray.transposeIndices(t.array.shape, perm: perm), shape: shape), labels: labels)
    }

    /// `t` summed over every label not in `keep`.
    static func sumOut(_ t: Term, keeping keep: Set<Int>) -> Term {
        let kept = t.labels.filter { keep.contains($0) }
        if kept.count == t.labels.count { return t }
        let moved = transposed(t, to: kept + t.labels.filter { !keep.contains($0) })
        let shape = Array(moved.array.shape.prefix(kept.count))
        let outer = shape.reduce(1, *), inner = moved.array.shape.dropFirst(kept.count).reduce(1, *)
        let storage: NDArray.Storage
        switch moved.array.storage {
        case .float(let v):
            storage = .float((0..<outer).map { o in
                var s: Float = 0
                for i in 0..<inner { s += v[o * inner + i] }
                return s
            })
        case .int(let v):
            storage = .int((0..<outer).map { o in
                var s: Int64 = 0
                for i in 0..<inner { s &+= v[o * inner + i] }
                return s
            })
        default:
            storage = moved.array.storage
        }
        return Term(array: NDArray(t.array.dataType, shape: shape, storage: storage), labels: kept)
    }

    /// The product of two terms summed over their shared labels not in `keep`; shared kept
    /// labels are batch axes. Result labels: batch, then a's own, then b's own.
    static func contract(_ a: Term, _ b: Term, keeping keep: Set<Int>, _ call: KernelCall) throws -> Term {
        let batch = a.labels.filter { b.labels.contains($0) && keep.contains($0) }
        let summed = a.labels.filter { b.labels.contains($0) && !keep.contains($0) }
        let aOwn = a.labels.filter { !b.labels.contains($0) }
        let bOwn = b.labels.filter { !a.labels.contains($0) }
        let at = transposed(a, to: batch + aOwn + summed), bt = transposed(b, to: batch + summed + bOwn)
        let nb = batch.count, na = aOwn.count, ns = summed.count
        guard Array(at.array.shape.prefix(nb + 0)) == Array(bt.array.shape.prefix(nb)),
              Array(at.array.shape.suffix(ns)) == Array(bt.array.shape[nb..<(nb + ns)]) else {
            throw call.failure("shared labels have different sizes")
        }
        let bs = at.array.shape.prefix(nb).reduce(1, *)
        let m = at.array.shape[nb..<(nb + na)].reduce(1, *)
        let k = at.array.shape.suffix(ns).reduce(1, *)
        let n = bt.array.shape.suffix(bOwn.count).reduce(1, *)
        let shape = Array(at.array.shape.prefix(nb + na)) + Array(bt.array.shape.suffix(bOwn.count))
        let storage: NDArray.Storage
        if let av = at.array.floats, let bv = bt.array.floats {
            var out = [Float](repeating: 0, count: bs * m * n)
            av.withUnsafeBufferPointer { pa in bv.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { pc in
                guard let ca = pa.baseAddress, let cb = pb.baseAddress, let cc = pc.baseAddress else { return }
                for t in 0..<bs {
                    BLAS.sgemm(m: m, n: n, k: k, a: ca + t * m * k, lda: k, b: cb + t * k * n, ldb: n, c: cc + t * m * n, ldc: n)
                }
            } } }
            storage = .float(out)
        } else {
            let av = at.array.asInt64s.map { Double($0) }, bv = bt.array.asInt64s.map { Double($0) }
            var out = [Double](repeating: 0, count: bs * m * n)
            av.withUnsafeBufferPointer { pa in bv.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { pc in
                guard let ca = pa.baseAddress, let cb = pb.baseAddress, let cc = pc.baseAddress else { return }
                for t in 0..<bs {
                    BLAS.dgemm(m: m, n: n, k: k, a: ca + t * m * k, lda: k, b: cb + t * k * n, ldb: n, c: cc + t * m * n, ldc: n)
                }
            } } }
            storage = .int(out.map { Int64($0) })
        }
        return Term(array: NDArray(a.array.dataType, shape: shape, storage: storage), labels: batch + aOwn + bOwn)
    }
}

extension Einsum {
    /// Output dims by label; MACs = the product of every label's size (each combination of
    /// labels is one multiply-accumulate) when two or more operands are contracted.
    static func inferShape(_ call: ShapeCall) throws -> [InferredValue] {
        let equation = call.string("equation", "").filter { $0 != " " }
        let sides = equation.filter { $0 != "-" }.split(separator: ">", omittingEmptySubsequences: false).map(String.init)
        guard sides.count <= 2, let lhs = sides.first else { throw call.gap("bad equation '\(equation)'") }
        let specs = lhs.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard specs.count == call.inputCount else { throw call.gap("equation names \(specs.count) operands") }
        var sizes: [Int: DimExpr] = [:]
        var ellipsisShapes: [[DimExpr]] = []
        var uses: [Int: Int] = [:]
        for (k, spec) in specs.enumerated() {
            let p = try parse(spec, call), s = try call.shape(k)
            let e = s.count - p.letters.count
            guard p.hasEllipsis ? e >= 0 : e == 0 else { throw call.gap("operand \(k) does not fit '\(spec)'") }
            for (i, l) in p.letters.enumerated() {
                let d = s[i < p.ellipsisAt ? i : i + e]
                if sizes[l] == nil || sizes[l]?.constant == 1 { sizes[l] = d }
                uses[l, default: 0] += 1
            }
            if p.hasEllipsis { ellipsisShapes.append(Array(s[p.ellipsisAt..<(p.ellipsisAt + e)])) }
        }
        let ellipsis = try ShapeRules.broadcast(ellipsisShapes, call)
        var out: [DimExpr]
        if sides.count == 2 {
            let p = try parse(sides[1], call)
            let dims = try p.letters.map { l -> DimExpr in
                guard let d = sizes[l] else { throw call.gap("output label not in any operand") }
                return d
            }
            out = Array(dims.prefix(p.ellipsisAt)) + (p.hasEllipsis ? ellipsis : []) + Array(dims.dropFirst(p.ellipsisAt))
        } else {
            out = ellipsis + uses.filter { $0.value == 1 }.keys.sorted().compactMap { sizes[$0] }
        }
        if call.inputCount >= 2 {
            let all = sizes.values.reduce(DimExpr(1), *) * ellipsis.reduce(DimExpr(1), *)
            call.macs = all
            call.flops = all * 2
        }
        return [.tensor(try call.type(0), out)]
    }
}
